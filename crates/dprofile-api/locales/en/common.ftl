# common messages (en)
skip-to-content = Skip to content
language = Language
language-choose = Choose
language-name-ru = Русский
language-name-en = English
language-name-uz = Oʻzbekcha
language-name-tg = Тоҷикӣ
language-name-ky = Кыргызча

# common messages (uz)
skip-to-content = Asosiy qismga o‘tish
language = Til
language-choose = Tanlash
language-name-ru = Русский
language-name-en = English
language-name-uz = Oʻzbekcha
language-name-tg = Тоҷикӣ
language-name-ky = Кыргызча

# common messages (ru)
skip-to-content = Перейти к содержанию
language = Язык
language-choose = Выбрать
language-name-ru = Русский
language-name-en = English
language-name-uz = Oʻzbekcha
language-name-tg = Тоҷикӣ
language-name-ky = Кыргызча

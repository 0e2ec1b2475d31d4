# common messages (ky)
skip-to-content = Мазмунга өтүү
language = Тил
language-choose = Тандоо
language-name-ru = Русский
language-name-en = English
language-name-uz = Oʻzbekcha
language-name-tg = Тоҷикӣ
language-name-ky = Кыргызча

# common messages (tg)
skip-to-content = Гузариш ба мундариҷа
language = Забон
language-choose = Интихоб
language-name-ru = Русский
language-name-en = English
language-name-uz = Oʻzbekcha
language-name-tg = Тоҷикӣ
language-name-ky = Кыргызча

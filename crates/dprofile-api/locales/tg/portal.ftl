# portal messages (tg)

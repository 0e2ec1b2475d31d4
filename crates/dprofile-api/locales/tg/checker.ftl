# checker messages (tg)

# checker messages (en)

# checker messages (uz)

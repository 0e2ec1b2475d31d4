# checker messages (ru)

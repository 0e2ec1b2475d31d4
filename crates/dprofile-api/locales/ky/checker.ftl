# checker messages (ky)

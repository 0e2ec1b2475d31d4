# portal messages (ky)

# portal messages (en)

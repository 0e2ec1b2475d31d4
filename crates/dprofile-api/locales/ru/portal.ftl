# portal messages (ru)

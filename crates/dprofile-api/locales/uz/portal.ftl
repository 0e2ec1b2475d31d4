# portal messages (uz)

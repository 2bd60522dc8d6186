# segments (todo)

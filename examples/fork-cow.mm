# fork-cow (todo)

# zero-page (todo)

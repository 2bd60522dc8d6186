# four-mmaps (todo)

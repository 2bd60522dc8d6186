# mprotect (todo)

# munmap-split (todo)

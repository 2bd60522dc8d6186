# demand-paging (todo)

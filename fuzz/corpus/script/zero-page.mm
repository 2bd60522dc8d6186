# The zero page: reading untouched anonymous memory maps one shared page of zeros.
#
# A read fault on anonymous memory that was never written does not allocate anything: the
# kernel maps the system-wide zero page read-only. Every such page, in every process, is
# that same frame, and it does not count in RSS. The first write replaces it with a fresh
# zeroed page of the process's own (a copy-on-write of the zero page).
process A
p = mmap(NULL, 8K, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)
r = rss(A)

load p 16
expect load_byte(p + 100) == 0
expect pte_present(A, p) == 1
expect pfn(A, p) == zero_pfn()
expect rss(A) == r                   # mapped, but not counted as resident

# The second page maps the very same frame.
load p + 4K 16
expect pfn(A, p + 4K) == pfn(A, p)

# So does another process's untouched memory.
process B empty
q = mmap(NULL, 4K, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)
load q 1
expect pfn(B, q) == pfn(A, p)

# The first write to the page replaces the zero page with a new page of A's own.
A: store p "written"
events A
expect pfn(A, p) != zero_pfn()
expect pfn(A, p + 4K) == zero_pfn()  # the other page still maps the zero page
expect rss(A) == r + 4K
expect A: load p 7 == "written"
# smaps skips the zero page: Rss counts only the one written page.
rollup A

# Demand paging: mapping 1 GiB costs nothing until the pages are touched.
#
# mmap only records a VMA: a range and its permissions. No physical memory is allocated and
# no page table is filled. The first access to each page takes a page fault, and only then
# does the kernel find a frame for it. VmSize counts what is mapped, VmRSS what is resident.
process A
f0 = free_frames()
v0 = vmsize(A)
r0 = rss(A)
m0 = minflt(A)

p = mmap(NULL, 1G, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)
status
expect vmsize(A) == v0 + 1G
expect rss(A) == r0
expect free_frames() == f0           # not one frame used, not even for a page table
expect pte_present(A, p) == 0

# Touch three pages: the first, one in the middle and the last.
store p "first"
store p + 512M "middle"
store p + 1G - 4K "last"
events
expect minflt(A) == m0 + 3           # one fault per page
expect rss(A) == r0 + 3 * 4K
expect pte_present(A, p + 512M) == 1
expect pte_present(A, p + 4K) == 0   # the neighbours are still not there
# Three frames of data, plus the page-table pages needed to reach them (VmPTE).
expect f0 - free_frames() > 3
print f0 - free_frames()
status

# Touching the same pages again costs nothing more.
store p "again"
expect minflt(A) == m0 + 3
expect rss(A) == r0 + 3 * 4K

# Unmapping gives the frames back.
munmap(p, 1G)
expect rss(A) == r0
expect vmsize(A) == v0

# The four kinds of mmap: private or shared, anonymous or file -- and who sees whose writes.
#
#                 anonymous                      file
#   MAP_PRIVATE   heap-like memory, zero-filled  a copy-on-write view of the file
#   MAP_SHARED    memory shared with children    the file itself: writes reach the file
#
# A process maps one page of each kind and writes into each, then forks. The child writes
# again, and we look at what the parent sees, and at what the file holds.
file "/tmp/data" 8K                  # page 0 says "page 0", page 1 says "page 1"
process A
fd = open("/tmp/data", O_RDWR)
expect fd == 3                       # 0, 1 and 2 are the standard streams

pa = mmap(NULL, 4K, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)
sa = mmap(NULL, 4K, PROT_READ|PROT_WRITE, MAP_SHARED|MAP_ANONYMOUS, -1, 0)
pf = mmap(NULL, 4K, PROT_READ|PROT_WRITE, MAP_PRIVATE, fd, 0)
sf = mmap(NULL, 4K, PROT_READ|PROT_WRITE, MAP_SHARED, fd, 4K)
maps
# Shared anonymous memory is a file too: an unnamed shmem file, shown as /dev/zero (deleted).
expect maps contains "rw-s 00000000 00:01"
expect maps contains "/dev/zero (deleted)"
expect maps contains "rw-p 00000000 fe:01"
expect maps contains "rw-s 00001000 fe:01"

# Before anyone writes, the file mappings show the file.
expect load pf 7 == "page 0\n"
expect load sf 7 == "page 1\n"

# A writes into all four.
store pa "A: private anon"
store sa "A: shared anon!"
store pf "A: private file"
store sf "A: shared file!"

# The child starts with the same contents everywhere.
B = fork(A)
expect B: load pa 15 == "A: private anon"
expect B: load sa 15 == "A: shared anon!"
expect B: load pf 15 == "A: private file"
expect B: load sf 15 == "A: shared file!"

# The child writes into all four.
B: store pa "B: private anon"
B: store sa "B: shared anon!"
B: store pf "B: private file"
B: store sf "B: shared file!"

# Private mappings: each process has its own copy; A still sees its own data.
expect A: load pa 15 == "A: private anon"
expect A: load pf 15 == "A: private file"
# Shared mappings: one copy; A sees what B wrote.
expect A: load sa 15 == "B: shared anon!"
expect A: load sf 15 == "B: shared file!"
expect pfn(A, sa) == pfn(B, sa)
expect pfn(A, sf) == pfn(B, sf)
expect pfn(A, pa) != pfn(B, pa)
expect pfn(A, pf) != pfn(B, pf)

# What is in the file now? A new process reads it with read(): the shared mapping's write
# reached the file (page 1); the private mapping's writes never do (page 0).
process C
cfd = open("/tmp/data", O_RDONLY)
buf = mmap(NULL, 8K, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)
read(cfd, buf, 8K)
expect result == 8K
expect load buf 7 == "page 0\n"
expect load buf + 4K 15 == "B: shared file!"

# A second, independent shared mapping of the file sees the same page-cache page.
view = mmap(NULL, 8K, PROT_READ, MAP_SHARED, cfd, 0)
expect load view + 4K 15 == "B: shared file!"
expect pfn(C, view + 4K) == pfn(A, sf)

# A's totals: the shared anonymous page counts as shmem (Pss_Shmem), the shared file page as
# file, the two private copies as anonymous memory.
rollup A
expect shmem(A) == 4K

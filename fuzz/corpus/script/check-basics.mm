# Run with `mmsim check examples/check/basics.mm`: every step below runs in a process on
# this machine's kernel and in the model, and the two are compared step by step.
process A
file "data" 14000
fd = open("data", O_RDWR)

# Private anonymous memory: placement, merging, the zero page, COW after fork.
p = mmap(NULL, 16K, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)
q = mmap(NULL, 8K, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)
load p 4
store p+4K 0x41 x 100
mprotect(p+4K, 4K, PROT_READ)
store p+4K 0x42 x 1
munmap(p+8K, 4K)
maps

# A shared and a private view of the same file; reading past EOF.
s = mmap(NULL, 16K, PROT_READ|PROT_WRITE, MAP_SHARED, fd, 0)
f = mmap(NULL, 16K, PROT_READ|PROT_WRITE, MAP_PRIVATE, fd, 0)
store s 0x53 x 10
load f 10
store f+4K 0x46 x 10
load f+12K 1
B = fork()
A: store p 0x50 x 8
B: load p 8
B: store q 0x51 x 8
smaps A
smaps B
B: exit(0)
A: munmap(q, 8K)
smaps A

# The wider surface: mremap, madvise, mlock, mincore, msync.
use A
m = mmap(NULL, 8K, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)
store m 0x61 x 8K
r = mremap(m, 8K, 64K, MREMAP_MAYMOVE)
load r+4K 4
madvise(r, 4K, MADV_DONTNEED)
load r 4
mlock(r+8K, 8K)
mincore(r, 64K, 0)
msync(s, 16K, MS_SYNC)
madvise(r, 4K, 12345)
maps A

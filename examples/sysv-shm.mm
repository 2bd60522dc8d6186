# SysV shared memory: a segment lives in the kernel until removed and detached by all.
#
# A segment belongs to no process: it stays until it is removed and the last process detaches
# it.
#
# shmget makes the segment: a shmem object (the same kind of object a shared anonymous
# mapping or a memfd is) named /SYSV<key>, whose inode number is the segment's identifier.
# shmat maps it MAP_SHARED where the kernel places mappings; every attach, and every piece
# mprotect or fork makes of one, counts in shm_nattch. IPC_RMID only marks the segment: it
# goes when the count drops to 0.
process A
id = shmget(IPC_PRIVATE, 10000, IPC_CREAT|0o600)
expect id == 0                              # the machine's first segment
a = shmat(id, NULL, 0)
# 10000 bytes round up to three pages, mapped shared ("s") from offset 0.
maps A
expect maps A contains hex(a) + "-" + hex(a + 12K) + " rw-s 00000000 00:01 0 "
expect maps A contains "/SYSV00000000 (deleted)"
expect shm_nattch(id) == 1

store a "written by A"
expect shmem(A) == 4K                       # one page of the segment is resident, as shmem

# fork copies the attach, and the count goes up. It copies no page-table entries of a
# shared mapping of a file (the child's first access faults the page in from the object).
B = fork(A)
expect shm_nattch(id) == 2
expect pfn(B, a) == 0
B: store a + 11 "B"
expect pfn(A, a) == pfn(B, a)               # the same frame
expect A: load a 12 == "written by B"       # no copy-on-write: the mapping is shared

# mprotect of the middle page cuts A's attach in three: three VMAs, each an attach.
mprotect(a + 4K, 4K, PROT_READ)
expect shm_nattch(id) == 4

# Removed while attached: still usable, even attachable again (Linux allows it). Its mode
# shows SHM_DEST (01000) in /proc/sysvipc/shm, what `ipcs -m` reads.
shmctl(id, IPC_RMID, NULL)
sysvipc_shm
r = shmat(id, NULL, SHM_RDONLY)
expect r != MAP_FAILED
expect shm_nattch(id) == 5

# shmdt at the attach's start takes every piece of it.
shmdt(a)
shmdt(r)
expect shm_nattch(id) == 1
expect vmas(A) == vmas(B) - 1               # B still has its copy of the attach

# The last attach goes with B's exit, and the segment with it.
B: exit(0)
shmat(id, NULL, 0)
expect errno == EINVAL

# munmap in the middle of a mapping splits its VMA in two.
#
# A VMA is one contiguous range with one set of properties. Unmapping a hole inside it
# leaves two ranges, so the kernel splits the VMA: one more entry in /proc/PID/maps, and one
# more towards vm.max_map_count.
process A
p = mmap(NULL, 5 * 4K, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)
store p 0x61 x 5 * 4K                # touch all five pages
n = vmas(A)
r = rss(A)
maps
expect maps contains hex(p) + "-" + hex(p + 5 * 4K) + " rw-p"

# Cut out the middle page.
munmap(p + 2 * 4K, 4K)
expect result == 0
maps
expect vmas(A) == n + 1
expect maps contains hex(p) + "-" + hex(p + 2 * 4K) + " rw-p"
expect maps contains hex(p + 3 * 4K) + "-" + hex(p + 5 * 4K) + " rw-p"
# The page is gone (its frame freed); the pages on both sides are untouched.
expect rss(A) == r - 4K
expect pte_present(A, p + 2 * 4K) == 0
expect load_byte(A, p + 4K) == 0x61
expect load_byte(A, p + 3 * 4K) == 0x61

# Touching the hole now is a segmentation fault: nothing is mapped there.
load p + 2 * 4K 1
expect signal == SIGSEGV
expect sigcode == SEGV_MAPERR

# Unmapping a range that holds nothing is not an error...
munmap(p + 2 * 4K, 4K)
expect result == 0
# ...but the address must be page-aligned, and the length non-zero.
munmap(p + 1, 4K)
expect errno == EINVAL
munmap(p, 0)
expect errno == EINVAL

# One munmap over both pieces (and the hole between them) removes both VMAs.
munmap(p, 5 * 4K)
expect vmas(A) == n - 1
expect rss(A) == r - 5 * 4K
maps

# The limit: with vm.max_map_count reached, a cut that would add a VMA fails with ENOMEM,
# while trimming an end (no new VMA) still works.
q = mmap(NULL, 3 * 4K, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)
set max_map_count vmas(A)
munmap(q + 4K, 4K)
expect errno == ENOMEM
munmap(q, 4K)
expect result == 0

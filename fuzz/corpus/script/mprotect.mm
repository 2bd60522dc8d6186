# mprotect splits a VMA in three, and the pieces merge back when the protection is restored.
#
# All pages of a VMA share one protection. Making the middle page read-only therefore
# needs three VMAs: rw- | r-- | rw-. Restoring rw- makes the three identical again, and the
# kernel merges them back into one.
process A
p = mmap(NULL, 3 * 4K, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)
store p 0x11 x 3 * 4K
n = vmas(A)

mprotect(p + 4K, 4K, PROT_READ)
maps
expect vmas(A) == n + 2
expect maps contains hex(p) + "-" + hex(p + 4K) + " rw-p"
expect maps contains hex(p + 4K) + "-" + hex(p + 2 * 4K) + " r--p"
expect maps contains hex(p + 2 * 4K) + "-" + hex(p + 3 * 4K) + " rw-p"

# Reading the read-only page works; writing it is a segmentation fault -- SEGV_ACCERR, not
# SEGV_MAPERR: the page is mapped, the access is what is not allowed.
expect load_byte(p + 4K) == 0x11
store p + 4K "x"
expect signal == SIGSEGV
expect sigcode == SEGV_ACCERR
expect sigaddr == p + 4K
# The data is unchanged, and the writable neighbours are still writable.
expect load_byte(p + 4K) == 0x11
store p "ok"
expect signal == 0

# Restore the protection: one VMA again.
mprotect(p + 4K, 4K, PROT_READ|PROT_WRITE)
maps
expect vmas(A) == n
expect maps contains hex(p) + "-" + hex(p + 3 * 4K) + " rw-p"
store p + 4K "x"
expect signal == 0

# PROT_NONE: even a read faults with SEGV_ACCERR. The pages stay resident.
r = rss(A)
mprotect(p, 4K, PROT_NONE)
load p 1
expect sigcode == SEGV_ACCERR
expect rss(A) == r
expect pte_present(A, p) == 1
mprotect(p, 4K, PROT_READ|PROT_WRITE)
expect load p 2 == "ok"
expect vmas(A) == n

# Errors: the address must be page-aligned (EINVAL); every page of the range must be
# mapped (ENOMEM).
mprotect(p + 1, 4K, PROT_READ)
expect errno == EINVAL
munmap(p + 2 * 4K, 4K)
mprotect(p, 3 * 4K, PROT_READ)
expect errno == ENOMEM
# mprotect works VMA by VMA: the part before the hole has already been changed when it
# finds the hole and fails.
expect maps contains hex(p) + "-" + hex(p + 2 * 4K) + " r--p"

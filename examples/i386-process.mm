# A process on the native i386 kernel: 3 GiB for the user, the kernel's 1 GiB above 0xc0000000.
#
# On a 32-bit kernel the user and the kernel share one 4 GiB address space. User space ends
# at PAGE_OFFSET (TASK_SIZE = 0xc0000000); above it lie the direct map of lowmem, vmalloc,
# kmap and the fixmap (lesson kernel-i386). Without ASLR (as the oracle booted, with
# norandmaps) the stack ends right at 0xc0000000, the mmap area starts 128 MiB lower at
# 0xb8000000, and the program sits at 0x08048000 where `ld -m elf_i386` links it.
#
# This is the machine of tests/golden/i386/686-pae: Debian's 6.1 686-pae kernel under QEMU.
# The golden tests exec the very programs the guest ran and compare every maps line.
set arch i386-pae
set ram 0x3ffe0000
process P
maps

# The demo program's four segments at 0x08048000, the rest of its bss, the vDSO (four
# [vvar] pages and two [vdso] pages: the first top-down mapping, so it ends at mmap_base),
# and the stack: one page of strings plus 128 KiB, ending at PAGE_OFFSET. A 32-bit kernel
# pads the name column to 48 characters (25 + 6 * sizeof(void *) - 1), not 72.
expect maps contains "08048000-08049000 r--p 00000000"
expect maps contains "b7ffa000-b7ffe000 r--p 00000000 00:00 0          [vvar]"
expect maps contains "b7ffe000-b8000000 r-xp 00000000 00:00 0          [vdso]"
expect maps contains "bffdf000-c0000000 rw-p 00000000 00:00 0          [stack]"

# The heap starts right after the bss. Linux 6.1 names [heap] every VMA that touches the
# heap's bounds, so the rest of the bss (ending where the heap begins) is [heap] too, as the
# oracle's maps of static programs show.
exec 0x08049000
heap = brk(0)
expect heap == 0x08051000
brk(heap + 132K)
store heap "malloc'd"
expect maps contains "08051000-08072000 rw-p 00000000 00:00 0          [heap]"

# Unplaced mappings pack down from below the vDSO, as exam.c's did on the real kernel
# (its mmap(4096) returned 0xb7ff9000, its 1 MiB one 0xb7ef9000).
one = mmap(NULL, 4K, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)
expect one == 0xb7ff9000
mega = mmap(NULL, 1M, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)
expect mega == 0xb7ef9000
store one "x"

# Nothing may be mapped at or above PAGE_OFFSET: that is the kernel's gigabyte. A fixed
# mapping there, or a request for 3 GiB, fails with ENOMEM.
mmap(0xc0000000, 4K, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED, -1, 0)
expect errno == ENOMEM
mmap(NULL, 0xc0000000, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)
expect errno == ENOMEM

# Page tables. With PAE an entry is 8 bytes: a PTE table holds 512 of them (2 MiB), a PMD
# 512 PTE tables (1 GiB), and the top level (PDPT) has only 4 entries. pgd_alloc fills all
# four at once (with page-table isolation, plus one for the user copy), so VmPTE starts at
# 5 PMD pages; then one PTE table per 2 MiB touched: the program, the heap (the same 2 MiB),
# the mmap area below the vDSO, the stack. Without PAE (set arch i386) an entry is 4 bytes,
# a table holds 1024 (4 MiB) and a process has no PMD pages to count.
cat "/proc/self/status"
expect file_key("/proc/self/status", "VmPTE:") == 32

# The oracle's module walks the VMAs of the process it runs in with for_each_vma, printing
# vm_start and vm_end: the same list as maps, without names.
module vmas

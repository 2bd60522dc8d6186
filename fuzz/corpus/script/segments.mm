# The segments of a process: text, data, bss, heap, mmap area, stack, vDSO.
#
# `process A` runs a small static (non-PIE) program, laid out the way execve does it with
# ASLR off (setarch -R). Its ELF file has four loadable segments:
#   headers  r--  0x400000   1 page
#   .text    r-x  0x401000   2 pages
#   .rodata  r--  0x403000   1 page
#   .data    rw-  0x404e10   0x200 bytes from the file, 0x3200 in memory: the rest is .bss
process A
maps
status

# Nine VMAs: four from the file (the data segment's two pages are one of them), the rest of
# the bss as an anonymous VMA, [vvar] + [vvar_vclock] + [vdso], and [stack].
# [vsyscall] is printed last but is not a VMA (it lives outside the tree).
expect vmas(A) == 9
expect maps lines == 10
expect maps contains "00400000-00401000 r--p 00000000"
expect maps contains "00401000-00403000 r-xp 00001000"
expect maps contains "00404000-00406000 rw-p 00003000"
expect maps contains "00406000-00409000 rw-p 00000000 00:00 0"
expect maps contains "7ffffffde000-7ffffffff000 rw-p 00000000 00:00 0                          [stack]"
expect maps contains "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]"

# The text is executable but not writable.
exec 0x401000
expect signal == 0
store 0x401000 "x"
expect signal == SIGSEGV
expect sigcode == SEGV_ACCERR

# Initialized data comes from the file...
load 0x404e10 13
expect load 0x404e10 13 == "hello, world\n"
# ...but the file page holding the end of .data also holds other bytes of the file (here a
# symbol table). execve cleared that tail with a write, so the page became a private copy:
# the first event of the process is that copy-on-write of a file page.
events
expect load_byte(0x405010) == 0
expect maps contains "/usr/bin/A"

# The program break starts right after the bss (no ASLR: no random gap).
base = brk(0)
expect base == 0x409000
brk(base + 64K)
expect result == base + 64K
store base "on the heap"
# The heap is its own VMA: it never merges with the bss VMA below it, even when adjacent.
expect maps contains "00409000-00419000 rw-p 00000000 00:00 0                                  [heap]"
expect vmas(A) == 10

# mmap places new mappings top-down below mmap_base (0x7ffff7fff000 with an 8 MiB stack
# limit). The vDSO took the first 8 pages, so the first mapping ends at 0x7ffff7ff7000.
p = mmap(NULL, 16K, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)
expect p == 0x7ffff7ff7000 - 16K
q = mmap(NULL, 4K, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)
expect q == p - 4K
# Adjacent anonymous mappings with the same flags merge into one VMA.
expect vmas(A) == 11

# The stack is 132 KiB to start with (one page of arguments plus 128 KiB); touching the page
# just below it grows it down, with no need for a system call.
store 0x7ffffffde000 - 8 "x"
events
expect maps contains "7ffffffdd000-7ffffffff000 rw-p"
expect status contains "VmStk:\t     136 kB"

maps
status

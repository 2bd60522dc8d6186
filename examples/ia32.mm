# A 32-bit process on a 64-bit kernel: what `gcc -m32` programs get (ia32 compat).
#
# `process P i386` runs the demo program built for i386 (`gcc -m32 -no-pie -static`): the
# same four segments, linked at 0x08048000 as `ld -m elf_i386` does. The x86-64 kernel
# gives it a 4 GiB address space of its own (TASK_SIZE 0xffffe000): the mmap area starts
# 128 MiB below the top (0xf7ffe000), the stack sits just under 4 GiB, and there is no
# [vsyscall] page. Everything was measured with real -m32 programs under `setarch -R`.
process P i386
maps

# The program at 0x08048000; the rest of the bss as an anonymous VMA; the vDSO (4 + 2 + 2
# pages, as for 64-bit processes) ending at mmap_base; the stack ending at 0xffffe000.
expect vmas(P) == 9
expect maps lines == 9
expect maps contains "08048000-08049000 r--p 00000000"
expect maps contains "08049000-0804b000 r-xp 00001000"
expect maps contains "0804c000-0804e000 rw-p 00003000"
expect maps contains "f7ffc000-f7ffe000 r-xp 00000000 00:00 0                                  [vdso]"
expect maps contains "fffdd000-ffffe000 rw-p 00000000 00:00 0                                  [stack]"

# The seeds' exam.c experiment prints the address of a global, of main, of a malloc'd
# block and of a local. Here: .data, .text, the heap right after the bss, and the stack.
expect load 0x0804ce10 13 == "hello, world\n"
exec 0x08049000
expect signal == 0
heap = brk(0)
expect heap == 0x08051000
brk(heap + 132K)
store heap "malloc'd"
expect maps contains "08051000-08072000 rw-p 00000000 00:00 0                                  [heap]"
store 0xffffd000 "a local"
expect signal == 0

# Unplaced mappings pack down from below the vDSO. A 32-bit call never aligns a 2 MiB
# anonymous mapping for transparent huge pages (a 64-bit one would).
big = mmap(NULL, 2M, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)
expect big == 0xf7df6000

# Nothing fits above TASK_SIZE: a fixed mapping over the last pages below 4 GiB, or a
# request for 3.75 GiB, fails with ENOMEM, as it does on the host.
mmap(0xfffff000, 8K, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED, -1, 0)
expect errno == ENOMEM
mmap(NULL, 0xf0000000, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)
expect errno == ENOMEM

# The same program as a 64-bit process, for comparison: 2^47 bytes of address space, the
# vDSO 128 MiB below 0x7ffffffff000, and the [vsyscall] line last.
process Q
maps
expect maps contains "7ffff7ffd000-7ffff7fff000 r-xp 00000000 00:00 0                          [vdso]"
expect maps contains "[vsyscall]"

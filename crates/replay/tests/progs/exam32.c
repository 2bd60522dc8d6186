/*
 * The seeds' exam.c experiment as a 32-bit program (gcc -m32): prints the address of a
 * global, a local, a malloc'd block and main, then its /proc/self/maps; then the 32-bit
 * address-space calls (mmap2, the old mmap of i386 number 90 with a readable and an
 * unreadable argument block, mremap, mprotect, munmap, brk, and requests that fail with
 * ENOMEM in a 4 GiB space), and the maps again. With arguments, it then execs them (a
 * 64-bit program from a 32-bit one).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

int global;

struct old_mmap_args {
    unsigned long addr, len, prot, flags, fd, offset;
};

static void show_maps(void)
{
    static char buf[1 << 16];
    int fd = open("/proc/self/maps", O_RDONLY);
    long n = read(fd, buf, sizeof buf);
    close(fd);
    if (n > 0)
        fwrite(buf, 1, (size_t)n, stdout);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    int local = 0;
    void *heap = malloc(100);
    printf("global %p local %p malloc %p main %p\n", (void *)&global, (void *)&local, heap, (void *)main);
    fflush(stdout);
    show_maps();

    char *a = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *b = mremap(a, 3 * 4096, 300 * 4096, MREMAP_MAYMOVE);
    mprotect(b, 4096, PROT_READ);
    munmap(b + 4096, 4096);
    struct old_mmap_args s = { 0, 2 * 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, (unsigned long)-1, 0 };
    syscall(SYS_mmap, &s);
    syscall(SYS_mmap, (void *)16);
    mmap((void *)0xfffff000u, 8192, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    mmap(NULL, 0xf0000000u, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    mmap((void *)0x10000000u, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap((void *)0xffffe000u, 4096);
    sbrk(5 * 4096);
    show_maps();
    if (argc > 1)
        execv(argv[1], argv + 1);
    return 0;
}

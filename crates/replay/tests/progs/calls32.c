/*
 * The address-space calls of a 32-bit program (gcc -m32), for replays of traces recorded the
 * way users record them: mmap and mmap2 (anonymous, private and shared file mappings, page-
 * unit offsets, MAP_FIXED_NOREPLACE, MAP_32BIT, MAP_GROWSDOWN, requests past 4 GiB), munmap,
 * mprotect (read-only, none, read+exec), mremap (grow, across VMAs, shrink, MREMAP_FIXED,
 * MREMAP_DONTUNMAP), brk, madvise, mlock and mlockall, mincore, msync, a fork whose child maps
 * and reads its maps, then the parent's maps. Built without PT_GNU_STACK it runs with
 * READ_IMPLIES_EXEC. With arguments, it then execs them.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void show_maps(void)
{
    static char buf[1 << 16];
    int fd = open("/proc/self/maps", O_RDONLY);
    long n = read(fd, buf, sizeof buf);
    close(fd);
    if (n > 0)
        write(1, buf, (size_t)n);
}

int main(int argc, char **argv)
{
    const long ps = 4096;
    unsigned char vec[64];
    char *a = mmap(0, 16 * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(a, 1, 8 * ps);
    mincore(a, 16 * ps, vec);
    madvise(a, 4 * ps, MADV_DONTNEED);
    mincore(a, 16 * ps, vec);
    madvise(a + 4 * ps, 2 * ps, MADV_FREE);
    madvise(a, 16 * ps, MADV_WILLNEED);
    madvise(a, 16 * ps, MADV_NOHUGEPAGE);
    madvise(a, 16 * ps, 0x7fff);
    mlock(a, 2 * ps);
    munlock(a, ps);
    mlockall(MCL_CURRENT);
    munlockall();
    char *b = mremap(a, 16 * ps, 64 * ps, MREMAP_MAYMOVE);
    mprotect(b + 2 * ps, ps, PROT_NONE);
    mprotect(b, ps, PROT_READ | PROT_EXEC);
    mprotect(b + 3 * ps, ps, PROT_READ);
    /* Across VMAs of different protections: EFAULT. */
    mremap(b, 64 * ps, 128 * ps, MREMAP_MAYMOVE);
    char *c = mremap(b, 64 * ps, 8 * ps, 0);
    mremap(c, 8 * ps, 8 * ps, MREMAP_MAYMOVE | MREMAP_FIXED, (void *)0x30000000);
    mremap((void *)0x30000000, 8 * ps, 4 * ps, MREMAP_MAYMOVE | MREMAP_DONTUNMAP);

    int fd = open(argv[0], O_RDONLY);
    void *f = mmap(0, 3 * ps, PROT_READ, MAP_PRIVATE, fd, 0);
    void *f2 = (void *)syscall(SYS_mmap2, 0, 2 * ps, PROT_READ, MAP_SHARED, fd, 1);
    syscall(SYS_mmap2, 0, ps, PROT_READ, MAP_PRIVATE, fd, 0x100000);
    mincore(f, 3 * ps, vec);
    msync(f2, 2 * ps, MS_SYNC);
    munmap(f, ps);
    close(fd);

    char *s = mmap(0, 4 * ps, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    s[0] = 1;
    void *g = mmap((void *)0xbf000000, ps, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    mmap(g, ps, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    mmap(0, ps, PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
    mmap(0, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    mmap(0, ps, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_GROWSDOWN, -1, 0);
    mmap((void *)0xfffff000, 2 * ps, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap((void *)0xfffff000, 2 * ps);
    mprotect((void *)0xfffff000, 2 * ps, PROT_READ);
    char *cur = sbrk(0);
    brk(cur + 33 * ps);
    brk(cur + ps);
    brk((void *)0xf0000000);

    pid_t p = fork();
    if (p == 0) {
        s[1] = 2;
        char *d = mmap(0, ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        d[0] = 1;
        show_maps();
        _exit(0);
    }
    waitpid(p, 0, 0);
    show_maps();
    if (argc > 1)
        execv(argv[1], argv + 1);
    return 0;
}

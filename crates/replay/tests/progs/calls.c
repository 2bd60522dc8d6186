/* The calls of the wider address-space surface, each touching memory only through system
 * calls: mremap (grow, move, shrink), madvise (DONTNEED, DONTFORK, WIPEONFORK, FREE), mlock
 * and munlock, mincore, msync of a shared file mapping, and a fork that sees the advice. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char word[] = "mremap moves pages";

static void fill(int p[2], char *at, size_t n)
{
    write(p[1], word, n);
    read(p[0], at, n);
}

int main(void)
{
    int p[2];
    pipe(p);
    unsigned char vec[64];
    char *a = mmap(0, 8 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    for (int i = 0; i < 4; i++)
        fill(p, a + i * 4096, sizeof word);
    mincore(a, 8 * 4096, vec);
    /* Grow in place if possible, else move; then move explicitly. */
    char *b = mremap(a, 8 * 4096, 16 * 4096, MREMAP_MAYMOVE);
    write(1, b + 4096, sizeof word);
    char *c = mremap(b, 16 * 4096, 16 * 4096, MREMAP_MAYMOVE | MREMAP_FIXED, b + 64 * 4096);
    write(1, c + 2 * 4096, sizeof word);
    c = mremap(c, 16 * 4096, 4 * 4096, 0);
    mincore(c, 4 * 4096, vec);
    /* DONTNEED: anonymous pages read back as zero. */
    madvise(c, 4096, MADV_DONTNEED);
    write(1, c, sizeof word);
    mincore(c, 4 * 4096, vec);
    /* Fork advice. */
    char *d = mmap(0, 4 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    for (int i = 0; i < 4; i++)
        fill(p, d + i * 4096, sizeof word);
    madvise(d, 4096, MADV_DONTFORK);
    madvise(d + 4096, 4096, MADV_WIPEONFORK);
    madvise(d + 3 * 4096, 4096, MADV_FREE);
    if (fork() == 0) {
        write(1, d + 4096, sizeof word); /* wiped: zeros */
        write(1, d + 2 * 4096, sizeof word);
        write(1, d, 1); /* not there: EFAULT */
        _exit(0);
    }
    wait(0);
    /* mlock populates; munlock keeps the pages. */
    char *e = mmap(0, 4 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    mlock(e, 2 * 4096);
    mincore(e, 4 * 4096, vec);
    munlock(e, 2 * 4096);
    /* A shared file mapping written through the kernel, then synced. */
    int fd = open("calls-data", O_RDWR | O_CREAT | O_TRUNC, 0600);
    struct stat st;
    fstat(fd, &st);
    ftruncate(fd, 4 * 4096);
    char *f = mmap(0, 4 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    fill(p, f + 4096, sizeof word);
    msync(f, 4 * 4096, MS_SYNC);
    mincore(f, 4 * 4096, vec);
    /* Errors the kernel gives. */
    mremap(f + 1, 4096, 8192, 0);
    madvise(f, 4096, 12345);
    msync(f, 4096, MS_SYNC | MS_ASYNC);
    char text[1 << 16];
    int m = open("/proc/self/smaps", O_RDONLY);
    ssize_t n, total = 0;
    while ((n = read(m, text + total, sizeof text - total)) > 0)
        total += n;
    unlink("calls-data");
    return 0;
}

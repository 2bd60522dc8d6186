/* The page read(2)'s readahead marks (PG_readahead), seen through fault-around: a fault
 * on a file mapping maps the cached pages around it, except a marked one, which is left
 * for a fault of its own to start the next window. For each case: a sparse file with two
 * pages written, a first read at 0 (of one byte, into a good or a bad buffer: a read that
 * fails with EFAULT still leaves the position it stopped at, so the next read is
 * sequential), a second read at 0 of a few pages, then a private mapping of the first 8
 * pages, faulted by a write(2) from it; mincore shows the page cache and smaps what the
 * fault mapped. Memory is touched only through system calls (a strict replay sees it).
 *
 * `rewritten`: a file written whole, synced and dropped from the page cache; a one-byte
 * read at 0 caches pages 0-3 and marks page 1; the four pages are written again, with an
 * fsync or not. The writeback clears the mark (PG_readahead is PG_reclaim's bit, which the
 * end of writeback clears), so fault-around then maps page 1; without it, page 1 is left
 * out (measured on 6.18).
 *
 * `into_mapping`: a read of pages 0-1 of a 15-page file of which only page 0 is cached,
 * into a private mapping of the same file (its pages 1-2) or into anonymous memory. The
 * read copies page 0 before it looks page 1 up, and that copy faults on the mapping, whose
 * read-around caches the whole file with no mark; into anonymous memory the read's own
 * window caches pages 1-4 and marks page 2 (measured on 6.18). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

static void one(int n, int pages, int first, int bad_first, int second) {
    static char buf[1 << 16];
    char name[32];
    static char text[1 << 16];
    unsigned char vec[64];
    snprintf(name, sizeof name, "marks%d.dat", n);
    int fd = open(name, O_RDWR | O_CREAT | O_TRUNC, 0600);
    int sink = open("marks.out", O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || sink < 0 || ftruncate(fd, pages * 4096L))
        exit(1);
    pwrite(fd, "written page", 12, 0);
    pwrite(fd, "written page", 12, 0x5000);
    if (first)
        pread(fd, bad_first ? (char *)16 : buf, first, 0);
    pread(fd, buf, second, 0);
    char *q = mmap(0, 8 * 4096, PROT_READ, MAP_PRIVATE, fd, 0);
    if (q == MAP_FAILED)
        exit(1);
    mincore(q, 8 * 4096, vec);
    write(sink, q, 1);
    int s = open("/proc/self/smaps", O_RDONLY);
    while (read(s, text, sizeof text) > 0)
        ;
    close(s);
    munmap(q, 8 * 4096);
    close(sink);
    close(fd);
    unlink(name);
    unlink("marks.out");
}

static void rewritten(int n, int sync) {
    static char page[4096], text[1 << 16];
    char name[32];
    snprintf(name, sizeof name, "marks%d.dat", n);
    int fd = open(name, O_RDWR | O_CREAT | O_TRUNC, 0600);
    int sink = open("marks.out", O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || sink < 0)
        exit(1);
    for (int i = 0; i < 16; i++)
        pwrite(fd, page, sizeof page, i * 4096L);
    fsync(fd);
    posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    pread(fd, page, 1, 0);
    for (int i = 0; i < 4; i++)
        pwrite(fd, "rewritten", 9, i * 4096L);
    if (sync)
        fsync(fd);
    char *q = mmap(0, 8 * 4096, PROT_READ, MAP_SHARED, fd, 0);
    if (q == MAP_FAILED)
        exit(1);
    write(sink, q, 1);
    int s = open("/proc/self/smaps", O_RDONLY);
    while (read(s, text, sizeof text) > 0)
        ;
    close(s);
    munmap(q, 8 * 4096);
    close(sink);
    close(fd);
    unlink(name);
    unlink("marks.out");
}

static void into_mapping(int n, int anonymous) {
    static char page[4096], text[1 << 16];
    char name[32];
    snprintf(name, sizeof name, "marks%d.dat", n);
    int fd = open(name, O_RDWR | O_CREAT | O_TRUNC, 0600);
    int sink = open("marks.out", O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || sink < 0)
        exit(1);
    for (int i = 0; i < 15; i++)
        pwrite(fd, page, sizeof page, i * 4096L);
    fsync(fd);
    posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    pread(fd, page, 1, 0);
    posix_fadvise(fd, 4096, 0, POSIX_FADV_DONTNEED);
    char *dst = anonymous ? mmap(0, 6 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
                          : mmap(0, 6 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    char *q = mmap(0, 16 * 4096, PROT_READ, MAP_SHARED, fd, 0);
    if (dst == MAP_FAILED || q == MAP_FAILED)
        exit(1);
    pread(fd, dst + 4096, 0x10ac, 0);
    write(sink, q, 1);
    int s = open("/proc/self/smaps", O_RDONLY);
    while (read(s, text, sizeof text) > 0)
        ;
    close(s);
    munmap(q, 16 * 4096);
    munmap(dst, 6 * 4096);
    close(sink);
    close(fd);
    unlink(name);
    unlink("marks.out");
}

int main(void) {
    one(0, 16, 1, 0, 16384);
    one(1, 16, 1, 1, 16384);
    one(2, 16, 1, 0, 10240);
    one(3, 16, 0, 0, 16384);
    one(4, 32, 1, 0, 8192);
    rewritten(5, 1);
    rewritten(6, 0);
    into_mapping(7, 0);
    into_mapping(8, 1);
    return 0;
}

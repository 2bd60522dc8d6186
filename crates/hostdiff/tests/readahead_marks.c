/* Where readahead leaves its mark (PG_readahead) when the window it reads meets pages
 * already in the page cache. A new file of argv[2] pages gets 14 bytes written at each
 * page named in argv[3] (so those pages, and only those, are cached); then
 *  - "read" (argv[1]) LEN (argv[4]): a read of 1 byte at 0 and one of LEN bytes at 0, as a
 *    program reading the file's head twice does;
 *  - "fault" PAGE (argv[4]): a read fault at that page of a private mapping of the whole
 *    file (read-around: a window centred on it).
 * Then the file is mapped privately at MAP_AT and the last page of each 16-page block is
 * read (the marks these cases make are elsewhere, so no probe takes one): fault-around maps every cached page of a block except a
 * folio carrying the mark (filemap_map_pages skips it), so the cached pages left unmapped
 * show where the mark is. Prints them, a page number each ("-" for none). No root needed. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define MAP_AT 0x200000000000UL
#define PROBE_AT 0x300000000000UL

int main(int argc, char **argv)
{
    static char buf[1 << 16];
    if (argc < 6)
        return 2;
    long pages = strtol(argv[3], 0, 0);
    int fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || ftruncate(fd, pages * 4096))
        return 3;
    memset(buf, 7, sizeof buf);
    for (char *c = argv[4]; *c;) {
        long page = strtol(c, &c, 10);
        if (*c == ',')
            c++;
        if (pwrite(fd, buf, 14, page * 4096) != 14)
            return 3;
    }
    /* Written back first, so that no folio is locked for writeback during the faults. */
    fsync(fd);
    long arg = strtol(argv[5], 0, 0);
    if (!strcmp(argv[2], "read")) {
        pread(fd, buf, 1, 0);
        pread(fd, buf, arg, 0);
    } else {
        char *f = mmap((void *)PROBE_AT, pages * 4096, PROT_READ, MAP_PRIVATE | MAP_FIXED_NOREPLACE, fd, 0);
        if (f == MAP_FAILED)
            return 4;
        volatile char c = f[arg * 4096];
        (void)c;
    }
    /* At an address the fault-around windows (16 pages, aligned) cover whole. */
    char *m = mmap((void *)MAP_AT, pages * 4096, PROT_READ, MAP_PRIVATE | MAP_FIXED_NOREPLACE, fd, 0);
    int pm = open("/proc/self/pagemap", O_RDONLY);
    unsigned char *vec = malloc(pages);
    if (m == MAP_FAILED || pm < 0 || !vec || mincore(m, pages * 4096, vec))
        return 4;
    for (long b = 0; b < pages; b += 16) {
        long p = b + 15 < pages ? b + 15 : pages - 1;
        if (vec[p] & 1) {
            volatile char c = m[p * 4096];
            (void)c;
        }
    }
    int any = 0;
    for (long i = 0; i < pages; i++) {
        uint64_t e = 0;
        pread(pm, &e, 8, ((uintptr_t)(m + i * 4096) / 4096) * 8);
        if ((vec[i] & 1) && !(e >> 63)) {
            printf("%s%ld", any ? " " : "", i);
            any = 1;
        }
    }
    printf("%s\n", any ? "" : "-");
    unlink(argv[1]);
    return 0;
}

/* The folios read(2)'s readahead puts a file's pages in: a sparse 64-page file, a read of 1
 * byte at 0 (the first window), then 16 KiB at 4 KiB (reaching the mark: the windows read
 * ahead of need). Then the whole file is mapped shared and each page's folio is read from
 * /proc/kpageflags through /proc/self/pagemap (needs root): printed as ranges, a single
 * page alone ("0 1 2 3 4-7 ..."). The page-cache pages must all be there. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#define PAGES 64

int main(int argc, char **argv)
{
    static char buf[1 << 16];
    if (argc < 2)
        return 2;
    int fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || ftruncate(fd, PAGES * 4096))
        return 3;
    pread(fd, buf, 1, 0);
    pread(fd, buf, 4 * 4096, 4096);
    char *m = mmap(0, PAGES * 4096, PROT_READ, MAP_SHARED, fd, 0);
    int pm = open("/proc/self/pagemap", O_RDONLY), kf = open("/proc/kpageflags", O_RDONLY);
    if (m == MAP_FAILED || pm < 0 || kf < 0)
        return 4;
    unsigned char vec[PAGES];
    mincore(m, PAGES * 4096, vec);
    char role[PAGES];
    for (int i = 0; i < PAGES; i++) {
        if (!(vec[i] & 1)) {
            role[i] = '-';
            continue;
        }
        volatile char c = m[i * 4096];
        (void)c;
        uint64_t e = 0, f = 0;
        pread(pm, &e, 8, ((uintptr_t)(m + i * 4096) / 4096) * 8);
        uint64_t pfn = e & ((1ULL << 55) - 1);
        if (!pfn || pread(kf, &f, 8, pfn * 8) != 8)
            return 5;
        role[i] = (f >> 15) & 1 ? 'H' : (f >> 16) & 1 ? 't' : '.';
    }
    for (int i = 0; i < PAGES;) {
        int j = i + 1;
        if (role[i] == 'H')
            while (j < PAGES && role[j] == 't')
                j++;
        if (j - i == 1)
            printf("%s%d", i ? " " : "", i);
        else
            printf("%s%d-%d", i ? " " : "", i, j - 1);
        i = j;
    }
    printf("\n");
    unlink(argv[1]);
    return 0;
}

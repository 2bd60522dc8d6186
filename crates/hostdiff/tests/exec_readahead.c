/* For each case of argv (PROT:VMA_FIRST_PAGE:VMA_PAGES:FAULT_PAGE[:r], r for MADV_RANDOM),
 * makes a fresh sparse 4096-page file named DIR/exec-ra-N (nothing of it cached), maps the
 * pages the case says with that protection, privately, loads one byte of the faulting page
 * (an index into the mapping), and prints which of the file's pages are then cached
 * (mincore of a shared mapping of the whole file), as ranges. PROT is a number (1 read,
 * 4 exec, 7 all). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PAGES 4096

int main(int argc, char **argv)
{
    for (int c = 2; c < argc; c++) {
        int prot, first, pages, fault;
        char rnd = 0;
        if (sscanf(argv[c], "%d:%d:%d:%d:%c", &prot, &first, &pages, &fault, &rnd) < 4)
            return 2;
        char path[4096];
        snprintf(path, sizeof path, "%s/exec-ra-%d", argv[1], c);
        int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
        if (fd < 0 || ftruncate(fd, PAGES * 4096) != 0)
            return 3;
        char *p = mmap(NULL, (size_t)pages * 4096, prot, MAP_PRIVATE, fd, (off_t)first * 4096);
        if (p == MAP_FAILED)
            return 3;
        if (rnd == 'r' && madvise(p, (size_t)pages * 4096, MADV_RANDOM) != 0)
            return 3;
        volatile char byte = p[(size_t)fault * 4096];
        (void)byte;
        unsigned char v[PAGES];
        char *all = mmap(NULL, PAGES * 4096, PROT_READ, MAP_SHARED, fd, 0);
        if (all == MAP_FAILED || mincore(all, PAGES * 4096, v) != 0)
            return 3;
        int from = -1;
        for (int i = 0; i <= PAGES; i++) {
            int in = i < PAGES && (v[i] & 1);
            if (in && from < 0)
                from = i;
            if (!in && from >= 0) {
                printf(from == i - 1 ? "%d " : "%d-%d ", from, i - 1);
                from = -1;
            }
        }
        printf("\n");
        munmap(all, PAGES * 4096);
        munmap(p, (size_t)pages * 4096);
        close(fd);
        unlink(path);
    }
    return 0;
}

/* What fsync and posix_fadvise do to a file's page cache, which mincore shows after each
 * step: POSIX_FADV_DONTNEED drops the whole pages of its range that are clean and mapped by
 * no process (dirty ones are written back and stay); fsync cleans them all; a page a
 * mapping maps stays; POSIX_FADV_WILLNEED reads a range in; POSIX_FADV_RANDOM makes a read
 * that misses the cache read just what it asks for, POSIX_FADV_NORMAL undoes it. Memory
 * is touched through system calls only. (mincore counts a page whose read is still in
 * flight as not cached: only holes, which need no I/O, are read ahead here.) */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static char buf[1 << 16];
static unsigned char vec[16];

/* The readahead window of the device holding `fd`'s file, in pages (its queue's
 * read_ahead_kb, or its whole disk's for a partition; 32 pages when neither is found). */
static long ra_pages(int fd)
{
    struct stat st;
    fstat(fd, &st);
    const char *forms[] = {"/sys/dev/block/%u:%u/queue/read_ahead_kb", "/sys/dev/block/%u:%u/../queue/read_ahead_kb"};
    for (int i = 0; i < 2; i++) {
        char path[128];
        snprintf(path, sizeof path, forms[i], major(st.st_dev), minor(st.st_dev));
        int s = open(path, O_RDONLY);
        if (s < 0)
            continue;
        char text[32] = {0};
        read(s, text, sizeof text - 1);
        close(s);
        long kb = atol(text);
        if (kb >= 4)
            return kb / 4;
    }
    return 32;
}

/* POSIX_FADV_SEQUENTIAL doubles the open file's readahead window: a read of a sixteenth of
 * the device's window at the start of a fresh file reads twice as many pages with the
 * window as it is, four times as many with it doubled (measured on 6.18 with a window of
 * 2048 pages: 256 and 512 pages cached). */
static void sequential(int advice)
{
    int fd = open("fadvise.dat", O_RDWR | O_CREAT | O_TRUNC, 0600);
    long pages = ra_pages(fd);
    ftruncate(fd, pages * 4096);
    fsync(fd);
    char *view = mmap(0, pages * 4096, PROT_READ, MAP_SHARED, fd, 0);
    unsigned char *all = malloc(pages);
    char *big = malloc(pages / 16 * 4096 + 4096);
    posix_fadvise(fd, 0, 0, advice);
    pread(fd, big, pages / 16 * 4096, 0);
    mincore(view, pages * 4096, all);
    free(big);
    free(all);
    munmap(view, pages * 4096);
    close(fd);
    unlink("fadvise.dat");
}

int main(void)
{
    sequential(POSIX_FADV_NORMAL);
    sequential(POSIX_FADV_SEQUENTIAL);
    int fd = open("fadvise.dat", O_RDWR | O_CREAT | O_TRUNC, 0600);
    for (int i = 0; i < 8; i++)
        pwrite(fd, "page", 4, i * 4096);
    char *view = mmap(0, 8 * 4096, PROT_READ, MAP_SHARED, fd, 0);
    mincore(view, 8 * 4096, vec);
    /* Dirty: written back, kept. */
    posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    mincore(view, 8 * 4096, vec);
    fdatasync(fd);
    /* Whole pages only: bytes 100 to 8291 hold page 1 whole. */
    posix_fadvise(fd, 100, 8192, POSIX_FADV_DONTNEED);
    mincore(view, 8 * 4096, vec);
    /* Page 3 mapped (a kernel copy from a one-page mapping of it faults it in): it stays. */
    char *one = mmap(0, 4096, PROT_READ, MAP_SHARED, fd, 3 * 4096);
    int out = open("fadvise.out", O_WRONLY | O_CREAT | O_TRUNC, 0600);
    write(out, one, 4);
    posix_fadvise(fd, 2 * 4096, 4 * 4096, POSIX_FADV_DONTNEED);
    mincore(view, 8 * 4096, vec);
    munmap(one, 4096);
    posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    mincore(view, 8 * 4096, vec);
    munmap(view, 8 * 4096);
    close(out);
    unlink("fadvise.out");
    close(fd);

    /* A fresh file on the disk and out of the cache, read a page at a time. */
    fd = open("fadvise.dat", O_RDWR | O_CREAT | O_TRUNC, 0600);
    ftruncate(fd, 16 * 4096);
    fsync(fd);
    view = mmap(0, 16 * 4096, PROT_READ, MAP_SHARED, fd, 0);
    posix_fadvise(fd, 0, 0, POSIX_FADV_RANDOM);
    pread(fd, buf, 4096, 0);
    pread(fd, buf, 4096, 4096);
    mincore(view, 16 * 4096, vec);
    posix_fadvise(fd, 0, 0, POSIX_FADV_NORMAL);
    pread(fd, buf, 4096, 8 * 4096);
    pread(fd, buf, 4096, 9 * 4096);
    mincore(view, 16 * 4096, vec);
    /* The file's pages are holes, which a read fills at once: a page of the disk's would
     * still be read when mincore looks, and count as not cached yet. */
    posix_fadvise(fd, 13 * 4096, 2 * 4096, POSIX_FADV_WILLNEED);
    mincore(view, 16 * 4096, vec);
    munmap(view, 16 * 4096);
    /* A pipe: ESPIPE; bad advice: EINVAL. */
    int p[2];
    pipe(p);
    posix_fadvise(p[0], 0, 0, POSIX_FADV_DONTNEED);
    posix_fadvise(fd, 0, 0, 77);
    close(fd);
    unlink("fadvise.dat");
    return 0;
}

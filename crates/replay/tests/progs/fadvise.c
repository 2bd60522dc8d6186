/* What fsync and posix_fadvise do to a file's page cache, which mincore shows after each
 * step: POSIX_FADV_DONTNEED drops the whole pages of its range that are clean and mapped by
 * no process (dirty ones are written back and stay); fsync cleans them all; a page a
 * mapping maps stays; POSIX_FADV_WILLNEED reads a range in; POSIX_FADV_RANDOM makes a read
 * that misses the cache read just what it asks for, POSIX_FADV_NORMAL undoes it. Memory
 * is touched through system calls only. (mincore counts a page whose read is still in
 * flight as not cached: only holes, which need no I/O, are read ahead here.) */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

static char buf[1 << 16];
static unsigned char vec[16];

int main(void)
{
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

/* A read from a file into a shared mapping of the same file, one page further on: the
 * kernel copies a page at a time, each read from the page cache just before it is copied,
 * so the second page of the buffer gets the first page's bytes again (the file's page 1,
 * which the first page of the copy had just overwritten). The buffer is write-only while
 * the read runs, so strace cannot dump it; then a write of it shows the bytes. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

int main(void)
{
    int fd = open("read_overlap.dat", O_RDWR | O_CREAT | O_TRUNC, 0600);
    ftruncate(fd, 4 * 4096);
    pwrite(fd, "file page zero", 14, 0);
    int null = open("/dev/null", O_WRONLY);
    char *m = mmap(0, 3 * 4096, PROT_READ, MAP_SHARED, fd, 0);
    mprotect(m + 4096, 2 * 4096, PROT_WRITE);
    pread(fd, m + 4096, 6000, 0);
    mprotect(m + 4096, 2 * 4096, PROT_READ);
    write(null, m + 4096, 8192);
    unlink("read_overlap.dat");
    return 0;
}

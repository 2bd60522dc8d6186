/* Shared memory objects (two /dev/zero mappings, a memfd) shown by a maps read, then one
 * more made and the maps read again from offset 0: their inode numbers come from the
 * machine-wide counter. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

int main(void) {
    static char buf[65536];
    char *a = mmap(0, 8192, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    char *b = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    int m = memfd_create("hello", 0);
    ftruncate(m, 4096);
    char *c = mmap(0, 4096, PROT_READ, MAP_SHARED, m, 0);
    a[0] = 1;
    b[0] = c[0];
    int fd = open("/proc/self/maps", O_RDONLY);
    ssize_t n = read(fd, buf, sizeof buf);
    char *d = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    d[0] = 1;
    lseek(fd, 0, SEEK_SET);
    n = read(fd, buf, sizeof buf);
    return n < 0;
}

/* Reads its own maps after using the heap and the mmap area: built as a PIE, a non-PIE,
 * static and static-pie program for the ASLR replay tests. */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

int main(void) {
    static char buf[65536];
    char *p = malloc(100000);
    char *q = mmap(0, 3 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *r = mmap(0, 8192, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(q, 4096);
    mprotect(r, 4096, PROT_NONE);
    int fd = open("/proc/self/maps", O_RDONLY);
    ssize_t n = read(fd, buf, sizeof buf);
    if (n > 0)
        write(1, buf, n);
    free(p);
    return 0;
}

/* Reads the THP setting, then maps 4 MiB of anonymous memory (placed 2 MiB-aligned unless
 * THP is off) and reads its maps. */
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

int main(void) {
    static char buf[65536];
    int t = open("/sys/kernel/mm/transparent_hugepage/enabled", O_RDONLY);
    if (t >= 0) {
        read(t, buf, 100);
        close(t);
    }
    char *small = mmap(0, 12288, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *big = mmap(0, 4 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    small[0] = big[0] = 1;
    int fd = open("/proc/self/maps", O_RDONLY);
    return read(fd, buf, sizeof buf) <= 0;
}

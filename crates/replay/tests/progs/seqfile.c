/* /proc/self/maps is a seq_file: each read goes on from the mapping after the last one it
 * showed (by address), not from a byte offset into a text made anew, and keeps the rest of
 * a line a short read cut. Between short reads this program maps and unmaps below and above
 * the point it has read to, and rewinds with lseek and reads at offsets with pread. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

static char buf[1 << 16];

int main(void)
{
    int fd = open("/proc/self/maps", O_RDONLY);
    /* Whole lines and cut ones. */
    read(fd, buf, 150);
    read(fd, buf, 100);
    /* A mapping low in the address space (before the point read to) and one high. */
    char *low = mmap((void *)0x10000000, 3 * 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    read(fd, buf, 200);
    char *top = mmap(0, 5 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    read(fd, buf, 300);
    munmap(low, 4096);
    read(fd, buf, 1000);
    mprotect(top + 4096, 4096, PROT_NONE);
    while (read(fd, buf, 700) > 0)
        ;
    /* From the start again, then at an offset; pread does not move the position. */
    lseek(fd, 0, SEEK_SET);
    read(fd, buf, 500);
    munmap(low + 4096, 4096);
    pread(fd, buf, 400, 1000);
    read(fd, buf, 500);
    lseek(fd, 333, SEEK_SET);
    read(fd, buf, sizeof buf);
    close(fd);
    return 0;
}

/* Maps argv[1] bytes of private writable anonymous memory (which mmap's overcommit
 * heuristic weighs against RAM plus swap), then reads /proc/meminfo: the replay learns the
 * recording machine's RAM only after the mapping. */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

static char text[1 << 14];

int main(int argc, char **argv) {
    size_t len = argc > 1 ? strtoull(argv[1], 0, 10) : 4096;
    void *p = mmap(0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    int fd = open("/proc/meminfo", O_RDONLY);
    read(fd, text, sizeof text);
    close(fd);
    if (p != MAP_FAILED)
        munmap(p, len);
    return 0;
}

/* A process a trace attaches to: it maps memory, says "ready" on stdout, waits for a line
 * on stdin (the test attaches strace -p meanwhile), then maps, unmaps and protects memory,
 * some of it made before the trace, and (with an argument "maps") reads its own maps. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv) {
    static char buf[65536];
    char *keep = mmap(0, 16384, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(keep, 1, 16384);
    write(1, "ready\n", 6);
    char line[16];
    if (read(0, line, sizeof line) <= 0)
        return 1;
    char *q = mmap(0, 1 << 16, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *r = mmap(0, 8192, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(q, 4096);
    mprotect(r, 4096, PROT_NONE);
    mprotect(keep, 4096, PROT_READ);
    if (argc > 1 && strcmp(argv[1], "maps") == 0) {
        int fd = open("/proc/self/maps", O_RDONLY);
        ssize_t n = read(fd, buf, sizeof buf);
        close(fd);
        if (n <= 0)
            return 1;
    }
    munmap(keep + 8192, 4096);
    return 0;
}

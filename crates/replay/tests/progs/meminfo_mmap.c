/* Reads /proc/meminfo and the overcommit mode, then, under the heuristic mode 0, maps
 * anonymous memory a little below and a little above what Linux lets one mapping have
 * there (RAM plus swap): the first succeeds, the second fails with ENOMEM. The replay knows
 * the recording machine's RAM and swap only from the read. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static char text[1 << 14];

static long read_file(const char *path) {
    int fd = open(path, O_RDONLY);
    long n = read(fd, text, sizeof text - 1);
    close(fd);
    text[n > 0 ? n : 0] = 0;
    return n;
}

static unsigned long long field_kb(const char *name) {
    char *at = strstr(text, name);
    return at ? strtoull(at + strlen(name), 0, 10) : 0;
}

int main(void) {
    read_file("/proc/sys/vm/overcommit_memory");
    int mode = atoi(text);
    read_file("/proc/meminfo");
    unsigned long long total = (field_kb("MemTotal:") + field_kb("SwapTotal:")) << 10;
    if (mode != 0)
        return 0;
    for (unsigned long long len = total - (64ULL << 20); len <= total + (64ULL << 20); len += 128ULL << 20) {
        void *p = mmap(0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p != MAP_FAILED)
            munmap(p, len);
    }
    return 0;
}

/* The child of the memory cgroup host tests: joins a group (writes its pid to argv[1]),
 * maps argv[2] MiB of private anonymous memory, writes one byte in each page, prints the
 * mapping's address and waits for its stdin to close (at once with /dev/null). */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc != 3)
        return 2;
    FILE *f = fopen(argv[1], "w");
    if (!f || fprintf(f, "%d", getpid()) < 0 || fclose(f)) {
        perror("join");
        return 2;
    }
    size_t n = (size_t)atol(argv[2]) << 20;
    char *m = mmap(0, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) {
        perror("mmap");
        return 3;
    }
    for (size_t i = 0; i < n; i += 4096)
        m[i] = 1;
    printf("%lx\n", (unsigned long)m);
    fflush(stdout);
    char c;
    while (read(0, &c, 1) > 0)
        ;
    return 0;
}

/* For memfd_recount.rs: how a memfd's per-page commit charge of pages reclaim dropped
 * comes back. For each step named on the command line: a fresh 256-page memfd, every page
 * read through a shared mapping (allocated, clean), page 7 written through it, then
 * MADV_PAGEOUT of all (no swap: the clean pages are dropped, page 7 stays), then the step.
 * Prints, per step, the change of Committed_AS (kB) at the faults, at the pageout and at
 * the step. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static long committed(void) {
    FILE *f = fopen("/proc/meminfo", "r");
    char line[256];
    long v = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "Committed_AS: %ld kB", &v) == 1) break;
    if (f) fclose(f);
    return v;
}

int main(int argc, char **argv) {
    const long n = 256, P = 4096;
    char buf[1] = {1};
    /* One CPU: the per-CPU LRU batches a pageout drains are this CPU's. */
    cpu_set_t cpus;
    CPU_ZERO(&cpus);
    CPU_SET(0, &cpus);
    sched_setaffinity(0, sizeof cpus, &cpus);
    for (int a = 1; a < argc; a++) {
        const char *step = argv[a];
        int fd = memfd_create("recount", 0);
        if (fd < 0 || ftruncate(fd, n * P)) return 1;
        char *p = mmap(NULL, n * P, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (p == MAP_FAILED) return 1;
        long c0 = committed();
        volatile char s = 0;
        for (long i = 0; i < n; i++) s += p[i * P];
        p[7 * P] = 1;
        long c1 = committed();
        madvise(p, n * P, MADV_PAGEOUT);
        long c2 = committed();
        if (!strcmp(step, "fault-hole")) s += p[0];
        else if (!strcmp(step, "fault-present")) s += p[7 * P];
        else if (!strcmp(step, "write-hole")) { if (write(fd, buf, 1) != 1) return 1; }
        else if (!strcmp(step, "read-hole")) { if (read(fd, buf, 1) != 1) return 1; }
        else if (!strcmp(step, "shrink")) { if (ftruncate(fd, (n - 1) * P)) return 1; }
        else if (!strcmp(step, "grow")) { if (ftruncate(fd, (n + 1) * P)) return 1; }
        else if (!strcmp(step, "madv-remove")) madvise(p + 200 * P, P, MADV_REMOVE);
        else if (!strcmp(step, "munmap")) munmap(p, n * P);
        long c3 = committed();
        printf("%s faults %+ld pageout %+ld step %+ld\n", step, c1 - c0, c2 - c1, c3 - c2);
        if (strcmp(step, "munmap")) munmap(p, n * P);
        close(fd);
    }
    return 0;
}

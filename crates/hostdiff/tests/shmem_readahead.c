/* Swap readahead of shmem: reads 32 pages of a shared anonymous mapping, in order, after
 * they went out on swap and out of the swap cache. Joins the memory cgroup whose
 * cgroup.procs is argv[1]; writes the pages, puts them out with MADV_PAGEOUT, waits for
 * the writes, then empties the group (argv[2] with the value argv[3]: v1
 * memory.force_empty, v2 memory.reclaim). Prints the mincore residency of the 32 pages
 * then, and one character per page read: 1 when its read was a major fault. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#define PAGE 4096
#define N 32

static long majflt(void) {
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return u.ru_majflt;
}

static void put(const char *path, const char *value) {
    int fd = open(path, O_WRONLY);
    if (fd < 0) { perror(path); exit(1); }
    (void)!write(fd, value, strlen(value)); /* memory.reclaim may answer EAGAIN */
    close(fd);
}

int main(int argc, char **argv) {
    if (argc != 4) { fprintf(stderr, "usage: %s PROCS EMPTY VALUE\n", argv[0]); return 2; }
    char pid[32], majors[N + 1], resident[N + 1];
    unsigned char v[N];
    snprintf(pid, sizeof pid, "%d", getpid());
    put(argv[1], pid);
    char *a = mmap(0, N * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (a == MAP_FAILED) { perror("mmap"); return 1; }
    for (int i = 0; i < N; i++) memset(a + i * PAGE, 0x50 + i, 8);
    if (madvise(a, N * PAGE, MADV_PAGEOUT)) { perror("MADV_PAGEOUT"); return 1; }
    usleep(200000);
    put(argv[2], argv[3]);
    if (mincore(a, N * PAGE, v)) { perror("mincore"); return 1; }
    for (int i = 0; i < N; i++) resident[i] = '0' + (v[i] & 1);
    resident[N] = 0;
    for (int i = 0; i < N; i++) {
        long before = majflt();
        if (((volatile char *)a)[i * PAGE] != 0x50 + i) { fprintf(stderr, "page %d lost its bytes\n", i); return 1; }
        majors[i] = majflt() > before ? '1' : '0';
    }
    majors[N] = 0;
    printf("%s %s\n", resident, majors);
    return 0;
}

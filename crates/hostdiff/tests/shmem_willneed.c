/* MADV_WILLNEED over a shared anonymous mapping whose pages are out on swap and no longer
 * in the swap cache. Joins the memory cgroup whose cgroup.procs is argv[1]; writes six
 * pages, puts them out with MADV_PAGEOUT, waits for the writes to finish, then empties the
 * group (argv[2]: v1 memory.force_empty, v2 memory.reclaim, with the value argv[3]) so that
 * the swap cache lets the pages go. Then MADV_WILLNEED over pages 1 to 3, and reads of
 * those three. Prints one line per step: its name, the mincore residency of the six pages,
 * the growth of /proc/vmstat's pswpin since the MADV_WILLNEED (the whole machine's) and
 * this process's major faults since then. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#define PAGE 4096
#define N 6

static long pswpin(void) {
    FILE *f = fopen("/proc/vmstat", "r");
    char line[256];
    long v = -1;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "pswpin ", 7)) v = atol(line + 7);
    if (f) fclose(f);
    return v;
}

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

static long in0, maj0;

static void step(const char *name, char *a) {
    unsigned char v[N];
    char s[N + 1];
    if (mincore(a, N * PAGE, v)) { perror("mincore"); exit(1); }
    for (int i = 0; i < N; i++) s[i] = '0' + (v[i] & 1);
    s[N] = 0;
    printf("%s %s %ld %ld\n", name, s, pswpin() - in0, majflt() - maj0);
}

int main(int argc, char **argv) {
    if (argc != 4) { fprintf(stderr, "usage: %s PROCS EMPTY VALUE\n", argv[0]); return 2; }
    char pid[32];
    snprintf(pid, sizeof pid, "%d", getpid());
    put(argv[1], pid);
    char *a = mmap(0, N * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (a == MAP_FAILED) { perror("mmap"); return 1; }
    for (int i = 0; i < N; i++) memset(a + i * PAGE, 0x50 + i, 8);
    if (madvise(a, N * PAGE, MADV_PAGEOUT)) { perror("MADV_PAGEOUT"); return 1; }
    usleep(200000);
    put(argv[2], argv[3]);
    in0 = pswpin();
    maj0 = majflt();
    step("emptied", a);
    if (madvise(a + PAGE, 3 * PAGE, MADV_WILLNEED)) { perror("MADV_WILLNEED"); return 1; }
    /* The reads it started finish on their own: mincore counts a page once they have. */
    usleep(100000);
    step("willneed", a);
    for (int i = 1; i < 4; i++)
        if (a[i * PAGE] != 0x50 + i) { fprintf(stderr, "page %d lost its bytes\n", i); return 1; }
    step("read", a);
    return 0;
}

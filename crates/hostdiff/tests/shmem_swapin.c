/* shmem pages brought back from swap, in one of two modes (argv[1]). Joins the memory
 * cgroup whose cgroup.procs is argv[2]; writes the pages of a shared anonymous mapping,
 * puts them out with MADV_PAGEOUT, waits for the writes to finish, then empties the group
 * (argv[3] with the value argv[4]: v1 memory.force_empty, v2 memory.reclaim) so that the
 * swap cache lets the pages go.
 *
 * willneed: six pages; MADV_WILLNEED over pages 1 to 3, and reads of those three. Prints
 * one line per step: its name, the mincore residency of the six pages, the growth of
 * /proc/vmstat's pswpin since the MADV_WILLNEED (the whole machine's) and this process's
 * major faults since then.
 *
 * readahead: 32 pages read in order. Prints their mincore residency before the reads and
 * one character per page read: 1 when its read was a major fault. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#define PAGE 4096

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

/* n written pages, put out on swap and out of the swap cache. */
static char *paged_out(int n, const char *empty, const char *value) {
    char *a = mmap(0, n * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (a == MAP_FAILED) { perror("mmap"); exit(1); }
    for (int i = 0; i < n; i++) memset(a + i * PAGE, 0x50 + i, 8);
    if (madvise(a, n * PAGE, MADV_PAGEOUT)) { perror("MADV_PAGEOUT"); exit(1); }
    usleep(200000);
    put(empty, value);
    return a;
}

static void residency(char *a, int n, char *out) {
    unsigned char v[64];
    if (mincore(a, n * PAGE, v)) { perror("mincore"); exit(1); }
    for (int i = 0; i < n; i++) out[i] = '0' + (v[i] & 1);
    out[n] = 0;
}

static long in0, maj0;

static void step(const char *name, char *a) {
    char s[8];
    residency(a, 6, s);
    printf("%s %s %ld %ld\n", name, s, pswpin() - in0, majflt() - maj0);
}

static int willneed(char *a) {
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

static int read_in_order(char *a, int n) {
    char majors[64], resident[64];
    residency(a, n, resident);
    for (int i = 0; i < n; i++) {
        long before = majflt();
        if (((volatile char *)a)[i * PAGE] != 0x50 + i) { fprintf(stderr, "page %d lost its bytes\n", i); return 1; }
        majors[i] = majflt() > before ? '1' : '0';
    }
    majors[n] = 0;
    printf("%s %s\n", resident, majors);
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 5) { fprintf(stderr, "usage: %s willneed|readahead PROCS EMPTY VALUE\n", argv[0]); return 2; }
    char pid[32];
    snprintf(pid, sizeof pid, "%d", getpid());
    put(argv[2], pid);
    if (!strcmp(argv[1], "willneed")) return willneed(paged_out(6, argv[3], argv[4]));
    if (!strcmp(argv[1], "readahead")) return read_in_order(paged_out(32, argv[3], argv[4]), 32);
    fprintf(stderr, "unknown mode %s\n", argv[1]);
    return 2;
}

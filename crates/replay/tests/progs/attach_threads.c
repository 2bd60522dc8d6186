/* A process with a second thread, for a trace that attaches to it (`strace -f -p`, which
 * attaches every thread: the trace never shows the thread's creation). It says "ready" on
 * stdout and waits for a line on stdin; then the main thread maps memory and wakes the
 * worker, which maps and unmaps memory of its own and ends; the main thread maps again and
 * (with an argument "maps") reads its maps; with "twice" it reads them before it wakes the
 * worker too. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static int wake[2];

static void *worker(void *arg) {
    char c;
    (void)arg;
    if (read(wake[0], &c, 1) != 1)
        return 0;
    for (int i = 0; i < 4; i++) {
        char *p = mmap(0, 65536 * (i + 1), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        p[0] = 1;
        if (i & 1)
            munmap(p, 4096);
    }
    return 0;
}

static void read_maps(void) {
    static char buf[65536];
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f || fread(buf, 1, sizeof buf, f) == 0)
        _exit(1);
    fclose(f);
}

int main(int argc, char **argv) {
    int twice = argc > 1 && strcmp(argv[1], "twice") == 0;
    pthread_t t;
    if (pipe(wake) != 0 || pthread_create(&t, 0, worker, 0) != 0)
        return 1;
    write(1, "ready\n", 6);
    char line[16];
    if (read(0, line, sizeof line) <= 0)
        return 1;
    char *q = mmap(0, 1 << 16, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    q[0] = 1;
    if (twice)
        read_maps();
    write(wake[1], "x", 1);
    pthread_join(t, 0);
    mmap(0, 8192, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (argc > 1)
        read_maps();
    return 0;
}

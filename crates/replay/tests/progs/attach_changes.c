/* A process a trace attaches to after it ran a while. It maps 16 KiB, says "ready" on
 * stdout and waits for a line on stdin (the test attaches strace -p meanwhile); then three
 * times it maps 64 KiB, makes the first page read-only, unmaps 8 KiB at +8 KiB and grows
 * the heap by 8 KiB with sbrk (writing to what it maps, as real programs do), and it protects and unmaps pages of the 16 KiB it mapped
 * before the trace. Before those, it maps 64 KiB of shared memory (placed below the 64 KiB
 * it mapped last before the trace; maps shows its inode number, from a machine-wide
 * counter) and unmaps those older 64 KiB whole: nothing but the placement shows they were
 * there. Its argument says who reads its maps and when:
 *   maps    itself, after the changes          first   itself, before and after them
 *   none    nobody                             fork    a child forked after them, which
 *   thread  a thread, after the main thread's          changes its own copy first
 *           changes                            exec    the program exec'ed after them
 *   plain   (what exec runs) reads its maps at once, without waiting.
 * The test starts it by its absolute path (exec runs argv[0]). */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static char text[1 << 16];

/* Reads /proc/self/maps to its end, in as many reads as it takes. */
static void read_maps(void) {
    int fd = open("/proc/self/maps", O_RDONLY);
    size_t n = 0;
    ssize_t got;
    while ((got = read(fd, text + n, sizeof text - n)) > 0)
        n += got;
    close(fd);
}

static void *reader(void *arg) {
    (void)arg;
    read_maps();
    return 0;
}

static void changes(void) {
    for (int i = 0; i < 3; i++) {
        char *p = mmap(0, 65536, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        p[4096] = 1;
        mprotect(p, 4096, PROT_READ);
        munmap(p + 8192, 8192);
        memset(sbrk(8192), 2, 8192);
    }
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "maps";
    if (strcmp(mode, "plain") == 0) {
        read_maps();
        return 0;
    }
    char *keep = mmap(0, 16384, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(keep, 1, 16384);
    char *old = mmap(0, 65536, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(old, 3, 65536);
    write(1, "ready\n", 6);
    char line[16];
    if (read(0, line, sizeof line) <= 0)
        return 1;
    if (strcmp(mode, "first") == 0)
        read_maps();
    char *fresh = mmap(0, 65536, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    fresh[0] = 1;
    munmap(old, 65536);
    changes();
    mprotect(keep, 4096, PROT_READ);
    munmap(keep + 12288, 4096);
    if (strcmp(mode, "maps") == 0 || strcmp(mode, "first") == 0) {
        read_maps();
    } else if (strcmp(mode, "fork") == 0) {
        pid_t child = fork();
        if (child == 0) {
            changes();
            read_maps();
            _exit(0);
        }
        int status;
        waitpid(child, &status, 0);
        changes();
    } else if (strcmp(mode, "thread") == 0) {
        pthread_t t;
        pthread_create(&t, 0, reader, 0);
        pthread_join(t, 0);
    } else if (strcmp(mode, "exec") == 0) {
        char *args[] = {argv[0], "plain", 0};
        execv(argv[0], args);
        return 1;
    }
    munmap(keep + 8192, 4096);
    return 0;
}

/* A process with a pool of threads made before a trace attaches to it (`strace -f -p`
 * attaches them all, and never shows them created), as in a JVM: one thread sits idle and
 * is ended by the main thread's exit_group; one frees memory the main thread mapped
 * (madvise) and ends on its own; one opens one more page of a PROT_NONE reservation whose
 * first pages are in use (an allocator arena growing) and ends on its own. None maps
 * anything, so no maps read shows what they made: what they are is learned from how they
 * end and from the memory they use. The main thread reads its maps before exiting. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static int go_free[2], go_grow[2], never[2];
static char *buf, *arena;

static void *idle(void *arg) {
    char c;
    (void)arg;
    read(never[0], &c, 1);
    return 0;
}

static void *freer(void *arg) {
    char c;
    (void)arg;
    if (read(go_free[0], &c, 1) == 1)
        madvise(buf, 65536, MADV_DONTNEED);
    return 0;
}

static void *grower(void *arg) {
    char c;
    (void)arg;
    if (read(go_grow[0], &c, 1) == 1) {
        mprotect(arena + 65536, 4096, PROT_READ | PROT_WRITE);
        arena[65536] = 1;
    }
    return 0;
}

int main(void) {
    static char text[65536];
    pthread_t t[3];
    buf = mmap(0, 65536, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(buf, 1, 65536);
    arena = mmap(0, 1 << 20, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    mprotect(arena, 65536, PROT_READ | PROT_WRITE);
    arena[0] = 1;
    if (pipe(go_free) || pipe(go_grow) || pipe(never))
        return 1;
    pthread_create(&t[0], 0, idle, 0);
    pthread_create(&t[1], 0, freer, 0);
    pthread_create(&t[2], 0, grower, 0);
    write(1, "ready\n", 6);
    char line[16];
    if (read(0, line, sizeof line) <= 0)
        return 1;
    write(go_free[1], "x", 1);
    pthread_join(t[1], 0);
    write(go_grow[1], "x", 1);
    pthread_join(t[2], 0);
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f || fread(text, 1, sizeof text, f) == 0)
        return 1;
    fclose(f);
    return 0;
}

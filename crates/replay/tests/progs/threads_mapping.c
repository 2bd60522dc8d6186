/* Four threads map and unmap regions of varying sizes at once (anonymous private and
 * shared, so that calls of one thread overlap calls of another in strace's output), while a
 * fifth reads /proc/self/maps; the main thread prints its maps at the end. Built with
 * -DMOVE, the threads also grow mappings with mremap, which may move them; with -DATTACH,
 * the program waits for a line on stdin before it starts its threads (for a tracer that
 * attaches to it with -p). */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/mman.h>

static void *mapper(void *arg) {
    long k = (long)arg;
    for (int i = 0; i < 150; i++) {
        size_t len = 4096 * (1 + (i * 7 + k) % 9);
        int flags = (i + k) % 3 ? MAP_PRIVATE | MAP_ANONYMOUS : MAP_SHARED | MAP_ANONYMOUS;
        char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, flags, -1, 0);
        if (p == MAP_FAILED) return 0;
        p[0] = (char)i;
        if (i % 5 == 0) mprotect(p, 4096, PROT_READ);
#ifdef MOVE
        if (i % 4 == 1) {
            size_t grown = len + 4096 * (1 + k);
            char *q = mremap(p, len, grown, MREMAP_MAYMOVE);
            if (q != MAP_FAILED) p = q, len = grown;
        }
#endif
        munmap(p, len);
    }
    return 0;
}

static void *reader(void *arg) {
    (void)arg;
    static char buf[1 << 16];
    for (int i = 0; i < 20; i++) {
        int fd = open("/proc/self/maps", O_RDONLY);
        while (read(fd, buf, sizeof buf) > 0) {}
        close(fd);
    }
    return 0;
}

int main(void) {
#ifdef ATTACH
    /* Started before the tracer attaches: says so, then waits for the word to go on. */
    char go[8];
    printf("ready\n");
    fflush(stdout);
    if (!fgets(go, sizeof go, stdin)) return 1;
#endif
    pthread_t t[5];
    for (long k = 0; k < 4; k++) pthread_create(&t[k], 0, mapper, (void *)k);
    pthread_create(&t[4], 0, reader, 0);
    for (int k = 0; k < 5; k++) pthread_join(t[k], 0);
    static char buf[1 << 16];
    int fd = open("/proc/self/maps", O_RDONLY);
    ssize_t n = read(fd, buf, sizeof buf);
#ifndef ATTACH
    /* (Attached to, its stdout is a pipe nobody reads any more.) */
    if (n > 0) write(1, buf, n);
#endif
    return 0;
}

/* A thread maps a region and keeps it; once it has ended, the main thread maps one too,
 * which the kernel puts below the thread's, and reads its maps. Traced without -f, the
 * thread's mmap is not in the log. */
#include <pthread.h>
#include <stdio.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/mman.h>

static void *keep(void *arg) {
    (void)arg;
    return mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
}

int main(void) {
    pthread_t t;
    void *kept;
    pthread_create(&t, 0, keep, 0);
    pthread_join(t, &kept);
    char *mine = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    mine[0] = 1;
    int fd = open("/proc/self/maps", O_RDONLY);
    char buf[65536];
    ssize_t n = read(fd, buf, sizeof buf);
    close(fd);
    return n > 0 && kept != MAP_FAILED ? 0 : 1;
}

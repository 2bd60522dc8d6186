/* Guard regions through system calls only (a strict replay): a read into a guard and a
 * partial one beside it, population and mlock across one, a forked child's write from one,
 * their removal, then the smaps of the mapping. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#define MADV_GUARD_REMOVE 103
#endif

static char text[1 << 16];

int main(void) {
    long pg = 4096;
    char *a = mmap(0, 8 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    int p[2];
    pipe(p);
    write(p[1], "abc", 3);
    read(p[0], a, 3);
    madvise(a + 2 * pg, 2 * pg, MADV_GUARD_INSTALL);
    write(p[1], "defg", 4);
    read(p[0], a + 2 * pg, 3);
    read(p[0], a + 2 * pg - 2, 4);
    madvise(a, 8 * pg, MADV_POPULATE_WRITE);
    mlock(a, 8 * pg);
    if (fork() == 0) {
        write(p[1], a + 3 * pg, 1);
        _exit(0);
    }
    wait(0);
    madvise(a, 8 * pg, MADV_GUARD_REMOVE);
    write(p[1], a + 3 * pg, 1);
    int fd = open("/proc/self/smaps", O_RDONLY);
    ssize_t n, have = 0;
    while ((n = read(fd, text + have, sizeof text - have)) > 0)
        have += n;
    write(1, text, have);
    return 0;
}

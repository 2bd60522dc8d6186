/* A child forked after its parent filled two pages writes one of them to /dev/null: strace
 * reads the buffer to print it (process_vm_readv), which pins the page for reading, and the
 * kernel first gives the child its own copy of a page it shares with its parent. Both
 * read their smaps (the child's page: Private_Dirty on 6.18.44, Private_Clean on an earlier
 * 6.18 build; not Shared_Dirty). Memory is touched
 * through system calls only; the mapping is executable too, so that it merges with no
 * neighbour.
 *
 * With `cold`, the parent makes its pages old (MADV_COLD, on one CPU, whose batch the call
 * drains) before the fork: the pin marks accessed the child's copy, not the page the
 * parent keeps, whose smaps then shows nothing referenced (measured on 6.18).
 *
 * With `free`, the parent cleans the page the child prints (MADV_FREE) before the fork:
 * the copy is dirty all the same on 6.18.44.
 *
 * With `pending`, a child forked and gone leaves the parent's pages no longer exclusive;
 * the parent frees one (MADV_FREE), reads its smaps (the page still swap-backed, its move
 * to the lazy-free list waiting in the per-CPU batch of the parent's CPU), then prints it:
 * strace's pin, from another CPU, finds the batch's reference and copies the page, which
 * then reads dirty (measured on 6.18.44). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static char text[1 << 16];

static void read_smaps(void) {
    int fd = open("/proc/self/smaps", O_RDONLY);
    while (read(fd, text, sizeof text) > 0)
        ;
    close(fd);
}

int main(int argc, char **argv) {
    int cold = argc > 1 && strcmp(argv[1], "cold") == 0;
    if (cold) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(0, &set);
        sched_setaffinity(0, sizeof set, &set);
    }
    char *p = mmap(0, 8192, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    int maps = open("/proc/self/maps", O_RDONLY);
    if (read(maps, p, 8192) <= 0)
        return 1;
    close(maps);
    if (cold)
        madvise(p, 8192, MADV_COLD);
    if (argc > 1 && strcmp(argv[1], "free") == 0)
        madvise(p, 4096, MADV_FREE);
    if (argc > 1 && strcmp(argv[1], "pending") == 0) {
        if (fork() == 0)
            _exit(0);
        wait(0);
        madvise(p, 4096, MADV_FREE);
        read_smaps();
        int null = open("/dev/null", O_WRONLY);
        write(null, p, 100);
        read_smaps();
        return 0;
    }
    pid_t child = fork();
    if (child == 0) {
        int null = open("/dev/null", O_WRONLY);
        write(null, p, 100);
        read_smaps();
        _exit(0);
    }
    waitpid(child, 0, 0);
    read_smaps();
    return 0;
}

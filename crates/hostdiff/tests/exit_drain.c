/* Whether a process's exit drains its CPU's mlock batch. Pinned to CPU 0, the parent
 * mlocks four pages, forks a reader and a child that will exit, and unmaps the pages: their
 * munlocks wait in CPU 0's mlock batch (PG_mlocked stays set until it drains). The reader
 * reads PG_mlocked from /proc/kpageflags; the other child exits; the reader reads it again.
 * One line per run: the two bits (1: the munlock still waits). Something else on the
 * machine may drain the batch at any time, so one run shows little; many show whether the
 * exit itself drains. Needs root (kpageflags). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static int mlocked(void *va)
{
    uint64_t e = 0, f = 0;
    int pm = open("/proc/self/pagemap", O_RDONLY);
    pread(pm, &e, 8, ((uintptr_t)va / 4096) * 8);
    close(pm);
    int kf = open("/proc/kpageflags", O_RDONLY);
    if (kf < 0 || !(e >> 63))
        exit(2);
    pread(kf, &f, 8, (e & ((1ULL << 55) - 1)) * 8);
    close(kf);
    return (int)(f >> 33 & 1);
}

int main(void)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(0, &set);
    sched_setaffinity(0, sizeof set, &set);
    char *x = mmap(NULL, 4 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    mlock(x, 4 * 4096);
    int go[2], ack[2], end[2];
    pipe(go);
    pipe(ack);
    pipe(end);
    char c;
    pid_t reader = fork();
    if (reader == 0) {
        read(go[0], &c, 1);
        int before = mlocked(x);
        write(ack[1], "k", 1);
        read(go[0], &c, 1);
        printf("%d%d\n", before, mlocked(x));
        fflush(stdout);
        _exit(0);
    }
    pid_t exiter = fork();
    if (exiter == 0) {
        read(end[0], &c, 1);
        _exit(0);
    }
    munmap(x, 4 * 4096);
    write(go[1], "x", 1);
    read(ack[0], &c, 1);
    write(end[1], "x", 1);
    waitpid(exiter, NULL, 0);
    write(go[1], "x", 1);
    int status;
    waitpid(reader, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

/* process_madvise(MADV_PAGEOUT) of another process's range: reclaim the traced program
 * cannot see in its own trace; with a fourth argument "cold", MADV_COLD (which ages the
 * pages: their accessed bits cleared). Usage: pageout_other PID ADDR(hex) LEN [cold]. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc != 4 && argc != 5)
        return 2;
    int advice = argc == 5 ? MADV_COLD : MADV_PAGEOUT;
    int pidfd = syscall(SYS_pidfd_open, atoi(argv[1]), 0);
    if (pidfd < 0) {
        perror("pidfd_open");
        return 1;
    }
    struct iovec iov = { (void *)strtoul(argv[2], 0, 16), strtoul(argv[3], 0, 0) };
    long r = syscall(SYS_process_madvise, pidfd, &iov, 1, advice, 0);
    if (r < 0) {
        perror("process_madvise");
        return 1;
    }
    printf("%ld\n", r);
    return 0;
}

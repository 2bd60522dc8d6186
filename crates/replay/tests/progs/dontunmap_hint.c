/* mremap(MREMAP_DONTUNMAP) without MREMAP_FIXED, its fifth argument given: Linux takes it
 * as a hint (and refuses an unaligned one), strace does not print it. One hint free, one
 * taken (the kernel then places the copy as for no hint), one unaligned; then the maps. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

static char text[1 << 16];

int main(void) {
    long pg = 4096;
    char *a = mmap(0, 4 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    a[0] = 1;
    char *hint = a - (1L << 30);
    syscall(SYS_mremap, a, 2 * pg, 2 * pg, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, hint);
    syscall(SYS_mremap, a + 2 * pg, pg, pg, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, a);
    syscall(SYS_mremap, a + 3 * pg, pg, pg, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, hint + 5);
    int fd = open("/proc/self/maps", O_RDONLY);
    ssize_t n, have = 0;
    while ((n = read(fd, text + have, sizeof text - have)) > 0)
        have += n;
    write(1, text, have);
    return 0;
}

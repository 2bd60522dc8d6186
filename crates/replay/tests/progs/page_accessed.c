/* Which page-cache pages read and write calls mark accessed, and when MADV_COLD's
 * deactivation takes effect, as smaps' Referenced shows them (it counts a page whose PTE
 * is young or whose folio is PG_referenced; MADV_COLD first clears both, so what follows
 * shows the folio's flag alone).
 *
 * (1) An ext4 file: one pread of four cached pages marks each referenced; a second read
 * of them activates them (which clears PG_referenced). (2) A tmpfs file: each write marks
 * the pages it writes accessed; strace's read of the mapping (a read pin, another access)
 * activates them; MADV_COLD then queues their deactivation in its CPU's batch, where they
 * stay active; a child's read marks them referenced again; the caller's mlock (of a
 * PROT_NONE mapping: ENOMEM, but the VMA is locked and the batches drained) deactivates
 * them, which clears PG_referenced too. Measured on 6.18 (kpageflags). Memory is touched
 * through system calls only. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static char text[1 << 16], page[4 * 4096];

static void smaps(void) {
    int s = open("/proc/self/smaps", O_RDONLY);
    while (read(s, text, sizeof text) > 0)
        ;
    close(s);
}

int main(void) {
    int null = open("/dev/null", O_WRONLY);
    int fd = open("page_accessed.dat", O_RDWR | O_CREAT | O_TRUNC, 0600);
    for (int i = 0; i < 8; i++)
        pwrite(fd, page, 4096, i * 4096L);
    char *m = mmap(0, 8 * 4096, PROT_READ, MAP_SHARED, fd, 0);
    write(null, m, 8 * 4096);
    madvise(m, 8 * 4096, MADV_COLD);
    smaps();
    pread(fd, page, 4 * 4096, 4096);
    smaps();
    pread(fd, page, 4 * 4096, 4096);
    smaps();
    unlink("page_accessed.dat");

    int shm = open("/dev/shm/page_accessed", O_RDWR | O_CREAT | O_TRUNC, 0600);
    unlink("/dev/shm/page_accessed");
    ftruncate(shm, 8 * 4096);
    for (int i = 0; i < 8; i++)
        pwrite(shm, "x", 1, i * 4096L);
    char *p = mmap(0, 3 * 4096, PROT_READ, MAP_PRIVATE, shm, 4096);
    write(null, p, 0x2091);
    madvise(p, 3 * 4096, MADV_COLD);
    smaps();
    if (fork() == 0) {
        write(null, p, 0x64);
        _exit(0);
    }
    wait(0);
    smaps();
    mprotect(p, 3 * 4096, PROT_NONE);
    msync(p, 4096, MS_SYNC);
    mlock(p, 3 * 4096);
    smaps();
    return 0;
}

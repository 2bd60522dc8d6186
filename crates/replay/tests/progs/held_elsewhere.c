/* MADV_PAGEOUT of pages another CPU's activate batch holds. The program reads four clean
 * pages of a file into the page cache on CPU 0 through a shared mapping, lets them reach
 * the LRU (MADV_COLD of a spare page drains CPU 0's batches), then reads each page twice
 * with pread: the second read queues the page for activation in CPU 0's batch, which keeps
 * a reference while the page stays on its LRU list (6.18). It moves to CPU 1 and pages
 * the mapping out: the call drains only CPU 1's batches, isolates and unmaps the pages,
 * and cannot free them for that reference, so they stay in the page cache, unmapped.
 * mincore and smaps show it. Memory is touched only through system calls, for a strict
 * replay. Whether CPU 0's batch was drained meanwhile is scheduling. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <sys/mman.h>
#include <unistd.h>

static void on_cpu(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    sched_setaffinity(0, sizeof set, &set);
}

int main(void)
{
    static char text[1 << 16];
    static unsigned char vec[4];
    char word[4];
    int p[2];
    pipe(p);
    on_cpu(0);
    int fd = open("held_elsewhere.dat", O_RDWR | O_CREAT | O_TRUNC, 0600);
    for (int i = 0; i < 4; i++)
        pwrite(fd, "held", 4, i * 4096);
    fsync(fd);
    posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    char *a = mmap(0, 4 * 4096, PROT_READ, MAP_SHARED, fd, 0);
    char *spare = mmap(0, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    for (int i = 0; i < 4; i++) {
        write(p[1], a + i * 4096, sizeof word);
        read(p[0], word, sizeof word);
    }
    madvise(spare, 4096, MADV_COLD);
    for (int r = 0; r < 2; r++)
        for (int i = 0; i < 4; i++)
            pread(fd, word, sizeof word, i * 4096);
    on_cpu(1);
    madvise(a, 4 * 4096, MADV_PAGEOUT);
    mincore(a, 4 * 4096, vec);
    int m = open("/proc/self/smaps", O_RDONLY);
    ssize_t got, total = 0;
    while ((got = read(m, text + total, sizeof text - total)) > 0)
        total += got;
    close(m);
    unlink("held_elsewhere.dat");
    return 0;
}

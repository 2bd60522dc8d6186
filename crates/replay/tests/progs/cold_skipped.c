/* MADV_COLD or MADV_PAGEOUT of pages still waiting in another CPU's LRU batch. The program
 * faults four pages in on CPU 0 (a kernel copy into or from each, so each is referenced),
 * moves to CPU 1 and asks the advice of all four: the call drains only its own CPU's
 * batch, finds the pages on no LRU list and leaves them as they are, referenced and
 * mapped. Then it reads its smaps. Which pages a call skips is scheduling, not anything
 * the trace shows. Memory is touched only through system calls, for a strict replay.
 *
 *   cold_skipped            MADV_COLD of four anonymous pages
 *   cold_skipped pageout    MADV_PAGEOUT of four clean pages of a file mapped private,
 *                           read in by the first fault (mmap's read-around put them in
 *                           CPU 0's batch). Recorded with strace dumping the buffers
 *                           after the calls: were it to read a write's buffer before the
 *                           call, its own read would fault the pages in, from its CPU. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static const char word[] = "cold";

static void on_cpu(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    sched_setaffinity(0, sizeof set, &set);
}

int main(int argc, char **argv)
{
    static char text[1 << 16];
    int pageout = argc > 1 && strcmp(argv[1], "pageout") == 0;
    int p[2];
    pipe(p);
    on_cpu(0);
    /* The file's pages on disk and out of the page cache. */
    int fd = open("cold_skipped.dat", O_RDWR | O_CREAT | O_TRUNC, 0600);
    for (int i = 0; i < 4; i++)
        pwrite(fd, word, sizeof word, i * 4096);
    fsync(fd);
    posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    /* Holes on both sides, so that the mapping merges with none the loader made. */
    char *a = mmap(0, 6 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) + 4096;
    munmap(a - 4096, 4096);
    munmap(a + 4 * 4096, 4096);
    if (pageout)
        mmap(a, 4 * 4096, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 0);
    /* After the unmaps, which drain this CPU's batch: the first fault reads the file's
     * pages in, and they wait in the batch. */
    for (int i = 0; i < 4; i++) {
        if (pageout) {
            write(p[1], a + i * 4096, sizeof word);
            read(p[0], text, sizeof word);
        } else {
            write(p[1], word, sizeof word);
            read(p[0], a + i * 4096, sizeof word);
        }
    }
    on_cpu(1);
    madvise(a, 4 * 4096, pageout ? MADV_PAGEOUT : MADV_COLD);
    int m = open("/proc/self/smaps", O_RDONLY);
    ssize_t got, total = 0;
    while ((got = read(m, text + total, sizeof text - total)) > 0)
        total += got;
    close(m);
    unlink("cold_skipped.dat");
    return 0;
}

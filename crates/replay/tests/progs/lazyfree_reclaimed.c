/* Pages MADV_FREE freed, in the states the machine gives them without a line of the trace
 * saying so. Pinned to one CPU, the program fills four pages through the kernel and lazily
 * frees the middle two: their move to the lazy-free list waits in this CPU's batch, and a
 * read of smaps now shows them still swap-backed (unless something else on this CPU
 * drained the batch). A munmap drains it: the next read shows them lazily free. Then the
 * program says it is ready and waits for a byte on stdin while the test, outside the
 * trace, pages the mapping out with process_madvise(MADV_PAGEOUT) (pageout_other.c), which
 * discards clean lazily free pages: the last read shows them gone. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <sys/mman.h>
#include <unistd.h>

static const char word[] = "lazily freed";

static void read_smaps(void)
{
    char text[1 << 16];
    int m = open("/proc/self/smaps", O_RDONLY);
    ssize_t got, total = 0;
    while ((got = read(m, text + total, sizeof text - total)) > 0)
        total += got;
    close(m);
}

int main(void)
{
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(sched_getcpu(), &one);
    sched_setaffinity(0, sizeof one, &one);
    int p[2];
    pipe(p);
    /* Holes on both sides, so that the mapping merges with none the loader made. */
    char *a = mmap(0, 6 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) + 4096;
    munmap(a - 4096, 4096);
    munmap(a + 4 * 4096, 4096);
    for (int i = 0; i < 4; i++) {
        write(p[1], word, sizeof word);
        read(p[0], a + i * 4096, sizeof word);
    }
    madvise(a + 4096, 2 * 4096, MADV_FREE);
    read_smaps();
    char *scratch = mmap(0, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    madvise(scratch, 4096, MADV_PAGEOUT);
    munmap(scratch, 4096);
    read_smaps();
    write(1, "ready\n", 6);
    char c;
    read(0, &c, 1);
    read_smaps();
    return 0;
}

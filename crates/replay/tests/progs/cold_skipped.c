/* MADV_COLD of pages still waiting in another CPU's LRU batch. The program faults four
 * pages in on CPU 0 (a read into each, so each is referenced), moves to CPU 1 and asks
 * MADV_COLD of all four: the call drains only its own CPU's batch, finds the pages on no
 * LRU list and leaves them as they are, referenced. Then it reads its smaps. Which pages a
 * MADV_COLD skips is scheduling, not anything the trace shows. Memory is touched only
 * through system calls, for a strict replay. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
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

int main(void)
{
    static char text[1 << 16];
    int p[2];
    pipe(p);
    on_cpu(0);
    /* Holes on both sides, so that the mapping merges with none the loader made. */
    char *a = mmap(0, 6 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) + 4096;
    munmap(a - 4096, 4096);
    munmap(a + 4 * 4096, 4096);
    for (int i = 0; i < 4; i++) {
        write(p[1], word, sizeof word);
        read(p[0], a + i * 4096, sizeof word);
    }
    on_cpu(1);
    madvise(a, 4 * 4096, MADV_COLD);
    int m = open("/proc/self/smaps", O_RDONLY);
    ssize_t got, total = 0;
    while ((got = read(m, text + total, sizeof text - total)) > 0)
        total += got;
    close(m);
    return 0;
}

/* Pages whose accessed bits something outside the program clears (DAMON's monitoring,
 * idle page tracking, reclaim's aging). The program fills four pages through the kernel
 * (a read into each faults it in, referenced) and reads its smaps; then it says it is
 * ready and waits for a byte on stdin while the test, outside the trace, ages the first
 * three pages with process_madvise(MADV_COLD) (pageout_other.c); then it makes all but the
 * first page PROT_NONE (a PROT_NONE page is still mapped, and smaps counts it) and reads
 * smaps again. Memory is touched only through system calls, for a strict replay. */
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

static const char word[] = "aged";

static void read_smaps(void)
{
    static char text[1 << 16];
    int m = open("/proc/self/smaps", O_RDONLY);
    ssize_t got, total = 0;
    while ((got = read(m, text + total, sizeof text - total)) > 0)
        total += got;
    close(m);
}

int main(void)
{
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
    read_smaps();
    write(1, "ready\n", 6);
    char c;
    read(0, &c, 1);
    mprotect(a + 4096, 3 * 4096, PROT_NONE);
    read_smaps();
    return 0;
}

/* Pages to swap and back, touching memory only through system calls: private anonymous
 * pages written by read(), paged out with MADV_PAGEOUT, read by write() and written by
 * read() again (swap-ins); a fork after swap-out whose child copies a swapped page on
 * write; shared anonymous (shmem) pages paged out and back. Between the steps it reads
 * what shows swap: /proc/swaps, /proc/meminfo, its smaps and status, its pagemap entries
 * and mincore. With argument "quiet" it reads neither /proc/swaps nor /proc/meminfo, so a
 * replay learns that the machine swaps from the first read that shows a swapped page. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAGES 16
#define PAGE 4096
static const char word[] = "to swap and back";
static int p[2];
static unsigned char vec[PAGES];

static void fill(char *at)
{
    write(p[1], word, sizeof word);
    read(p[0], at, sizeof word);
}

/* The kernel reads the page: a swap-in when it is out. */
static void use(const char *at)
{
    char back[sizeof word];
    write(p[1], at, sizeof word);
    read(p[0], back, sizeof back);
}

static void show(const char *path)
{
    static char buf[1 << 16];
    int fd = open(path, O_RDONLY);
    while (read(fd, buf, sizeof buf) > 0)
        ;
    close(fd);
}

static void look(char *at, int quiet)
{
    uint64_t entries[PAGES];
    mincore(at, PAGES * PAGE, vec);
    show("/proc/self/smaps");
    show("/proc/self/status");
    int fd = open("/proc/self/pagemap", O_RDONLY);
    pread(fd, entries, sizeof entries, (uintptr_t)at / PAGE * sizeof entries[0]);
    close(fd);
    if (!quiet)
        show("/proc/meminfo");
}

int main(int argc, char **argv)
{
    int quiet = argc > 1 && strcmp(argv[1], "quiet") == 0;
    pipe(p);
    if (!quiet) {
        show("/proc/swaps");
        show("/proc/meminfo");
    }
    char *a = mmap(0, PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    for (int i = 0; i < PAGES; i++)
        fill(a + i * PAGE);
    madvise(a, PAGES * PAGE, MADV_PAGEOUT);
    look(a, quiet);
    /* Back: some pages read, some written. */
    for (int i = 0; i < 4; i++)
        use(a + i * PAGE);
    for (int i = 8; i < 10; i++)
        fill(a + i * PAGE);
    look(a, quiet);
    /* Out again, then a fork: both share the swapped pages; the child writes one. */
    madvise(a, PAGES * PAGE, MADV_PAGEOUT);
    look(a, quiet);
    pid_t child = fork();
    if (child == 0) {
        look(a, quiet);
        use(a);
        fill(a + PAGE);
        look(a, quiet);
        _exit(0);
    }
    waitpid(child, 0, 0);
    look(a, quiet);
    /* Shared anonymous memory: shmem pages to swap and back. */
    char *s = mmap(0, PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    for (int i = 0; i < PAGES; i++)
        fill(s + i * PAGE);
    madvise(s, PAGES * PAGE, MADV_PAGEOUT);
    look(s, quiet);
    use(s + 3 * PAGE);
    fill(s + 5 * PAGE);
    look(s, quiet);
    if (!quiet)
        show("/proc/swaps");
    return 0;
}

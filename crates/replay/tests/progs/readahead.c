/* Reads a file in the patterns that decide read(2)'s readahead, and asks mincore after each
 * which pages are in the page cache: a read at the start (the first window), a read
 * continuing it (the window after the marked page), a read far into the file (only what
 * was asked), one right after it (a new window there), and a read whose first page is
 * cached and next ones not (a lone small read). Each on a fresh file of its own, so that
 * only the pattern decides. Memory is touched through system calls only. */
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

static char buf[1 << 16];
static unsigned char vec[256];
static char smaps[1 << 16];

/* A fresh sparse file of `pages` pages, with a byte written in pages 0 and 5 when asked:
 * only those two are in the page cache. */
static int sparse_file(const char *name, long pages, int written)
{
    int fd = open(name, O_RDWR | O_CREAT | O_TRUNC, 0600);
    ftruncate(fd, pages * 4096);
    if (written) {
        pwrite(fd, "x", 1, 0);
        pwrite(fd, "y", 1, 5 * 4096);
    }
    return fd;
}

static void pattern(const char *name, long pages, int written, long at1, long n1, long at2, long n2)
{
    int fd = sparse_file(name, pages, written);
    char *m = mmap(0, pages * 4096, PROT_READ, MAP_SHARED, fd, 0);
    mincore(m, pages * 4096, vec);
    pread(fd, buf, n1 * 4096, at1 * 4096);
    mincore(m, pages * 4096, vec);
    pread(fd, buf, n2 * 4096, at2 * 4096);
    mincore(m, pages * 4096, vec);
    lseek(fd, 0, SEEK_SET);
    read(fd, buf, 4096);
    read(fd, buf, 4096);
    mincore(m, pages * 4096, vec);
    munmap(m, pages * 4096);
    close(fd);
    unlink(name);
}

/* A read whose window marks a page it does not return, then a longer read from the start
 * that reaches the marked page: its batch of cached pages ends at the mark, which starts the
 * next window before the copy goes on. The first read's buffer is write-only memory (strace
 * cannot dump what it read there). */
static void marked_in_batch(const char *name)
{
    int fd = sparse_file(name, 16, 1);
    char *m = mmap(0, 16 * 4096, PROT_READ, MAP_SHARED, fd, 0);
    char *w = mmap(0, 4 * 4096, PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    pread(fd, buf, 1, 0);
    pread(fd, w + 4096, 0x1575, 0);
    mincore(m, 16 * 4096, vec);
    pread(fd, buf, 0x3800, 0);
    mincore(m, 16 * 4096, vec);
    munmap(w, 4 * 4096);
    munmap(m, 16 * 4096);
    close(fd);
    unlink(name);
}

/* A fault on a page readahead marked: it reads the next window ahead and is retried, and
 * the retry's fault-around maps every cached page of the five-page mapping, the faulting
 * one among them. The kernel's copy from the mapping (a write to a file) is the fault;
 * smaps shows what it mapped. */
static void fault_on_the_mark(const char *name)
{
    int fd = sparse_file(name, 16, 1);
    pread(fd, buf, 1, 0);
    pread(fd, buf, 0x1800, 0);
    char *m = mmap(0, 5 * 4096, PROT_READ, MAP_PRIVATE, fd, 2 * 4096);
    int out = open("ra-out", O_WRONLY | O_CREAT | O_TRUNC, 0600);
    write(out, m, 0x2ad5);
    close(out);
    unlink("ra-out");
    int s = open("/proc/self/smaps", O_RDONLY);
    while (read(s, smaps, sizeof smaps) > 0)
        ;
    close(s);
    munmap(m, 5 * 4096);
    close(fd);
    unlink(name);
}

/* A write fault on a page readahead marked, through a kernel copy into a shared and into a
 * private writable mapping: filemap_fault reads the next window ahead for a write as for
 * a read. The 1-byte read marks page 1 of its first window; mincore shows what followed. */
static void write_fault_on_the_mark(const char *name, int flags)
{
    int fd = sparse_file(name, 16, 0);
    char *view = mmap(0, 16 * 4096, PROT_READ, MAP_SHARED, fd, 0);
    char *m = mmap(0, 4 * 4096, PROT_READ | PROT_WRITE, flags, fd, 0);
    pread(fd, buf, 1, 0);
    mincore(view, 16 * 4096, vec);
    pread(fd, m + 4096, 4096, 0);
    mincore(view, 16 * 4096, vec);
    munmap(m, 4 * 4096);
    munmap(view, 16 * 4096);
    close(fd);
    unlink(name);
}

/* A fault on a page not cached, in a mapping given `advice`, at page `at` of a large sparse
 * file: read-around reads a window centred on the page and marks a page a quarter of the
 * window before its end; MADV_RANDOM reads the page alone; MADV_SEQUENTIAL reads as a read
 * of the device's whole window would. Then the kernel copies one byte from each page
 * after it, faulting them in, which reaches the mark if there is one (its place depends on
 * the device's read_ahead_kb): the next window is read. mincore shows each step. */
static void fault_read_around(const char *name, int advice, long at)
{
    enum { PAGES = 4096 };
    static unsigned char big[PAGES];
    int fd = sparse_file(name, PAGES, 0);
    char *m = mmap(0, PAGES * 4096L, PROT_READ, MAP_SHARED, fd, 0);
    madvise(m, PAGES * 4096L, advice);
    int out = open("ra-out", O_WRONLY | O_CREAT | O_TRUNC, 0600);
    write(out, m + at * 4096, 1);
    mincore(m, PAGES * 4096L, big);
    for (long i = at + 1; i < at + 600 && i < PAGES; i++)
        write(out, m + i * 4096, 1);
    mincore(m, PAGES * 4096L, big);
    close(out);
    unlink("ra-out");
    munmap(m, PAGES * 4096L);
    close(fd);
    unlink(name);
}

/* MADV_PAGEOUT over part of a large folio that readahead made (pages 4-7 of the second
 * window), of a mapping that has every page mapped: the folio is split, which unmaps all
 * its pages and leaves them cached; over a whole folio, its pages are unmapped and dropped.
 * smaps and mincore show it. */
static void pageout_of_a_folio(const char *name, int flags, long at, long n)
{
    int fd = sparse_file(name, 64, 0);
    pread(fd, buf, 1, 0);
    pread(fd, buf, 4 * 4096, 4096);
    char *view = mmap(0, 64 * 4096, PROT_READ, MAP_SHARED, fd, 0);
    char *m = mmap(0, 64 * 4096, PROT_READ, flags, fd, 0);
    madvise(m, 64 * 4096, MADV_POPULATE_READ);
    madvise(m + at * 4096, n * 4096, MADV_PAGEOUT);
    mincore(view, 64 * 4096, vec);
    int s = open("/proc/self/smaps", O_RDONLY);
    while (read(s, smaps, sizeof smaps) > 0)
        ;
    close(s);
    munmap(m, 64 * 4096);
    munmap(view, 64 * 4096);
    close(fd);
    unlink(name);
}

/* MADV_WILLNEED over a file mapping reads every page of its range that is not cached, up to
 * the end of the file: pages never read, and pages a truncation dropped. */
static void willneed(const char *name)
{
    int fd = sparse_file(name, 10, 1);
    char *m = mmap(0, 16 * 4096, PROT_READ, MAP_SHARED, fd, 0);
    madvise(m + 2 * 4096, 4 * 4096, MADV_WILLNEED);
    mincore(m, 10 * 4096, vec);
    ftruncate(fd, 3 * 4096);
    ftruncate(fd, 10 * 4096);
    madvise(m + 4096, 15 * 4096, MADV_WILLNEED);
    mincore(m, 10 * 4096, vec);
    munmap(m, 16 * 4096);
    close(fd);
    unlink(name);
}

int main(void)
{
    willneed("ra-s");
    pageout_of_a_folio("ra-o", MAP_PRIVATE, 5, 2);
    pageout_of_a_folio("ra-p", MAP_PRIVATE, 4, 4);
    pageout_of_a_folio("ra-q", MAP_SHARED, 22, 1);
    pageout_of_a_folio("ra-r", MAP_SHARED, 2, 4);
    write_fault_on_the_mark("ra-i", MAP_SHARED);
    write_fault_on_the_mark("ra-j", MAP_PRIVATE);
    fault_read_around("ra-k", MADV_NORMAL, 2048);
    fault_read_around("ra-l", MADV_RANDOM, 2048);
    fault_read_around("ra-m", MADV_SEQUENTIAL, 0);
    fault_read_around("ra-n", MADV_SEQUENTIAL, 2048);
    fault_on_the_mark("ra-h");
    marked_in_batch("ra-g");
    pattern("ra-a", 16, 1, 0, 3, 3, 3);
    pattern("ra-b", 16, 0, 0, 3, 3, 3);
    pattern("ra-c", 64, 0, 0, 1, 1, 1);
    pattern("ra-d", 64, 0, 10, 2, 12, 2);
    pattern("ra-e", 64, 1, 0, 4, 4, 4);
    pattern("ra-f", 200, 0, 100, 8, 108, 8);
    return 0;
}

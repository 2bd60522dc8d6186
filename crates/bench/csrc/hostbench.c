/* The host side of `mmsim bench --vs-host`: the same workloads as the model runs, done by
 * this process on the real kernel. Usage: hostbench WORKLOAD ARGS...; prints one line
 * "ns OPS" (total nanoseconds of the timed part and how many operations it did).
 * Transparent huge pages are disabled for the process, as the model has none. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#define PAGE 4096UL

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void die(const char *what)
{
    perror(what);
    exit(2);
}

static void *map(void *hint, size_t len, int prot, int flags)
{
    void *p = mmap(hint, len, prot, flags, -1, 0);
    if (p == MAP_FAILED)
        die("mmap");
    return p;
}

static void report(uint64_t ns, uint64_t ops)
{
    printf("%llu %llu\n", (unsigned long long)ns, (unsigned long long)ops);
}

/* Touch (write) every page of a private anonymous mapping. */
static void fault_anon(size_t mb)
{
    size_t len = mb << 20;
    volatile char *p = map(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    uint64_t t = now_ns();
    for (size_t off = 0; off < len; off += PAGE)
        p[off] = 1;
    report(now_ns() - t, len / PAGE);
}

/* Read every page of a file mapping whose pages are in the page cache, `passes` times, each
 * through a new mapping; only the reads are timed. */
static void fault_file(size_t mb, const char *dir, size_t passes)
{
    size_t len = mb << 20;
    char path[4096];
    snprintf(path, sizeof path, "%s/hostbench-file-%d", dir, getpid());
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        die("open");
    static char buf[65536];
    memset(buf, 7, sizeof buf);
    for (size_t off = 0; off < len; off += sizeof buf)
        if (write(fd, buf, sizeof buf) != (ssize_t)sizeof buf)
            die("write");
    unlink(path);
    uint64_t total = 0;
    unsigned sum = 0;
    for (size_t i = 0; i < passes; i++) {
        volatile char *p = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED)
            die("mmap");
        uint64_t t = now_ns();
        for (size_t off = 0; off < len; off += PAGE)
            sum += p[off];
        total += now_ns() - t;
        if (munmap((void *)p, len))
            die("munmap");
    }
    report(total, passes * (len / PAGE));
    if (sum == 12345)
        puts("");
}

/* `live` one-page VMAs that cannot merge, for the map to have that many entries. */
static void make_vmas(size_t live)
{
    for (size_t i = 0; i < live; i++)
        map(NULL, PAGE, (i & 1) ? PROT_READ : PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
}

/* mmap/munmap pairs of 1-16 pages with NULL hints among `live` VMAs. */
static void mmap_munmap(size_t pairs, size_t live)
{
    make_vmas(live);
    uint64_t t = now_ns();
    for (size_t i = 0; i < pairs; i++) {
        size_t len = (1 + next_rand() % 16) * PAGE;
        void *p = map(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
        if (munmap(p, len))
            die("munmap");
    }
    report(now_ns() - t, pairs);
}

/* mprotect of single pages of a 1 GiB mapping, alternating protections: a random page is
 * made read-only (a split in three), then writable again (a merge back into one). */
static void mprotect_split(size_t calls, size_t mb)
{
    size_t pages = (mb << 20) / PAGE;
    char *p = map(NULL, mb << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE);
    size_t page = 0;
    uint64_t t = now_ns();
    for (size_t i = 0; i < calls; i++) {
        if (!(i & 1))
            page = next_rand() % pages;
        if (mprotect(p + page * PAGE, PAGE, (i & 1) ? PROT_READ | PROT_WRITE : PROT_READ))
            die("mprotect");
    }
    report(now_ns() - t, calls);
}

/* fork of a process with `mb` of written private memory; the child writes every page
 * (copy-on-write) and exits; the parent waits. One operation = one page. */
static void fork_exit(size_t mb)
{
    size_t len = mb << 20;
    volatile char *p = map(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    for (size_t off = 0; off < len; off += PAGE)
        p[off] = 1;
    uint64_t t = now_ns();
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        for (size_t off = 0; off < len; off += PAGE)
            p[off] = 2;
        _exit(0);
    }
    int st;
    waitpid(pid, &st, 0);
    report(now_ns() - t, len / PAGE);
}

/* fork of a process with `mb` of written private memory, `forks` times; each child exits at
 * once and the parent waits for it. One operation = one fork, exit and wait. */
static void fork_big(size_t mb, size_t forks)
{
    size_t len = mb << 20;
    volatile char *p = map(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    for (size_t off = 0; off < len; off += PAGE)
        p[off] = 1;
    uint64_t total = 0;
    for (size_t i = 0; i < forks; i++) {
        uint64_t t = now_ns();
        pid_t pid = fork();
        if (pid < 0)
            die("fork");
        if (pid == 0)
            _exit(0);
        int st;
        waitpid(pid, &st, 0);
        total += now_ns() - t;
    }
    report(total, forks);
}

/* With `count` VMAs: mmap(NULL) + munmap + a VMA lookup (madvise NORMAL on a random page of
 * the span the VMAs cover) per operation. The page is computed, not read from a table of the
 * VMAs: a million-entry table would add a cache miss of the benchmark's own to every
 * operation at the big size only. */
static void vma_ops(size_t count, size_t ops)
{
    uintptr_t lo = UINTPTR_MAX, hi = 0;
    for (size_t i = 0; i < count; i++) {
        uintptr_t a = (uintptr_t)map(NULL, PAGE, (i & 1) ? PROT_READ : PROT_READ | PROT_WRITE,
                                     MAP_PRIVATE | MAP_ANONYMOUS);
        lo = a < lo ? a : lo;
        hi = a + PAGE > hi ? a + PAGE : hi;
    }
    size_t pages = (hi - lo) / PAGE;
    uint64_t t = now_ns();
    for (size_t i = 0; i < ops; i++) {
        void *p = map(NULL, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE);
        if (munmap(p, PAGE))
            die("munmap");
        /* A hole in the span (another mapping placed among them) gives ENOMEM after the
         * same lookup. */
        if (madvise((void *)(lo + next_rand() % pages * PAGE), PAGE, MADV_NORMAL) && errno != ENOMEM)
            die("madvise");
    }
    report(now_ns() - t, ops);
}

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif

/* Swap-out: MADV_PAGEOUT of a written private anonymous mapping to the active swap file
 * (the caller set one up); one operation is one page. */
static void swap_out(size_t mb)
{
    size_t len = mb << 20;
    volatile char *p = map(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    for (size_t off = 0; off < len; off += PAGE)
        p[off] = 1;
    uint64_t t = now_ns();
    if (madvise((void *)p, len, MADV_PAGEOUT))
        die("madvise");
    report(now_ns() - t, len / PAGE);
}

/* Swap-in: pages paged out, read back once (from the swap cache) and paged out again
 * (freed: clean in the swap cache), then read in order: major faults with swap readahead
 * from the device. Waits for the writes between the steps. One operation is one page. */
static void swap_in(size_t mb)
{
    size_t len = mb << 20;
    volatile char *p = map(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    for (size_t off = 0; off < len; off += PAGE)
        p[off] = 1;
    if (madvise((void *)p, len, MADV_PAGEOUT))
        die("madvise");
    usleep(300000);
    char sum = 0;
    for (size_t off = 0; off < len; off += PAGE)
        sum += p[off];
    if (madvise((void *)p, len, MADV_PAGEOUT))
        die("madvise");
    usleep(300000);
    uint64_t t = now_ns();
    for (size_t off = 0; off < len; off += PAGE)
        sum += p[off];
    report(now_ns() - t, len / PAGE);
    if (sum == 42)
        fputs("", stderr);
}

int main(int argc, char **argv)
{
    prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
    if (argc < 2)
        return 2;
    const char *w = argv[1];
    size_t a = argc > 2 ? strtoull(argv[2], NULL, 0) : 0;
    size_t b = argc > 3 ? strtoull(argv[3], NULL, 0) : 0;
    if (!strcmp(w, "fault-anon"))
        fault_anon(a);
    else if (!strcmp(w, "fault-file"))
        fault_file(a, argc > 3 ? argv[3] : "/tmp", argc > 4 ? strtoull(argv[4], NULL, 0) : 1);
    else if (!strcmp(w, "mmap-munmap"))
        mmap_munmap(a, b);
    else if (!strcmp(w, "mprotect-split"))
        mprotect_split(a, b);
    else if (!strcmp(w, "fork-exit"))
        fork_exit(a);
    else if (!strcmp(w, "fork-big"))
        fork_big(a, b);
    else if (!strcmp(w, "vma-ops"))
        vma_ops(a, b);
    else if (!strcmp(w, "swap-out"))
        swap_out(a);
    else if (!strcmp(w, "swap-in"))
        swap_in(a);
    else
        return 2;
    return 0;
}

/* Descriptor state a replay must follow: a /proc maps file read, rewound with lseek and read
 * again, read with pread64 at offsets; dup, dup2, dup3, fcntl(F_DUPFD*) sharing one file
 * position; chdir, openat relative to a directory descriptor, fchdir; close_range with and
 * without CLOSE_RANGE_CLOEXEC. Files it maps are named by their full path in its maps, so
 * each path must resolve as the kernel resolved it. Run in a scratch directory. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

static char buf[1 << 16];

static void show_maps(void)
{
    int fd = open("/proc/self/maps", O_RDONLY);
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0)
        write(1, buf, n);
    close(fd);
}

static int make_file(int dirfd, const char *name)
{
    int fd = openat(dirfd, name, O_RDWR | O_CREAT | O_TRUNC, 0600);
    write(fd, "some data\n", 10);
    ftruncate(fd, 2 * 4096);
    return fd;
}

int main(void)
{
    /* A maps file: a short read, a rewind, a full read; pread at 0 and further in. */
    int m = open("/proc/self/maps", O_RDONLY);
    read(m, buf, 100);
    lseek(m, 0, SEEK_SET);
    read(m, buf, sizeof buf);
    void *a = mmap(0, 3 * 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    pread(m, buf, sizeof buf, 0);
    pread(m, buf, 200, 50);
    lseek(m, 0, SEEK_SET);
    read(m, buf, 300);
    /* A duplicate shares the position. */
    int m2 = dup(m);
    read(m2, buf, sizeof buf);
    lseek(m2, 0, SEEK_SET);
    read(m, buf, sizeof buf);
    close(m2);
    close(m);
    munmap(a, 3 * 4096);

    /* Files in a subdirectory: by chdir, by a directory descriptor, by fchdir. */
    mkdir("sub", 0700);
    mkdir("sub/deeper", 0700);
    int dir = open("sub", O_RDONLY | O_DIRECTORY);
    int f1 = make_file(dir, "by-dirfd");
    int deeper = openat(dir, "deeper", O_RDONLY | O_DIRECTORY);
    int f2 = make_file(deeper, "in-deeper");
    chdir("sub");
    int f3 = make_file(AT_FDCWD, "by-chdir");
    fchdir(deeper);
    int f4 = make_file(AT_FDCWD, "by-fchdir");
    chdir("../..");
    char *p1 = mmap(0, 4096, PROT_READ, MAP_SHARED, f1, 0);
    char *p2 = mmap(0, 4096, PROT_READ, MAP_PRIVATE, f2, 4096);
    char *p3 = mmap(0, 2 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, f3, 0);
    char *p4 = mmap(0, 4096, PROT_READ, MAP_SHARED, f4, 0);
    write(1, p1, 10);
    write(1, p3, 10);
    show_maps();

    /* Duplicates keep the file; the mapping is named by it. */
    int d1 = dup(f1);
    int d2 = dup2(f2, 20);
    int d3 = dup3(f3, 21, O_CLOEXEC);
    int d4 = fcntl(f4, F_DUPFD, 30);
    int d5 = fcntl(f1, F_DUPFD_CLOEXEC, 40);
    close(f1);
    close(f2);
    close(f3);
    close(f4);
    mmap(0, 4096, PROT_READ, MAP_SHARED, d1, 0);
    mmap(0, 4096, PROT_READ, MAP_PRIVATE, d2, 0);
    mmap(0, 4096, PROT_READ, MAP_SHARED, d3, 4096);
    mmap(0, 4096, PROT_READ, MAP_SHARED, d4, 0);
    mmap(0, 4096, PROT_READ, MAP_SHARED, d5, 4096);
    show_maps();

    /* close_range: marking close-on-exec keeps the descriptors, closing drops them. */
    close_range(20, 21, CLOSE_RANGE_CLOEXEC);
    mmap(0, 4096, PROT_READ, MAP_PRIVATE, d2, 0);
    close_range(20, 29, 0);
    if (mmap(0, 4096, PROT_READ, MAP_PRIVATE, d2, 0) != MAP_FAILED)
        return 1;
    mmap(0, 4096, PROT_READ, MAP_SHARED, d4, 0);
    close_range(d4, ~0U, 0);
    if (mmap(0, 4096, PROT_READ, MAP_SHARED, d5, 0) != MAP_FAILED)
        return 1;
    mmap(0, 4096, PROT_READ, MAP_SHARED, d1, 0);
    (void)p2;
    (void)p4;
    show_maps();
    return 0;
}

/* A program that touches its mappings only through system calls, so that a replay can check
 * its memory contents and residency exactly: data moves between mappings through pipes and
 * files, never by plain loads or stores. It forks, punches holes with munmap, changes
 * protections, maps a file it wrote, and reads its own maps and smaps. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static const char message[] = "the quick brown fox jumps over the lazy dog";

static void dump(const char *path, char *buf, size_t size)
{
    int fd = open(path, O_RDONLY);
    ssize_t n, total = 0;
    while ((n = read(fd, buf + total, size - total)) > 0)
        total += n;
    close(fd);
    write(1, buf, total);
}

int main(void)
{
    int p[2];
    pipe(p);
    char *a = mmap(0, 16 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *text = mmap(0, 64 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    /* Into the mapping through the pipe, then back out of it. */
    write(p[1], message, sizeof message);
    read(p[0], a + 100, sizeof message);
    write(p[1], a + 100, sizeof message);
    read(p[0], a + 3 * 4096, sizeof message);
    write(1, a + 3 * 4096, sizeof message);
    /* A file written from the mapping and mapped both ways. */
    int fd = open("strict-data", O_RDWR | O_CREAT | O_TRUNC, 0600);
    struct stat st; /* the trace shows the file's device and inode */
    fstat(fd, &st);
    write(fd, a + 100, sizeof message);
    ftruncate(fd, 5 * 4096);
    char *shared = mmap(0, 5 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    char *private = mmap(0, 5 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    write(1, shared, sizeof message);
    write(p[1], message, 10);
    read(p[0], shared + 4096, 10);
    write(1, private + 4096, 10);
    /* fork: the child writes its copy, the parent's stays. */
    pid_t child = fork();
    if (child == 0) {
        write(p[1], "child!", 6);
        read(p[0], a + 100, 6);
        write(1, a + 100, 6);
        _exit(0);
    }
    waitpid(child, 0, 0);
    write(1, a + 100, 6);
    /* Holes and protections. */
    munmap(a + 8 * 4096, 4096);
    mprotect(a + 4 * 4096, 2 * 4096, PROT_READ);
    /* Into a read-only page: the kernel copy faults, read() says EFAULT. */
    write(p[1], "x", 1);
    read(p[0], a + 4 * 4096, 1);
    dump("/proc/self/maps", text, 64 * 4096);
    dump("/proc/self/smaps", text, 64 * 4096);
    unlink("strict-data");
    return 0;
}

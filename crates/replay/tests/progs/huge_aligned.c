/* Anonymous mappings whose lengths are whole huge pages (placed 2 MiB-aligned, top-down or
 * bottom-up), one that is not, then a look at the stack limit (after the mappings, so that a
 * replay meets the placements before it learns the limit), then its own maps. */
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

int main(void) {
    static char buf[65536];
    int anon = MAP_PRIVATE | MAP_ANONYMOUS;
    char *a = mmap(0, 2 << 20, PROT_READ | PROT_WRITE, anon, -1, 0);
    char *b = mmap(0, 4 << 20, PROT_READ | PROT_WRITE, anon, -1, 0);
    char *c = mmap(0, (2 << 20) + 4096, PROT_READ | PROT_WRITE, anon, -1, 0);
    char *d = mmap(0, 2 << 20, PROT_READ, anon, -1, 0);
    a[0] = b[0] = c[0] = 1;
    (void)d;
    struct rlimit r;
    getrlimit(RLIMIT_STACK, &r);
    int fd = open("/proc/self/maps", O_RDONLY);
    ssize_t n = read(fd, buf, sizeof buf);
    if (n > 0)
        write(1, buf, n);
    return 0;
}

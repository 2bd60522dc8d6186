/* Private writable memory the program never writes, which a plain trace cannot tell from
 * memory it writes with plain stores: (1) the upper half of a read-and-exec mapping
 * replaced by a writable one, then the whole made read-only; Linux stops charging
 * anonymous memory that loses PROT_WRITE before any write, so the two halves merge; (2) a
 * mapping a fork copies, next to which the child maps: a copy of memory never written
 * merges with the new neighbour, a copy of written memory (3) does not. Each reads its
 * maps. (4) A page made writable and never written, then made inaccessible with its
 * neighbours: the whole is one VMA again, which mremap (one VMA only) moves; no maps read
 * shows it, the call's success does. (5) The other way: a mapping never written below one
 * written; its upper pages made write-only merge into the written one (and share its
 * anon_vma), then all of it made inaccessible: the never-written page stays a VMA of its
 * own (it has no anon_vma; memory written would have taken its neighbour's), so mremap of
 * the whole fails with EFAULT; the call's failure shows it. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static void read_maps(void) {
    static char buf[1 << 16];
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f || fread(buf, 1, sizeof buf, f) == 0)
        _exit(1);
    fclose(f);
}

static void child_maps_next_to(char *at) {
    pid_t pid = fork();
    if (pid == 0) {
        mmap(at - 8192, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        read_maps();
        _exit(0);
    }
    waitpid(pid, 0, 0);
}

int main(void) {
    /* Each alone in a hole: no neighbour with pages of its own merges with it, and the
     * child's mapping goes right below. */
    char *hole = mmap(0, 1 << 20, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(hole, 1 << 20);
    char *p = mmap(hole + (1 << 18), 24576, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    mmap(p + 12288, 12288, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    mprotect(p, 24576, PROT_READ);
    read_maps();
    char *q = mmap(hole + (1 << 19), 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    child_maps_next_to(q);
    char *r = mmap(hole + (3 << 18), 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(r, 1, 8192);
    child_maps_next_to(r);
    char *s = mmap(hole + (7 << 17), 6 * 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    mprotect(s, 4096, PROT_READ | PROT_WRITE);
    mprotect(s + 2 * 4096, 4 * 4096, PROT_NONE);
    mprotect(s, 6 * 4096, PROT_NONE);
    if (mremap(s, 6 * 4096, 11 * 4096, MREMAP_MAYMOVE) == MAP_FAILED)
        return 2;
    char *base = mmap(hole + (1 << 16), 7 * 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    char *a = mmap(base + 3 * 4096, 4 * 4096, PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    a[0] = 1;
    a[4 * 4096 - 1] = 2;
    char *b = mmap(base, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    mprotect(b + 4096, 2 * 4096, PROT_WRITE);
    mprotect(b, 3 * 4096, PROT_NONE);
    if (mremap(b, 3 * 4096, 12 * 4096, MREMAP_MAYMOVE) != MAP_FAILED)
        return 3;
    return 0;
}

/* A process a trace attaches to, with memory made before the attach that Linux does not
 * merge with a plain new neighbour although maps shows nothing that tells them apart
 * (MAP_NORESERVE here; flags maps does not show, or an anon_vma a fork passed down, do
 * the same in real programs such as node). After the attach, a mapping placed by a hint
 * right below it stays apart; one more below that merges with it; maps is read after
 * each. */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static void read_maps(void) {
    static char buf[65536];
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f || fread(buf, 1, sizeof buf, f) == 0)
        _exit(1);
    fclose(f);
}

int main(void) {
    /* Alone in a hole of 1 MiB, so that the mappings after the attach, placed by a hint
     * right below it, go there. */
    char *hole = mmap(0, 1 << 20, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *keep = mmap(hole + (1 << 19), 8192, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
    memset(keep, 1, 8192);
    munmap(hole, 1 << 19);
    munmap(keep + 8192, (1 << 19) - 8192);
    write(1, "ready\n", 6);
    char line[16];
    if (read(0, line, sizeof line) <= 0)
        return 1;
    char *p = mmap(keep - 65536, 65536, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    p[0] = 1;
    read_maps();
    char *q = mmap(p - 65536, 65536, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    q[0] = 1;
    read_maps();
    return 0;
}

/* A process a trace attaches to, whose memory from before the attach an mlock splits and
 * an munlock joins again: it maps three pages and writes them, says "ready", waits for a
 * line on stdin, then locks the middle page (three mappings), reads its maps, unlocks it
 * (one mapping again) and reads its maps again. */
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
    char *keep = mmap(0, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(keep, 1, 3 * 4096);
    write(1, "ready\n", 6);
    char line[16];
    if (read(0, line, sizeof line) <= 0)
        return 1;
    if (mlock(keep + 4096, 4096) != 0)
        return 1;
    read_maps();
    munlock(keep + 4096, 4096);
    read_maps();
    return 0;
}

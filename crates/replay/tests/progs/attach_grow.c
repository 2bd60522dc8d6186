/* A process a trace attaches to after it allocated a block large enough for malloc to map
 * on its own: it says "ready", waits for a line on stdin (the test attaches strace -p
 * meanwhile), then grows the block six times with realloc, which glibc does with mremap
 * (moving it when the pages above are taken). The trace never shows the block mapped. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void) {
    size_t len = 1 << 20;
    char *p = malloc(len);
    memset(p, 1, len);
    printf("ready\n");
    fflush(stdout);
    char line[16];
    if (!fgets(line, sizeof line, stdin))
        return 1;
    for (int i = 0; i < 6; i++) {
        len += len / 2;
        p = realloc(p, len);
        memset(p, i, len);
    }
    free(p);
    return 0;
}

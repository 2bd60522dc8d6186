/* Grows a buffer by doubling with realloc: past the mmap threshold glibc grows it with
 * mremap(MREMAP_MAYMOVE), which moves it when the pages above are taken. */
#include <stdlib.h>
#include <string.h>

int main(void) {
    size_t len = 200 << 10;
    char *p = malloc(len);
    char *guard = malloc(300 << 10);
    for (int i = 0; i < 5; i++) {
        memset(p, i, len);
        len *= 2;
        p = realloc(p, len);
    }
    free(guard);
    free(p);
    return 0;
}

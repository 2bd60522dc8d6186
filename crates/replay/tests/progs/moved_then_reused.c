/* Moves a mapping with mremap and maps again where it was: the kernel puts the new mapping
 * in the hole the move left. Under `strace -e trace=mmap,munmap` the mremap is hidden, and
 * the second mmap lands on a mapping the trace never showed going away. */
#define _GNU_SOURCE
#include <string.h>
#include <sys/mman.h>

int main(void) {
    size_t len = 1 << 20;
    int prot = PROT_READ | PROT_WRITE, flags = MAP_PRIVATE | MAP_ANONYMOUS;
    char *above = mmap(NULL, len, prot, flags, -1, 0);
    char *moved = mmap(NULL, len, prot, flags, -1, 0);
    memset(moved, 1, len);
    /* The pages above are taken: growing it moves it. */
    moved = mremap(moved, len, 4 * len, MREMAP_MAYMOVE);
    char *again = mmap(NULL, len, prot, flags, -1, 0);
    memset(again, 2, len);
    munmap(again, len);
    munmap(moved, 4 * len);
    munmap(above, len);
    return 0;
}

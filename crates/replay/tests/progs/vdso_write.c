/* Writes its own [vdso] (found in /proc/self/maps) to stdout with one write(2), touching no
 * memory with stores, so that a --strict replay compares the kernel's vDSO image byte for
 * byte with the model's. Built with gcc -m32 it is the compat (vdso32) image. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static char maps[1 << 16];

int main(void)
{
    int fd = open("/proc/self/maps", O_RDONLY);
    long n = read(fd, maps, sizeof maps - 1);
    close(fd);
    for (char *line = maps; n > 0 && line < maps + n; line = strchr(line, '\n') + 1) {
        char *eol = strchr(line, '\n');
        unsigned long start, end;
        if (eol - line >= 6 && memcmp(eol - 6, "[vdso]", 6) == 0 && sscanf(line, "%lx-%lx", &start, &end) == 2)
            return write(1, (void *)start, end - start) != (long)(end - start);
    }
    return 1;
}

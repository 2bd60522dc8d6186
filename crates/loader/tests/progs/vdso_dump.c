/* Writes its own vDSO to stdout: "vdso START END\n", the bytes of [vdso] (its code pages,
 * found in /proc/self/maps), then "auxv EHDR\n" (AT_SYSINFO_EHDR) and "maps LEN\n" with the
 * maps text. Built with gcc -m32 it shows what an ia32 compat process gets. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

static char maps[1 << 16];

int main(void)
{
    int fd = open("/proc/self/maps", O_RDONLY);
    long n = 0, r;
    while ((r = read(fd, maps + n, sizeof maps - 1 - n)) > 0)
        n += r;
    close(fd);
    maps[n] = 0;
    unsigned long start = 0, end = 0;
    for (char *line = maps; *line; line = strchr(line, '\n') + 1) {
        char *eol = strchr(line, '\n');
        if (eol - line >= 6 && memcmp(eol - 6, "[vdso]", 6) == 0) {
            sscanf(line, "%lx-%lx", &start, &end);
            break;
        }
    }
    printf("vdso %lx %lx\n", start, end);
    fflush(stdout);
    if (end > start)
        write(1, (void *)start, end - start);
    printf("auxv %lx\nmaps %lx\n", getauxval(AT_SYSINFO_EHDR), n);
    fflush(stdout);
    write(1, maps, (size_t)n);
    return 0;
}

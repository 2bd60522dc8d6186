/* Prints this process's vDSO for the golden files: its /proc/self/maps line, AT_SYSINFO_EHDR
 * and AT_SYSINFO, then the bytes of [vdso], 32 to a line in hex (the image the model's i386
 * profiles map). Static, so that nothing but the kernel decides what it prints. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

static char maps[1 << 16];

int main(void)
{
    int fd = open("/proc/self/maps", O_RDONLY);
    long n = read(fd, maps, sizeof maps - 1);
    close(fd);
    if (n <= 0)
        return 1;
    maps[n] = 0;
    for (char *line = maps; *line; line = strchr(line, '\n') + 1) {
        char *eol = strchr(line, '\n');
        unsigned long start, end;
        if (eol - line < 6 || memcmp(eol - 6, "[vdso]", 6) != 0 || sscanf(line, "%lx-%lx", &start, &end) != 2)
            continue;
        printf("%.*s\n", (int)(eol - line), line);
        printf("AT_SYSINFO_EHDR %lx\nAT_SYSINFO %lx\n", getauxval(AT_SYSINFO_EHDR), getauxval(AT_SYSINFO));
        const unsigned char *p = (const unsigned char *)start;
        for (unsigned long i = 0; i < end - start; i++)
            printf("%02x%s", p[i], i % 32 == 31 ? "\n" : "");
        return 0;
    }
    return 1;
}

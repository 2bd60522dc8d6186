/* Runs itself again through /proc/self/exe (as programs that re-exec themselves do), and
   the second image reads its maps and asks the kernel for the machine's memory (sysinfo). */
#include <fcntl.h>
#include <sys/sysinfo.h>
#include <unistd.h>

int main(int argc, char **argv) {
    static char buf[65536];
    if (argc == 1) {
        char *again[] = {argv[0], "again", 0};
        execv("/proc/self/exe", again);
        return 2;
    }
    struct sysinfo si;
    if (sysinfo(&si) != 0)
        return 3;
    int fd = open("/proc/self/maps", O_RDONLY);
    return read(fd, buf, sizeof buf) <= 0;
}

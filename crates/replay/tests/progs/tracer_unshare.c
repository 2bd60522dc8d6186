/* A child forked after its parent filled two pages writes one of them to /dev/null: strace
 * reads the buffer to print it (process_vm_readv), which pins the page for reading, and the
 * kernel first gives the child its own copy of a page it shares with its parent. Both
 * read their smaps (the child's page: Private_Dirty on 6.18.44, Private_Clean on an earlier
 * 6.18 build; not Shared_Dirty). Memory is touched
 * through system calls only; the mapping is executable too, so that it merges with no
 * neighbour. */
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static char text[1 << 16];

static void read_smaps(void) {
    int fd = open("/proc/self/smaps", O_RDONLY);
    while (read(fd, text, sizeof text) > 0)
        ;
    close(fd);
}

int main(void) {
    char *p = mmap(0, 8192, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    int maps = open("/proc/self/maps", O_RDONLY);
    if (read(maps, p, 8192) <= 0)
        return 1;
    close(maps);
    pid_t child = fork();
    if (child == 0) {
        int null = open("/dev/null", O_WRONLY);
        write(null, p, 100);
        read_smaps();
        _exit(0);
    }
    waitpid(child, 0, 0);
    read_smaps();
    return 0;
}

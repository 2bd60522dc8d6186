/* Reads its own maps and nothing else: built static, nothing is mapped below the vDSO. */
#include <fcntl.h>
#include <unistd.h>

int main(void) {
    static char buf[65536];
    int fd = open("/proc/self/maps", O_RDONLY);
    return read(fd, buf, sizeof buf) <= 0;
}

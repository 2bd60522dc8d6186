/* A thread changes the directory of the whole process (threads share it); the main thread
 * then opens a file by a relative path, maps it and reads its maps, which name it by its
 * full path. */
#include <fcntl.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static void *go(void *arg)
{
    (void)arg;
    chdir("sub");
    return 0;
}

int main(void)
{
    static char buf[1 << 16];
    mkdir("sub", 0700);
    pthread_t t;
    pthread_create(&t, 0, go, 0);
    pthread_join(t, 0);
    int fd = open("file", O_RDWR | O_CREAT | O_TRUNC, 0600);
    ftruncate(fd, 4096);
    mmap(0, 4096, PROT_READ, MAP_SHARED, fd, 0);
    int m = open("/proc/self/maps", O_RDONLY);
    while (read(m, buf, sizeof buf) > 0)
        ;
    return 0;
}

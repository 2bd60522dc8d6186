/* Reads of /proc/self/maps as programs make them: the whole text in reads of 16 KiB until
 * the end, with more than a page of text, so that the kernel returns it a page of lines at a
 * time and plain strace shows only the first 32 bytes of each read. With "threads", four
 * threads map, touch and unmap shared anonymous memory (each object with its inode number
 * from the machine-wide counter) while the others read. With "stack", the program finds
 * where the [stack] line begins in its text and reads from there after an lseek: the only
 * thing the log shows of the stack is then the start of that line. */
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static void read_maps(void) {
    static __thread char buf[16384];
    int fd = open("/proc/self/maps", O_RDONLY);
    while (read(fd, buf, sizeof buf) > 0)
        ;
    close(fd);
}

static void *worker(void *arg) {
    long i = (long)arg;
    for (int j = 0; j < 12; j++) {
        char *p = mmap(0, 4096 * (i + 1), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        p[0] = 1;
        read_maps();
        munmap(p, 4096 * (i + 1));
    }
    return 0;
}

int main(int argc, char **argv) {
    /* Eighty mappings that cannot merge: more than a page of maps text. */
    for (int i = 0; i < 80; i++)
        mmap(0, 4096, i % 2 ? PROT_READ : PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    read_maps();
    if (argc > 1 && strcmp(argv[1], "stack") == 0) {
        static char text[65536];
        int fd = open("/proc/self/maps", O_RDONLY);
        ssize_t n, len = 0;
        while ((n = read(fd, text + len, sizeof text - 1 - len)) > 0)
            len += n;
        text[len] = 0;
        char *stack = strstr(text, "[stack]");
        while (stack && stack > text && stack[-1] != '\n')
            stack--;
        if (stack) {
            lseek(fd, stack - text, SEEK_SET);
            read(fd, text, 4096);
        }
        close(fd);
    }
    if (argc > 1 && strcmp(argv[1], "threads") == 0) {
        pthread_t t[4];
        for (long i = 0; i < 4; i++)
            pthread_create(&t[i], 0, worker, (void *)i);
        for (int i = 0; i < 4; i++)
            pthread_join(t[i], 0);
    }
    read_maps();
    return 0;
}

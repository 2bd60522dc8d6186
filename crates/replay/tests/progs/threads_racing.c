/* Three threads at once each allocate, write and read /proc/self/maps; then the main thread does. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <fcntl.h>
#include <unistd.h>
static void *work(void *arg) { char *p = malloc(100000); p[0] = 1; int fd = open("/proc/self/maps", O_RDONLY); char buf[65536]; ssize_t n = read(fd, buf, sizeof buf); close(fd); (void)n; return p; }
int main(void) { pthread_t t[3]; for (int i = 0; i < 3; i++) pthread_create(&t[i], 0, work, 0); for (int i = 0; i < 3; i++) pthread_join(t[i], 0); int fd = open("/proc/self/maps", O_RDONLY); char buf[65536]; ssize_t n = read(fd, buf, sizeof buf); write(1, buf, n); return 0; }

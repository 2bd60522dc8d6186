/* Three threads, one after another, each allocate, write and read /proc/self/maps while the
 * main thread waits for it; then the main thread does. One at a time, because a trace of
 * threads racing on their mappings does not tell the order the kernel took them in (see
 * the replay's notes on concurrent calls); threads_racing.c is the racing kind. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <fcntl.h>
#include <unistd.h>
static void *work(void *arg) { char *p = malloc(100000); p[0] = 1; int fd = open("/proc/self/maps", O_RDONLY); char buf[65536]; ssize_t n = read(fd, buf, sizeof buf); close(fd); (void)n; return p; }
int main(void) { pthread_t t[3]; for (int i = 0; i < 3; i++) { pthread_create(&t[i], 0, work, 0); pthread_join(t[i], 0); } int fd = open("/proc/self/maps", O_RDONLY); char buf[65536]; ssize_t n = read(fd, buf, sizeof buf); write(1, buf, n); return 0; }

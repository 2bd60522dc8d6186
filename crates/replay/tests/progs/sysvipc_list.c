/* Makes two SysV segments (one under a key, one attached with two of its three pages
 * written), then prints the lines of /proc/sysvipc/shm that are its own, each after the
 * segment's name ("a" or "k") so that a test can compare them with the model's. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/ipc.h>
#include <sys/shm.h>

int main(void) {
    int a = shmget(IPC_PRIVATE, 10000, IPC_CREAT | 0640);
    int k = shmget(0x5f000000 | (getpid() & 0xffff), 5000, IPC_CREAT | 0600);
    char *p = shmat(a, 0, 0);
    p[0] = 1;
    p[5000] = 2;
    FILE *f = fopen("/proc/sysvipc/shm", "r");
    char line[512];
    while (fgets(line, sizeof line, f)) {
        int key, id;
        if (sscanf(line, "%d %d", &key, &id) == 2 && (id == a || id == k))
            printf("%s %s", id == a ? "a" : "k", line);
    }
    fclose(f);
    shmdt(p);
    shmctl(a, IPC_RMID, 0);
    shmctl(k, IPC_RMID, 0);
    return 0;
}

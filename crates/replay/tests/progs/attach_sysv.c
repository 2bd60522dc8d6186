/* A process a trace attaches to that has SysV segments attached from before: two segments
 * (one of them under a key, one removed already), three attaches, one of them cut in two by
 * mprotect. It says "ready", waits for a line on stdin, then reads its maps, looks a segment
 * up by its key, asks for its state, detaches everything (a piece at a time for the cut
 * one), attaches one again, and reads its maps again. */
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <unistd.h>

static void read_maps(void) {
    static char buf[65536];
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f || fread(buf, 1, sizeof buf, f) == 0)
        _exit(1);
    fclose(f);
}

int main(void) {
    key_t key = 0x5e000000 | (getpid() & 0xffff);
    int a_id = shmget(key, 5 * 4096, IPC_CREAT | 0600);
    int b_id = shmget(IPC_PRIVATE, 3 * 4096, IPC_CREAT | 0600);
    char *a = shmat(a_id, 0, 0);
    char *a2 = shmat(a_id, 0, SHM_RDONLY);
    char *b = shmat(b_id, 0, 0);
    memset(a, 1, 5 * 4096);
    b[0] = 1;
    mprotect(a + 2 * 4096, 4096, PROT_READ);
    shmctl(b_id, IPC_RMID, 0);
    write(1, "ready\n", 6);
    char line[16];
    if (read(0, line, sizeof line) <= 0)
        return 1;
    read_maps();
    if (shmget(key, 0, 0) != a_id)
        return 1;
    struct shmid_ds ds;
    shmctl(a_id, IPC_STAT, &ds);
    shmdt(a);
    shmdt(a2);
    shmdt(b);
    shmat(b_id, 0, 0); /* EINVAL: removed, and its last attach gone */
    char *again = shmat(a_id, 0, 0);
    read_maps();
    shmdt(again);
    shmctl(a_id, IPC_RMID, 0);
    return 0;
}

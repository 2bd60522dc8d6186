/* The bytes shmctl(IPC_STAT) copies out, in each layout this program's ABI can ask for.
 * Makes a private segment of argv[1] bytes with mode 0600, attaches it once, and prints
 * its pid, then one line per layout: its name and the struct's bytes in hex.
 * 64-bit: the direct shmctl (struct shmid64_ds of x86-64). 32-bit (gcc -m32): the ipc()
 * multiplexer with IPC_64 (the 32-bit struct shmid64_ds), without it (the old struct
 * shmid_ds), and the direct shmctl (IPC_64's layout without the flag). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <unistd.h>

static void dump(const char *name, const unsigned char *b, int n) {
    printf("%s ", name);
    for (int i = 0; i < n; i++) printf("%02x", b[i]);
    printf("\n");
}

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: %s SIZE\n", argv[0]); return 2; }
    int id = shmget(IPC_PRIVATE, strtoul(argv[1], 0, 0), IPC_CREAT | 0600);
    if (id < 0) { perror("shmget"); return 1; }
    void *at = shmat(id, 0, 0);
    if (at == (void *)-1) { perror("shmat"); return 1; }
    printf("pid %d id %d\n", getpid(), id);
    unsigned char b[256];
#ifdef __x86_64__
    memset(b, 0xee, sizeof b);
    if (syscall(SYS_shmctl, id, IPC_STAT, b)) { perror("shmctl"); return 1; }
    dump("native64", b, 112);
#else
    /* ipc(SHMCTL = 24, id, cmd, 0, buf) */
    memset(b, 0xee, sizeof b);
    if (syscall(SYS_ipc, 24, id, IPC_STAT | 0x100, 0, b)) { perror("ipc IPC_64"); return 1; }
    dump("ipc64x32", b, 84);
    memset(b, 0xee, sizeof b);
    if (syscall(SYS_ipc, 24, id, IPC_STAT, 0, b)) { perror("ipc"); return 1; }
    dump("old32", b, 48);
    memset(b, 0xee, sizeof b);
    if (syscall(SYS_shmctl, id, IPC_STAT, b)) { perror("shmctl"); return 1; }
    dump("direct32", b, 84);
#endif
    shmdt(at);
    shmctl(id, IPC_RMID, 0);
    return 0;
}

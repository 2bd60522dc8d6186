/* Who a SysV segment's shm_lpid names after each kind of attach change: the attach, a
 * fork, the child's exit, a second child's munmap of a page and exit, the parent's
 * mprotect splitting an attach. Prints one line per step: its name, the role of the
 * process shm_lpid names (parent, child, child2 or other) and shm_nattch. */
#include <stdio.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>

static pid_t parent, child, child2;

static void step(int id, const char *name) {
    struct shmid_ds d;
    if (shmctl(id, IPC_STAT, &d)) { perror("shmctl"); _exit(1); }
    const char *who = d.shm_lpid == parent ? "parent" : d.shm_lpid == child ? "child"
                    : d.shm_lpid == child2 ? "child2" : "other";
    printf("%s %s %lu\n", name, who, (unsigned long)d.shm_nattch);
    fflush(stdout);
}

int main(void) {
    parent = getpid();
    int id = shmget(IPC_PRIVATE, 3 * 4096, IPC_CREAT | 0600);
    if (id < 0) { perror("shmget"); return 1; }
    char *a = shmat(id, 0, 0);
    if (a == (char *)-1) { perror("shmat"); return 1; }
    step(id, "attach");
    int go[2];
    if (pipe(go)) return 1;
    child = fork();
    if (!child) { char c; (void)!read(go[0], &c, 1); _exit(0); }
    step(id, "fork");
    (void)!write(go[1], "x", 1);
    waitpid(child, 0, 0);
    step(id, "child-exit");
    child2 = fork();
    if (!child2) { munmap(a + 4096, 4096); _exit(0); }
    waitpid(child2, 0, 0);
    step(id, "child2-munmap-exit");
    mprotect(a + 4096, 4096, PROT_READ);
    step(id, "mprotect-split");
    shmdt(a);
    shmctl(id, IPC_RMID, 0);
    return 0;
}

/* SysV shared memory: segments made, attached where the kernel chooses, at an address,
 * read-only, executable, over another mapping; cut up by mprotect and munmap, detached a
 * piece at a time; shared with a child; removed while attached and attached again; the
 * calls that fail, each for its own reason. Memory moves only through system calls (pipes,
 * /proc reads), so a strict replay can check contents and residency; the maps and smaps
 * reads show the segments' names, inode numbers (their identifiers) and pages. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>

static char buf[1 << 17];

static void show(const char *path)
{
    int fd = open(path, O_RDONLY);
    ssize_t n, total = 0;
    while ((n = read(fd, buf + total, sizeof buf - total)) > 0)
        total += n;
    close(fd);
}

int main(void)
{
    int p[2];
    pipe(p);
    /* Keys are machine-wide: one of this process's own. */
    key_t key = 0x5d000000 | (getpid() & 0xffff);
    int a_id = shmget(IPC_PRIVATE, 10000, IPC_CREAT | 0600);
    int k_id = shmget(key, 5000, IPC_CREAT | 0600);
    int big_id = shmget(IPC_PRIVATE, 4 << 20, IPC_CREAT | SHM_NORESERVE | 0600);
    /* Failures: no size, the key taken, a key nobody made, more than the segment holds. */
    shmget(IPC_PRIVATE, 0, IPC_CREAT | 0600);
    shmget(key, 4096, IPC_CREAT | IPC_EXCL | 0600);
    shmget(key ^ 0x10000, 4096, 0600);
    shmget(key, 8192, 0600);
    shmget(key, 0, 0);

    char *a = shmat(a_id, 0, 0);
    char *k = shmat(k_id, 0, SHM_RDONLY);
    char *x = shmat(k_id, 0, SHM_RDONLY | SHM_EXEC);
    char *big = shmat(big_id, 0, 0);
    /* An anonymous mapping to attach at and over. */
    char *anon = mmap(0, 8 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(anon, 8 * 4096);
    char *at = shmat(a_id, anon, 0);
    shmat(a_id, anon + 4096, 0);               /* EINVAL: something is there */
    shmat(a_id, anon + 4096 + 7, 0);           /* EINVAL: not aligned */
    shmat(a_id, anon + 4 * 4096 + 7, SHM_RND); /* rounded down into the hole */
    shmat(a_id, anon + 4096, SHM_REMAP);       /* over the first attach */
    shmat(a_id, 0, SHM_REMAP);                 /* EINVAL: replacing nothing */
    shmat(a_id, (void *)0x7ffffffff000, 0);    /* ENOMEM: past the top */
    shmat(-1, 0, 0);
    shmat(0x7ff0ffff, 0, 0);

    /* Bytes into the segment through the pipe; the other attaches see them. */
    write(p[1], "shared memory", 13);
    read(p[0], a + 100, 13);
    write(p[1], at + 100, 13);
    read(p[0], big + 3 * 4096, 13);
    write(1, big + 3 * 4096, 13);
    mprotect(k, 4096, PROT_READ | PROT_WRITE); /* EACCES: attached read-only */
    mprotect(a + 4096, 4096, PROT_READ);
    struct shmid_ds ds;
    shmctl(a_id, IPC_STAT, &ds);
    show("/proc/self/maps");
    show("/proc/self/smaps");

    pid_t child = fork();
    if (child == 0) {
        write(p[1], "child", 5);
        read(p[0], a + 200, 5);
        shmdt(big);
        show("/proc/self/maps");
        _exit(0);
    }
    waitpid(child, 0, 0);
    write(p[1], a + 200, 5);
    read(p[0], buf, 5);
    shmctl(a_id, IPC_STAT, &ds);

    /* Detach a piece at a time: the first page gone, the rest found from the start. */
    munmap(a, 4096);
    shmdt(a + 4096); /* EINVAL: no piece starts its segment there */
    shmdt(a);
    shmdt(a);        /* EINVAL: nothing left */
    shmdt(a + 1);
    shmctl(a_id, IPC_RMID, 0);
    char *again = shmat(a_id, 0, 0); /* still attached elsewhere: allowed */
    shmctl(a_id, IPC_STAT, &ds);
    show("/proc/self/maps");
    shmdt(again);
    shmdt(at);            /* only the first page: the attach over it is another one */
    shmdt(anon + 4 * 4096);
    char *last = shmat(a_id, 0, 0); /* the attach over the first still holds it */
    shmdt(last);
    shmdt(anon + 4096);
    shmat(a_id, 0, 0); /* EINVAL: the last attach went, and the segment with it */
    shmctl(a_id, IPC_RMID, 0);
    /* A piece of an attach moved away and back into its hole: it joins the piece before it
     * only (the one after has a close hook, so it is never merged away). */
    int m_id = shmget(IPC_PRIVATE, 4 * 4096, IPC_CREAT | 0600);
    char *m = shmat(m_id, 0, 0);
    char *away = mmap(0, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(away, 4096);
    mremap(m + 4096, 4096, 4096, MREMAP_MAYMOVE | MREMAP_FIXED, away);
    mremap(away, 4096, 4096, MREMAP_MAYMOVE | MREMAP_FIXED, m + 4096);
    shmctl(m_id, IPC_STAT, &ds);
    show("/proc/self/maps");
    shmdt(m);
    shmctl(m_id, IPC_RMID, 0);
    shmctl(k_id, IPC_RMID, 0);
    shmctl(big_id, IPC_RMID, 0);
    shmctl(big_id, 99, 0);
    show("/proc/self/maps");
    shmdt(x);
    shmdt(k);
    shmdt(big);
    show("/proc/self/maps");
    return 0;
}

/* SysV segments under MADV_PAGEOUT with swap: one locked with SHM_LOCK (its pages stay
 * resident), one not (its pages go to swap); then the lock is taken off and the first goes
 * too; the bytes come back through system calls (swap-in). mincore and smaps show where
 * every page is. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <unistd.h>

#define PAGES 8
static char buf[1 << 17];
static unsigned char vec[PAGES];

static void show(const char *path)
{
    int fd = open(path, O_RDONLY);
    ssize_t n, total = 0;
    while ((n = read(fd, buf + total, sizeof buf - total)) > 0)
        total += n;
    close(fd);
}

/* Fills every page of `at` through a pipe (the kernel writes them: no plain stores). */
static void fill(int p[2], char *at)
{
    for (int i = 0; i < PAGES; i++) {
        write(p[1], "page of a segment", 17);
        read(p[0], at + i * 4096, 17);
    }
}

int main(void)
{
    int p[2];
    pipe(p);
    int locked_id = shmget(IPC_PRIVATE, PAGES * 4096, IPC_CREAT | 0600);
    int free_id = shmget(IPC_PRIVATE, PAGES * 4096, IPC_CREAT | 0600);
    shmctl(locked_id, SHM_LOCK, 0);
    char *locked = shmat(locked_id, 0, 0);
    char *loose = shmat(free_id, 0, 0);
    fill(p, locked);
    fill(p, loose);
    madvise(locked, PAGES * 4096, MADV_PAGEOUT);
    madvise(loose, PAGES * 4096, MADV_PAGEOUT);
    mincore(locked, PAGES * 4096, vec);
    mincore(loose, PAGES * 4096, vec);
    show("/proc/self/smaps");
    shmctl(locked_id, SHM_UNLOCK, 0);
    madvise(locked, PAGES * 4096, MADV_PAGEOUT);
    mincore(locked, PAGES * 4096, vec);
    show("/proc/self/smaps");
    /* Back from swap: the kernel reads the pages to copy them out. */
    write(p[1], locked + 3 * 4096, 17);
    read(p[0], buf, 17);
    write(p[1], loose + 5 * 4096, 17);
    read(p[0], buf, 17);
    mincore(locked, PAGES * 4096, vec);
    mincore(loose, PAGES * 4096, vec);
    show("/proc/self/smaps");
    shmdt(locked);
    shmdt(loose);
    shmctl(locked_id, IPC_RMID, 0);
    shmctl(free_id, IPC_RMID, 0);
    return 0;
}

/* Makes a memory cgroup limited to 8 MiB of memory (and of memory+swap, or no swap on v2),
 * reads its limits back, and runs two children in it. Each child moves itself into the
 * group (writing 0 to cgroup.procs) and maps memory: the first 32 MiB, which its group's
 * OOM killer ends it in; the second 2 MiB, after which it reads the group's usage and
 * statistics and exits; the third 4 MiB, after which it lowers the group's limit to 1 MiB
 * (v1 refuses with EBUSY, as no reclaim frees anonymous memory without swap; v2 sets it
 * and its OOM killer ends the writer). Between them the parent reads the group's OOM
 * counts and peak; last it reads who is left in the group and removes it. It reads
 * /proc/swaps first, so that a replay knows whether the machine swaps, and the list of
 * online CPUs, each of which may keep a charge batch of the group (usage reads count it).
 *
 * With argument "populate" the children fill their memory with MAP_POPULATE, in the
 * kernel (a replay can follow that exactly: `--strict`); otherwise with memset, in the
 * program, as most programs do. With argument "hog" it only maps 32 MiB and writes it, in
 * whatever group it runs (for a shell that put it in one). Works on cgroup v1 and v2;
 * needs root. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char group[256];
static int v1, populate;

static void put(const char *file, const char *value)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", group, file);
    int fd = open(path, O_WRONLY);
    if (fd < 0)
        return;
    write(fd, value, strlen(value));
    close(fd);
}

static void show(const char *file)
{
    char path[512], buf[8192];
    snprintf(path, sizeof path, "%s/%s", group, file);
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return;
    while (read(fd, buf, sizeof buf) > 0)
        ;
    close(fd);
}

static void child(size_t bytes, int look, int lower)
{
    pid_t pid = fork();
    if (pid == 0) {
        put("cgroup.procs", "0\n");
        int flags = MAP_PRIVATE | MAP_ANONYMOUS | (populate ? MAP_POPULATE : 0);
        char *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, flags, -1, 0);
        if (!populate)
            memset(p, 0x5a, bytes);
        if (look) {
            show(v1 ? "memory.usage_in_bytes" : "memory.current");
            show("memory.stat");
        }
        if (lower) {
            put(v1 ? "memory.limit_in_bytes" : "memory.max", "1M\n");
            show(v1 ? "memory.limit_in_bytes" : "memory.max");
        }
        munmap(p, bytes);
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
}

static void show_path(const char *path)
{
    char buf[8192];
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return;
    while (read(fd, buf, sizeof buf) > 0)
        ;
    close(fd);
}

int main(int argc, char **argv)
{
    struct stat st;
    populate = argc > 1 && strcmp(argv[1], "populate") == 0;
    if (argc > 1 && strcmp(argv[1], "hog") == 0) {
        char *p = mmap(NULL, 32 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        memset(p, 0x5a, 32 << 20);
        return 0;
    }
    show_path("/proc/swaps");
    show_path("/sys/devices/system/cpu/online");
    v1 = stat("/sys/fs/cgroup/memory", &st) == 0;
    snprintf(group, sizeof group, "%s/mmsim-oom-%d", v1 ? "/sys/fs/cgroup/memory" : "/sys/fs/cgroup", getpid());
    if (mkdir(group, 0755) != 0)
        return 1;
    if (v1) {
        put("memory.limit_in_bytes", "8M\n");
        put("memory.memsw.limit_in_bytes", "8M\n");
        show("memory.limit_in_bytes");
        show("memory.memsw.limit_in_bytes");
    } else {
        put("memory.max", "8M\n");
        put("memory.swap.max", "0\n");
        show("memory.max");
        show("memory.swap.max");
    }
    child(32 << 20, 0, 0);
    show(v1 ? "memory.oom_control" : "memory.events");
    show(v1 ? "memory.max_usage_in_bytes" : "memory.peak");
    child(2 << 20, 1, 0);
    show(v1 ? "memory.oom_control" : "memory.events");
    child(4 << 20, 0, 1);
    show(v1 ? "memory.oom_control" : "memory.events");
    show("cgroup.procs");
    return rmdir(group) != 0;
}

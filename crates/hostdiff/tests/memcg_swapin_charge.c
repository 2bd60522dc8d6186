/* A page comes back from swap charged to the memory cgroup its swap slot records, not to
 * the faulting task's. Joins group A (its cgroup.procs is argv[1]), writes N private
 * anonymous pages and pages them out; once their writes are done it reads them back (from
 * the swap cache) and pages them out again, which frees them at once (clean, their slots
 * hold them), and forks. The child joins group B (argv[2]), reads the pages (swap-ins of
 * pages its parent swapped out), then writes them (copies on write, charged to B). After
 * each step it prints the mapped anonymous pages of A and of B, from the memory.stat
 * files argv[3] and argv[4], whose key for them is argv[5] ("rss" in v1, "anon" in v2). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define N 256
#define PAGE 4096

static void join(const char *procs)
{
    FILE *f = fopen(procs, "w");
    if (!f || fprintf(f, "%d", getpid()) < 0 || fclose(f)) {
        perror("join");
        exit(2);
    }
}

static long key(const char *stat, const char *name)
{
    char k[64];
    long v, found = -1;
    FILE *f = fopen(stat, "r");
    while (f && fscanf(f, "%63s %ld", k, &v) == 2)
        if (strcmp(k, name) == 0) {
            found = v / PAGE;
            break;
        }
    if (f)
        fclose(f);
    return found;
}

static char **arg;

static void show(const char *step)
{
    printf("%s %ld %ld\n", step, key(arg[3], arg[5]), key(arg[4], arg[5]));
    fflush(stdout);
}

int main(int argc, char **argv)
{
    if (argc != 6)
        return 2;
    arg = argv;
    join(argv[1]);
    char *p = mmap(0, N * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    volatile long sum = 0;
    for (int i = 0; i < N; i++)
        p[i * PAGE] = 1;
    madvise(p, N * PAGE, MADV_PAGEOUT);
    usleep(200 * 1000);
    for (int i = 0; i < N; i++)
        sum += p[i * PAGE];
    madvise(p, N * PAGE, MADV_PAGEOUT);
    show("paged-out");
    pid_t c = fork();
    if (c == 0) {
        join(argv[2]);
        for (int i = 0; i < N; i++)
            sum += p[i * PAGE];
        show("child-read");
        for (int i = 0; i < N; i++)
            p[i * PAGE] = 3;
        show("child-wrote");
        _exit(0);
    }
    int status;
    waitpid(c, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

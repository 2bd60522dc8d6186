/* Page-table pages on the i386 kernels: /proc/meminfo PageTables (the whole machine) and this
 * process's VmPTE, as it forks a child, maps and touches memory densely and then one page per
 * 2 MiB and per 4 MiB (so that every touched page needs its own PTE table on one geometry or
 * both), and unmaps it again. Static, and no stdio on files (nothing malloc'd): the only memory
 * calls are the start-up's and the ones below, which the model test makes in turn. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static char text[8192];

/* The number after "KEY:" in FILE, in kB (-1 when missing). */
static long field_kb(const char *file, const char *key)
{
	int fd = open(file, O_RDONLY);
	long n = 0;
	ssize_t got;
	char *at;
	if (fd < 0)
		return -1;
	while (n < (long)sizeof text - 1 && (got = read(fd, text + n, sizeof text - 1 - n)) > 0)
		n += got;
	close(fd);
	text[n] = 0;
	at = strstr(text, key);
	if (!at)
		return -1;
	at += strlen(key);
	while (*at == ' ' || *at == ':' || *at == '\t')
		at++;
	n = 0;
	while (*at >= '0' && *at <= '9')
		n = n * 10 + (*at++ - '0');
	return n;
}

static void say(const char *line)
{
	write(1, line, strlen(line));
}

/* meminfo sums counters each CPU batches: writing stat_refresh (root) folds them first. */
static void refresh_vmstat(void)
{
	int fd = open("/proc/sys/vm/stat_refresh", O_WRONLY);
	if (fd >= 0) {
		write(fd, "1", 1);
		close(fd);
	}
}

static void show(const char *what)
{
	char line[160];
	refresh_vmstat();
	snprintf(line, sizeof line, "%s PageTables %ld VmPTE %ld\n", what, field_kb("/proc/meminfo", "PageTables"),
		 field_kb("/proc/self/status", "VmPTE"));
	say(line);
}

static char *map(const char *name, size_t len)
{
	char line[80];
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	snprintf(line, sizeof line, "mmap %s %#lx %p\n", name, (unsigned long)len, (void *)p);
	say(line);
	return p;
}

static void touch(char *p, size_t len, size_t step)
{
	for (size_t off = 0; off < len; off += step)
		p[off] = 1;
}

int main(void)
{
	int fds[2];
	char c, line[120], path[40];
	pid_t child;
	char *dense, *sparse4, *sparse2;

	show("start");
	pipe(fds);
	child = fork();
	if (child == 0) {
		read(fds[0], &c, 1);
		_exit(0);
	}
	snprintf(path, sizeof path, "/proc/%d/status", (int)child);
	{
		long child_pte = field_kb(path, "VmPTE");
		show("child-alive");
		snprintf(line, sizeof line, "child VmPTE %ld\n", child_pte);
		say(line);
	}
	write(fds[1], "x", 1);
	waitpid(child, NULL, 0);
	show("child-gone");

	dense = map("dense", 16 << 20);
	touch(dense, 16 << 20, 4096);
	show("dense-16M-touched");
	sparse4 = map("sparse4", 64 << 20);
	touch(sparse4, 64 << 20, 4 << 20);
	show("sparse-64M-every-4M");
	sparse2 = map("sparse2", 32 << 20);
	touch(sparse2, 32 << 20, 2 << 20);
	show("sparse-32M-every-2M");
	munmap(dense, 16 << 20);
	show("dense-unmapped");
	munmap(sparse4 + (4 << 20), 60 << 20);
	show("sparse4-but-first-unmapped");
	munmap(sparse4, 4 << 20);
	munmap(sparse2, 32 << 20);
	show("all-unmapped");
	return 0;
}

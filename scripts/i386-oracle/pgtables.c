/* Page-table pages on the i386 kernels: /proc/meminfo PageTables (the whole machine) and this
 * process's VmPTE, as it forks a child, maps and touches memory densely and then one page per
 * 2 MiB and per 4 MiB (so that every touched page needs its own PTE table on one geometry or
 * both), and unmaps it again. Then three cases where a two-level PTE table (4 MiB) outlives or
 * is copied for a 2 MiB half holding no page: an unmap of the half that held the only page,
 * a fork copying a private mapping that owns only the empty half of a table, and an mremap
 * moving that empty half. Static, and no stdio on files (nothing malloc'd): the only memory
 * calls are the start-up's and the ones below, which the model test makes in turn. */
#define _GNU_SOURCE
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

static char *map_at(const char *name, char *at, size_t len, int prot, int flags)
{
	char line[80];
	char *p = mmap(at, len, prot, flags | MAP_ANONYMOUS, -1, 0);
	snprintf(line, sizeof line, "mmap %s %#lx %p\n", name, (unsigned long)len, (void *)p);
	say(line);
	return p;
}

static char *map(const char *name, size_t len)
{
	return map_at(name, NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE);
}

#define MIB4 (4ul << 20)
#define MIB2 (2ul << 20)

/* The first 4 MiB boundary at or above p. */
static char *up4(char *p)
{
	return (char *)(((unsigned long)p + MIB4 - 1) & ~(MIB4 - 1));
}

/* Forks a child that waits on a pipe, and prints its VmPTE as WHO while it lives. */
static void fork_and_show(const char *who)
{
	int fds[2];
	char c, line[80], path[40];
	pid_t child;
	long kb;
	pipe(fds);
	child = fork();
	if (child == 0) {
		read(fds[0], &c, 1);
		_exit(0);
	}
	snprintf(path, sizeof path, "/proc/%d/status", (int)child);
	kb = field_kb(path, "VmPTE");
	snprintf(line, sizeof line, "%s VmPTE %ld\n", who, kb);
	say(line);
	write(fds[1], "x", 1);
	waitpid(child, NULL, 0);
	close(fds[0]);
	close(fds[1]);
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

	/* Half an unmapped table: only the upper 2 MiB of a 4 MiB-aligned window holds a page,
	 * and that half is unmapped while the lower half stays mapped. */
	{
		char *m = map("half", 12 << 20), *x = up4(m) + MIB4;
		x[MIB2] = 1;
		show("half-upper-touched");
		munmap(x + MIB2, MIB2);
		show("half-upper-unmapped");
		munmap(m, 12 << 20);
		show("half-all-unmapped");
	}
	/* A private mapping that owns only the empty lower half of a table whose upper half is a
	 * shared mapping with a page; the private one has pages elsewhere (so fork copies it).
	 * Then an mremap moving that empty half to a reserved 4 MiB-aligned place. */
	{
		char *m = map("split", 12 << 20), *x = up4(m) + MIB4, *r, *y, *moved;
		char line[80];
		map_at("split-shared", x + MIB2, MIB2, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED);
		x[-4096] = 1;
		x[MIB2] = 1;
		show("split-touched");
		fork_and_show("child-of-split");
		show("split-child-gone");
		r = map_at("reserve", NULL, 8 << 20, PROT_NONE, MAP_PRIVATE);
		y = up4(r);
		moved = mremap(x, MIB2, MIB2, MREMAP_MAYMOVE | MREMAP_FIXED, y);
		snprintf(line, sizeof line, "mremap split-lower %#lx %p\n", MIB2, (void *)moved);
		say(line);
		show("split-lower-moved");
		munmap(m, 12 << 20);
		munmap(x + MIB2, MIB2);
		munmap(r, 8 << 20);
		show("split-all-unmapped");
	}
	return 0;
}

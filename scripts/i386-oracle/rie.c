/* READ_IMPLIES_EXEC on the i386 kernels: prints the personality (the system call's answer
 * and /proc/self/personality), then maps one page PROT_READ, two PROT_READ|PROT_WRITE (the
 * first then mprotect'ed to PROT_READ) and one PROT_NONE (then mprotect'ed to PROT_READ),
 * grows the heap by 64 KiB with sbrk, and prints its maps; with arguments it then execs
 * them. The script builds it three ways: as is (PT_GNU_STACK without PF_X), with an
 * executable stack (-z execstack) and without PT_GNU_STACK (the header patched to PT_NULL).
 * Static, no stdio on files: the only memory calls are the start-up's and the ones below. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <unistd.h>

static void say(const char *line)
{
	write(1, line, strlen(line));
}

static void cat(const char *path)
{
	char buf[4096];
	int fd = open(path, O_RDONLY);
	ssize_t n;
	if (fd < 0)
		return;
	while ((n = read(fd, buf, sizeof buf)) > 0)
		write(1, buf, n);
	close(fd);
}

int main(int argc, char **argv)
{
	char line[120];
	char *r, *rw, *none;
	snprintf(line, sizeof line, "personality %#x\n", (unsigned)personality(0xffffffff));
	say(line);
	say("proc-personality ");
	cat("/proc/self/personality");
	r = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	rw = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	mprotect(rw, 4096, PROT_READ);
	none = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	mprotect(none, 4096, PROT_READ);
	sbrk(65536);
	snprintf(line, sizeof line, "r %p rw %p none %p brk %p\n", (void *)r, (void *)rw, (void *)none, sbrk(0));
	say(line);
	say("--- maps\n");
	cat("/proc/self/maps");
	if (argc > 1) {
		say("--- exec\n");
		execv(argv[1], argv + 1);
	}
	return 0;
}

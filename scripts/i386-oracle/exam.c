/* The seeds' exam.c experiment, run in the i386 guest: where do the text, a global, the heap,
 * a local and an anonymous mmap land? Then the process's own maps, before and after the heap
 * grows and more is mapped. Static (-m32 -static) so the initramfs needs no libraries. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int global_var = 42;

static void dump_maps(const char *title)
{
	char buf[8192];
	FILE *f = fopen("/proc/self/maps", "r");
	size_t n;
	printf("--- maps %s\n", title);
	if (!f)
		return;
	while ((n = fread(buf, 1, sizeof buf, f)) > 0)
		fwrite(buf, 1, n, stdout);
	fclose(f);
}

int main(void)
{
	int local_var = 7;
	void *cur = sbrk(0);
	char *heap = malloc(100);
	void *anon = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	printf("text   %p\n", (void *)main);
	printf("global %p\n", (void *)&global_var);
	printf("brk0   %p\n", cur);
	printf("heap   %p\n", (void *)heap);
	printf("local  %p\n", (void *)&local_var);
	printf("mmap   %p\n", anon);
	dump_maps("after malloc and mmap");
	{
		void *big = mmap(NULL, 1 << 20, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		void *b = sbrk(0);
		brk((char *)b + 65536);
		printf("mmap1M %p\n", big);
		printf("brk1   %p\n", sbrk(0));
	}
	dump_maps("after brk +64K and mmap 1M");
	return 0;
}

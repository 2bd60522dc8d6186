/*
 * Dumps what the kernel's execve built, before doing anything else: /proc/self/maps,
 * /proc/self/stat and the initial stack (from the entry stack pointer to the top of the
 * [stack] mapping), with raw system calls and no C library.
 *
 * Output: "maps LEN\n" LEN bytes, "stat LEN\n" LEN bytes, "stack SP LEN\n" LEN bytes,
 * "status LEN\n" LEN bytes, with LEN and SP in hexadecimal.
 *
 * Built -nostdlib as a static executable, a static-pie, or as the "interpreter" of a PIE
 * program (then it runs at the interpreter's entry and shows the program's layout).
 * -DBIG_BSS adds 8 MiB of bss. With -m32 it is a 32-bit program of the same behaviour.
 */

/*
 * The entry point first reads /proc/self/status, before touching anything but the page it
 * runs from (the path is stored right after the code, and nothing is pushed on the stack),
 * so the memory counters show exactly what execve left plus that one instruction fetch.
 */
#ifdef __i386__
/* The 32-bit build (gcc -m32): system calls through int $0x80, position-independent
 * addressing through the address of a label (the call pushes into the stack page the
 * kernel already wrote). */
asm(".globl _start\n"
    "_start:\n"
    "    call 1f\n"
    "1:  pop %esi\n"
    "    lea (status_path-1b)(%esi), %ebx\n"
    "    xor %ecx, %ecx\n"
    "    mov $5, %eax\n"
    "    int $0x80\n"
    "    mov %eax, %ebx\n"
    "    lea (sbuf-1b)(%esi), %ecx\n"
    "    mov $4096, %edx\n"
    "    mov $3, %eax\n"
    "    int $0x80\n"
    "    mov %eax, (slen-1b)(%esi)\n"
    "    mov %esp, %eax\n"
    "    and $-16, %esp\n"
    "    sub $12, %esp\n"
    "    push %eax\n"
    "    call dump_main\n"
    "    hlt\n"
    "status_path: .asciz \"/proc/self/status\"\n");
#define SYS_READ 3
#define SYS_WRITE 4
#define SYS_OPEN 5
#define SYS_CLOSE 6
#define SYS_EXIT 1
#else
asm(".globl _start\n"
    "_start:\n"
    "    lea status_path(%rip), %rdi\n"
    "    xor %esi, %esi\n"
    "    mov $2, %eax\n"
    "    syscall\n"
    "    mov %rax, %rdi\n"
    "    lea sbuf(%rip), %rsi\n"
    "    mov $4096, %edx\n"
    "    xor %eax, %eax\n"
    "    syscall\n"
    "    mov %rax, slen(%rip)\n"
    "    mov %rsp, %rdi\n"
    "    and $-16, %rsp\n"
    "    call dump_main\n"
    "    hlt\n"
    "status_path: .asciz \"/proc/self/status\"\n");

#define SYS_READ 0
#define SYS_WRITE 1
#define SYS_OPEN 2
#define SYS_CLOSE 3
#define SYS_EXIT 60
#endif

__attribute__((used)) static char sbuf[4096];
__attribute__((used)) static long slen;

static long sys3(long n, long a, long b, long c)
{
    long r;
#ifdef __i386__
    asm volatile("int $0x80" : "=a"(r) : "a"(n), "b"(a), "c"(b), "d"(c) : "memory");
#else
    asm volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
#endif
    return r;
}

/* Initialized data, so that the data segment has file bytes before its bss. */
static volatile char data[100] = { 1 };
static char buf[1 << 16];
#ifdef BIG_BSS
static volatile char big[8 << 20];
#endif

static void put(const char *p, long n)
{
    while (n > 0) {
        long w = sys3(SYS_WRITE, 1, (long)p, n);
        if (w <= 0)
            sys3(SYS_EXIT, 3, 0, 0);
        p += w;
        n -= w;
    }
}

static void put_hex(unsigned long v)
{
    char t[17];
    int i = 16;
    t[i] = 0;
    do {
        t[--i] = "0123456789abcdef"[v & 15];
        v >>= 4;
    } while (v);
    put(t + i, 16 - i);
}

static long slurp(const char *path)
{
    long fd = sys3(SYS_OPEN, (long)path, 0, 0), n = 0, r;
    if (fd < 0)
        sys3(SYS_EXIT, 4, 0, 0);
    while ((r = sys3(SYS_READ, fd, (long)(buf + n), (long)sizeof(buf) - n)) > 0)
        n += r;
    sys3(SYS_CLOSE, fd, 0, 0);
    return n;
}

static void section(const char *name, long namelen, long n)
{
    put(name, namelen);
    put(" ", 1);
    put_hex((unsigned long)n);
    put("\n", 1);
    put(buf, n);
}

void dump_main(unsigned long sp)
{
    long n = slurp("/proc/self/maps");
    /* The end of the [stack] line's range, found before buf is reused. */
    unsigned long top = 0;
    for (long i = 0; i + 7 <= n; i++) {
        if (buf[i] == '[' && buf[i + 1] == 's' && buf[i + 2] == 't' && buf[i + 3] == 'a' && buf[i + 6] == ']') {
            long j = i;
            while (j > 0 && buf[j - 1] != '\n')
                j--;
            while (buf[j] != '-')
                j++;
            for (j++; buf[j] != ' '; j++)
                top = top * 16 + (unsigned long)(buf[j] <= '9' ? buf[j] - '0' : buf[j] - 'a' + 10);
            break;
        }
    }
    section("maps", 4, n);
    n = slurp("/proc/self/stat");
    section("stat", 4, n);
    put("stack ", 6);
    put_hex(sp);
    put(" ", 1);
    put_hex(top - sp);
    put("\n", 1);
    put((const char *)sp, (long)(top - sp));
    put("status ", 7);
    put_hex((unsigned long)slen);
    put("\n", 1);
    put(sbuf, slen);
    data[0] = 2;
#ifdef BIG_BSS
    big[0] = 1;
#endif
    sys3(SYS_EXIT, 0, 0, 0);
}

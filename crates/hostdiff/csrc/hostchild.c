/*
 * hostchild: the host-kernel half of mmsim's differential tester.
 *
 * The Rust crate `hostdiff` runs this program as
 *
 *     setarch <machine> -R hostchild supervise TMPDIR [TIMEOUT_SECONDS]
 *
 * with a script on standard input, and reads what really happened from
 * standard output.  Three roles live in this one file:
 *
 *   supervise   reads the script, creates the files, becomes a child
 *               subreaper, fork+execs itself as process 0 and reaps every
 *               process of the run.  An abnormal death (a signal or a
 *               non-zero exit) is reported on stderr and ends the whole
 *               process group, so nothing is ever left waiting.
 *   child       process 0 (run by the supervisor as `hostchild child`, in
 *               TMPDIR, with an empty environment, from fd 9 by execveat):
 *               starts from a fresh execve, so its address space
 *               is a real exec's, then sets itself up, writes the init block
 *               and walks the steps.  Its forks are processes 1, 2, ...
 *   file-bytes  prints file_byte(FILE, OFFSET .. OFFSET+LEN) to stdout, so
 *               tests can check that C and Rust agree on file contents.
 *   calls       reads a script on stdin and prints the system call each
 *               step would make (name and arguments) without running it,
 *               so tests can check that the steps carry the model's calls
 *               (hostdiff's protocol test, against mm::Call).
 *
 * Input (script) protocol, one item per line, numbers in decimal:
 *
 *     mmsim-hostchild 1
 *     files N             then N lines: SIZE
 *     opens M             then M lines: FILE MODE   (MODE is r, w or rw)
 *     swaps S             then S lines: FLAGS PATH  (swap files made by the
 *                         caller with mkswap; FLAGS as swapon(2) takes them)
 *     groups G            then G lines: PATH  (memory cgroup directories made by
 *                         the caller; G > 0 makes the run kill-tolerant, below)
 *     steps K             then K lines: PROC SAVE KIND ARGS...
 *
 * SAVE is '-' or the index of a result slot in the shared page that receives
 * the step's value (0 if it gives none), for later steps' addresses.  An
 * address is `a<u64>` (absolute) or `r<slot>:<i64>` (slot value + offset); an
 * fd is `o<slot>` (an fd of `opens`) or `x<i64>` (that number as is).  KIND
 * and ARGS:
 *
 *     mmap ADDR LEN PROT FLAGS FD OFFSET     munmap ADDR LEN
 *     mprotect ADDR LEN PROT                 brk ADDR
 *     load ADDR LEN        store ADDR LEN BYTE
 *     kread ADDR LEN       kwrite ADDR LEN BYTE
 *     fork  exit  maps  smaps  status        ftruncate SLOT LEN
 *     mremap ADDR OLDLEN NEWLEN FLAGS ADDR   madvise ADDR LEN ADVICE
 *     mlock ADDR LEN FLAGS (mlock2)          munlock ADDR LEN
 *     mlockall FLAGS       munlockall        msync ADDR LEN FLAGS
 *     mincore ADDR LEN     (the vector, at most 65536 pages)
 *     pagemap ADDR PAGES   (pread of /proc/self/pagemap, at most 8192 pages)
 *     setrlimit RESOURCE VALUE  (the soft limit; the hard one stays)
 *     dropcaps             (capset to an empty set)
 *     swapon DEV  swapoff DEV  (swapon(2)/swapoff(2) of swap file DEV)
 *     swaps                (the text of /proc/swaps)
 *     cgwrite G FILE VALUE (open, write VALUE, close: FILE of group G; writing
 *                          0 to cgroup.procs moves the writing process)
 *     cgread G FILE        (the text of FILE of group G)
 *     cgrmdir G            (rmdir(2) of group G)
 *     pwrite FILE VALUE    (open, write VALUE, close: /proc/self/FILE)
 *     pread FILE           (the text of /proc/self/FILE)
 *
 * Output protocol: records, each a header line of space-separated words,
 * numbers in decimal.  `C N` is followed by N raw bytes that are appended to
 * a pending buffer; the records marked (*) below take that buffer as their
 * data and empty it, the others leave it to be discarded.
 *
 *     pid INDEX PID                          a process of the run (info)
 *     init START_BRK BRK START_STACK STACK_RLIMIT SYNC_PAGE NFILES
 *     file I MAJOR MINOR INO SIZE            (*) the data is the path
 *     maps / smaps                           (*) the init texts
 *     ready                                  end of the init block
 *     val STEP VALUE      err STEP ERRNO     done STEP
 *     bytes STEP (*)      text STEP (*)      (mincore and pagemap give bytes)
 *     sig STEP SIGNO CODE ADDR DONE
 *     kill STEP SIGNO     the process died of SIGNO during its step (a
 *                         kill-tolerant run's supervisor writes it)
 *     gone STEP           a step of a process that died earlier (or was never
 *                         born, its parent having died first): not run
 *     fail MESSAGE                           the run cannot go on
 *
 * Sequencing: process 0 creates one shared anonymous page holding a step
 * counter, the pid of a process that has just exited, and the result slots.
 * Every process parses every step line in order; for a step of its own it
 * futex-waits until the counter equals the step's index, executes it, writes
 * its record, publishes its value, then increments the counter and wakes
 * everyone.  Only the process whose turn it is writes to stdout, so records
 * come out in step order.  Forks use clone(CLONE_PARENT) so that every
 * process of the run is a direct child of the supervisor, which therefore
 * sees each death at once.  An exiting process leaves its pid in the shared
 * page; whoever runs the next step first waits (pidfd + poll) until that
 * process is really gone, so its address space has been torn down as the
 * model assumes.
 *
 * After the init block nothing may change the address space except the
 * steps: no malloc, no stdio; every buffer is static and touched in advance,
 * the stack is grown in advance, and /proc files are read with read(2).
 *
 * Kill-tolerant runs (a script with memory cgroups, whose OOM killer may end
 * a process): the supervisor opens the sync page's shmem object through
 * /proc/P0/map_files once process 0 has mapped it (root only; no mapping, so
 * nothing is shared more than before).  Each process records its pid in the
 * page while it runs a step of its own.  When a process dies of SIGKILL
 * during its own step, the supervisor writes `kill STEP 9`, marks it dead in
 * the page's bitmap and passes the turn on; whoever passes the turn skips the
 * steps of dead processes, writing `gone STEP` for each (a dead process's
 * fork leaves its child unborn and dead).  Waiters poll the counter every
 * 2 ms, since the supervisor cannot wake them.  A process killed outside its
 * turn (the OOM killer chose another process than the one running) ends the
 * run as any other abnormal death does.
 *
 * Per-CPU LRU batches: the kernel moves pages between LRU lists (MADV_FREE's
 * lazy-free move, MADV_COLD's deactivation, new pages' first LRU insertion) in
 * per-CPU batches drained at arbitrary later moments, and a page in a batch
 * holds an extra reference that can turn a COW reuse into a copy.  To make
 * runs deterministic the supervisor pins the run to one CPU, and after every
 * madvise step the taking process drains that CPU's batches (through its own
 * never-touched drain page, below), so the model can assume drained batches.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <poll.h>
#include <stddef.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef PR_SET_THP_DISABLE
#define PR_SET_THP_DISABLE 41
#endif

/* Limits shared with the Rust side (host.rs checks scripts against them). */
#define SCRIPT_MAX (4u << 20) /* bytes of script text */
#define IOBUF_SIZE 65536u     /* chunk size; also the kernel-copy limit */
#define MAX_OPENS 256
#define MAX_SWAPS 32 /* swap files of one run */
#define MAX_GROUPS 32 /* memory cgroups of one run */
#define MAX_PROCS 256 /* processes of one run */
#define CG_WORD 64 /* longest cgroup file name or value, with its NUL */
#define SYNC_SLOTS 504 /* result slots in the shared page */
#define STACK_PREGROW (256u << 10)
#define EXEC_FD 9 /* the fd process 0 is executed from */
#define FAKE_FD_BASE 3 /* `calls`: open slot i is fd 3 + i, as a run opens them */

/* The shared page: the only memory the processes of a run share. */
#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#define SYNC_PAGE_ADDR 0x100000000000UL
/* The base of an address relative to a step that gave no value: far from
 * everything, so steps on a failed mapping's range touch nothing. Must
 * equal NO_VALUE_BASE in host.rs. */
#define NO_VALUE_BASE 0x200000000000UL

struct sync_page {
    uint32_t counter;  /* index of the step whose turn it is */
    int32_t exit_pid;  /* a process that exited at the last step, or 0 */
    uint32_t dead[MAX_PROCS / 32]; /* processes killed (kill-tolerant runs) */
    int32_t turn_pid;  /* the process running a step of its own, or 0 */
    uint32_t reserved[5];
    uint64_t slots[SYNC_SLOTS];
};
_Static_assert(sizeof(struct sync_page) == 4096, "sync page is one page");

enum kind {
    K_MMAP, K_MUNMAP, K_MPROTECT, K_BRK, K_LOAD, K_STORE, K_KREAD, K_KWRITE,
    K_FORK, K_EXIT, K_MAPS, K_SMAPS, K_FTRUNCATE,
    K_MREMAP, K_MADVISE, K_MLOCK, K_MUNLOCK, K_MLOCKALL, K_MUNLOCKALL,
    K_MINCORE, K_MSYNC, K_PAGEMAP, K_STATUS, K_SETRLIMIT, K_DROPCAPS,
    K_SWAPON, K_SWAPOFF, K_SWAPS, K_CGWRITE, K_CGREAD, K_CGRMDIR,
    K_PROCWRITE, K_PROCREAD,
};

struct addr {
    int slot; /* -1: absolute */
    uint64_t abs;
    int64_t off;
};

struct step {
    uint64_t proc;
    int save; /* -1: none */
    enum kind kind;
    struct addr addr, addr2;
    uint64_t len, len2, prot, flags, offset, byte;
    int64_t fd;
    char name[CG_WORD], value[CG_WORD]; /* cgwrite, cgread */
};

/*
 * All mutable state of process 0 and its forks.  Static, so that it lives in
 * the binary's own .bss and is faulted in before the init block.
 */
static char g_script[SCRIPT_MAX];
static unsigned char g_io[IOBUF_SIZE];   /* staging for output data */
static unsigned char g_fill[IOBUF_SIZE]; /* kwrite's source bytes */
static char g_line[1024];                /* one header line */
static char g_path[4096];
static int g_fds[MAX_OPENS];
static char g_swap_path[MAX_SWAPS][256];
static int g_swap_flags[MAX_SWAPS];
static uint64_t g_nswaps;
static char g_group_path[MAX_GROUPS][256];
static uint64_t g_ngroups; /* > 0: a kill-tolerant run */
static struct sync_page *g_sync;

static void parse_step(const char **cur, struct step *st);

/* Fault recovery for user accesses. */
static sigjmp_buf g_jmp;
static volatile sig_atomic_t g_in_access;
static volatile int g_fault_signo, g_fault_code;
static volatile uint64_t g_fault_addr;
static volatile uint64_t g_done; /* bytes accessed before a fault */

/* ------------------------------------------------------------------ */
/* The content of the test files: must equal host.rs's file_byte().    */

static uint8_t file_byte(uint64_t file, uint64_t offset)
{
    uint64_t x = (file + 1) * 0x9E3779B97F4A7C15ull;
    x ^= (offset >> 12) * 0xBF58476D1CE4E5B9ull;
    x ^= (offset & 0xfff) * 0x94D049BB133111EBull;
    x ^= x >> 31;
    x *= 0xD6E8FEB86659FD93ull;
    x ^= x >> 32;
    uint8_t b = (uint8_t)x;
    /* The first byte of every page is odd: no page is ever all zero. */
    if ((offset & 0xfff) == 0)
        b |= 1;
    return b;
}

/* ------------------------------------------------------------------ */
/* Output without stdio: header lines are built in g_line.             */

static void write_all(int fd, const void *buf, size_t n)
{
    const char *p = buf;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            _exit(3); /* the reader is gone: nothing left to tell */
        }
        p += w;
        n -= (size_t)w;
    }
}

static char *g_lp;

static void lb_begin(void) { g_lp = g_line; }

static void lb_char(char c)
{
    /* Keep room for the newline; overlong lines are cut. */
    if (g_lp < g_line + sizeof g_line - 2)
        *g_lp++ = c;
}

static void lb_str(const char *s)
{
    /* A record is one line: a newline in a message becomes a space. */
    for (; *s; s++)
        lb_char(*s == '\n' ? ' ' : *s);
}

/* Appends a space and the decimal number (with its sign). */
static void lb_num(uint64_t magnitude, int negative)
{
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + magnitude % 10);
        magnitude /= 10;
    } while (magnitude);
    lb_char(' ');
    if (negative)
        lb_char('-');
    while (n > 0)
        lb_char(tmp[--n]);
}

static void lb_u64(uint64_t v) { lb_num(v, 0); }

static void lb_i64(int64_t v)
{
    lb_num(v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v, v < 0);
}

static void lb_end(void)
{
    *g_lp++ = '\n';
    write_all(1, g_line, (size_t)(g_lp - g_line));
}

static void emit_chunk(const void *data, size_t n)
{
    if (n == 0)
        return;
    lb_begin();
    lb_str("C");
    lb_u64(n);
    lb_end();
    write_all(1, data, n);
}

static void emit_step(const char *what, uint64_t step)
{
    lb_begin();
    lb_str(what);
    lb_u64(step);
    lb_end();
}

static void emit_step_u64(const char *what, uint64_t step, uint64_t v)
{
    lb_begin();
    lb_str(what);
    lb_u64(step);
    lb_u64(v);
    lb_end();
}

/* Reports that the run cannot go on, and ends this process abnormally so the
 * supervisor stops the others. */
static void __attribute__((noreturn)) fail(const char *msg, const char *detail)
{
    lb_begin();
    lb_str("fail ");
    lb_str(msg);
    if (detail) {
        lb_str(": ");
        lb_str(detail);
    }
    lb_end();
    _exit(2);
}

static void __attribute__((noreturn)) fail_errno(const char *msg)
{
    fail(msg, strerror(errno));
}

/* ------------------------------------------------------------------ */
/* Script parsing: a cursor over NUL-terminated text, no allocation.   */

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\r'; }

/* Returns the next word of the current line (never crossing a newline). */
static const char *word(const char **cur, size_t *len)
{
    const char *p = *cur;
    while (is_space(*p))
        p++;
    const char *start = p;
    while (*p && *p != '\n' && !is_space(*p))
        p++;
    *len = (size_t)(p - start);
    *cur = p;
    return start;
}

static int word_is(const char *w, size_t n, const char *lit)
{
    return strlen(lit) == n && memcmp(w, lit, n) == 0;
}

static void end_line(const char **cur)
{
    const char *p = *cur;
    while (is_space(*p))
        p++;
    if (*p != '\n')
        fail("script: trailing text on a line", NULL);
    *cur = p + 1;
}

static int digits_u64(const char *w, size_t n, uint64_t *out)
{
    uint64_t v = 0;
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (w[i] < '0' || w[i] > '9')
            return 0;
        uint64_t d = (uint64_t)(w[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return 0;
        v = v * 10 + d;
    }
    *out = v;
    return 1;
}

static int digits_i64(const char *w, size_t n, int64_t *out)
{
    uint64_t v;
    if (n > 0 && w[0] == '-') {
        if (!digits_u64(w + 1, n - 1, &v) || v > (uint64_t)INT64_MAX + 1)
            return 0;
        *out = (int64_t)((uint64_t)0 - v);
        return 1;
    }
    if (!digits_u64(w, n, &v) || v > (uint64_t)INT64_MAX)
        return 0;
    *out = (int64_t)v;
    return 1;
}

static uint64_t parse_u64(const char **cur)
{
    size_t n;
    const char *w = word(cur, &n);
    uint64_t v;
    if (!digits_u64(w, n, &v))
        fail("script: expected a number", NULL);
    return v;
}

static void expect_word(const char **cur, const char *lit)
{
    size_t n;
    const char *w = word(cur, &n);
    if (!word_is(w, n, lit))
        fail("script: expected keyword", lit);
}

static struct addr parse_addr(const char **cur)
{
    size_t n;
    const char *w = word(cur, &n);
    struct addr a = { .slot = -1, .abs = 0, .off = 0 };
    if (n >= 2 && w[0] == 'a' && digits_u64(w + 1, n - 1, &a.abs))
        return a;
    if (n >= 4 && w[0] == 'r') {
        const char *colon = memchr(w, ':', n);
        uint64_t slot;
        if (colon && digits_u64(w + 1, (size_t)(colon - w - 1), &slot) &&
            slot < SYNC_SLOTS &&
            digits_i64(colon + 1, (size_t)(w + n - colon - 1), &a.off)) {
            a.slot = (int)slot;
            return a;
        }
    }
    fail("script: bad address", NULL);
}

static int64_t parse_fd(const char **cur)
{
    size_t n;
    const char *w = word(cur, &n);
    uint64_t slot;
    int64_t raw;
    if (n >= 2 && w[0] == 'o' && digits_u64(w + 1, n - 1, &slot) &&
        slot < MAX_OPENS)
        return g_fds[slot];
    if (n >= 2 && w[0] == 'x' && digits_i64(w + 1, n - 1, &raw))
        return raw;
    fail("script: bad fd", NULL);
}

/* Copies the next word into BUF (CG_WORD bytes, NUL-terminated). */
static void copy_word(const char **cur, char *buf, const char *what)
{
    size_t n;
    const char *w = word(cur, &n);
    if (n == 0 || n >= CG_WORD)
        fail(what, NULL);
    memcpy(buf, w, n);
    buf[n] = 0;
}

static void parse_step(const char **cur, struct step *st)
{
    size_t n;
    const char *w;
    memset(st, 0, sizeof *st);
    st->proc = parse_u64(cur);
    w = word(cur, &n);
    if (word_is(w, n, "-")) {
        st->save = -1;
    } else {
        uint64_t s;
        if (!digits_u64(w, n, &s) || s >= SYNC_SLOTS)
            fail("script: bad result slot", NULL);
        st->save = (int)s;
    }
    w = word(cur, &n);
    if (word_is(w, n, "mmap")) {
        st->kind = K_MMAP;
        st->addr = parse_addr(cur);
        st->len = parse_u64(cur);
        st->prot = parse_u64(cur);
        st->flags = parse_u64(cur);
        st->fd = parse_fd(cur);
        st->offset = parse_u64(cur);
    } else if (word_is(w, n, "munmap")) {
        st->kind = K_MUNMAP;
        st->addr = parse_addr(cur);
        st->len = parse_u64(cur);
    } else if (word_is(w, n, "mprotect")) {
        st->kind = K_MPROTECT;
        st->addr = parse_addr(cur);
        st->len = parse_u64(cur);
        st->prot = parse_u64(cur);
    } else if (word_is(w, n, "brk")) {
        st->kind = K_BRK;
        st->addr = parse_addr(cur);
    } else if (word_is(w, n, "load") || word_is(w, n, "kread")) {
        st->kind = w[0] == 'l' ? K_LOAD : K_KREAD;
        st->addr = parse_addr(cur);
        st->len = parse_u64(cur);
    } else if (word_is(w, n, "store") || word_is(w, n, "kwrite")) {
        st->kind = w[0] == 's' ? K_STORE : K_KWRITE;
        st->addr = parse_addr(cur);
        st->len = parse_u64(cur);
        st->byte = parse_u64(cur);
    } else if (word_is(w, n, "fork")) {
        st->kind = K_FORK;
    } else if (word_is(w, n, "exit")) {
        st->kind = K_EXIT;
    } else if (word_is(w, n, "maps")) {
        st->kind = K_MAPS;
    } else if (word_is(w, n, "smaps")) {
        st->kind = K_SMAPS;
    } else if (word_is(w, n, "mremap")) {
        st->kind = K_MREMAP;
        st->addr = parse_addr(cur);
        st->len = parse_u64(cur);
        st->len2 = parse_u64(cur);
        st->flags = parse_u64(cur);
        st->addr2 = parse_addr(cur);
    } else if (word_is(w, n, "madvise") || word_is(w, n, "mlock") ||
               word_is(w, n, "msync")) {
        st->kind = w[1] == 'a' ? K_MADVISE : w[1] == 'l' ? K_MLOCK : K_MSYNC;
        st->addr = parse_addr(cur);
        st->len = parse_u64(cur);
        st->flags = parse_u64(cur);
    } else if (word_is(w, n, "munlock") || word_is(w, n, "mincore") ||
               word_is(w, n, "pagemap")) {
        st->kind = w[1] == 'u' ? K_MUNLOCK : w[1] == 'i' ? K_MINCORE : K_PAGEMAP;
        st->addr = parse_addr(cur);
        st->len = parse_u64(cur);
        if (st->kind == K_MINCORE && st->len > (uint64_t)IOBUF_SIZE * 4096)
            fail("script: mincore of more than 65536 pages", NULL);
        if (st->kind == K_PAGEMAP && st->len > IOBUF_SIZE / 8)
            fail("script: pagemap of more than 8192 pages", NULL);
    } else if (word_is(w, n, "mlockall")) {
        st->kind = K_MLOCKALL;
        st->flags = parse_u64(cur);
    } else if (word_is(w, n, "munlockall")) {
        st->kind = K_MUNLOCKALL;
    } else if (word_is(w, n, "status")) {
        st->kind = K_STATUS;
    } else if (word_is(w, n, "setrlimit")) {
        st->kind = K_SETRLIMIT;
        st->flags = parse_u64(cur);
        st->len = parse_u64(cur);
    } else if (word_is(w, n, "dropcaps")) {
        st->kind = K_DROPCAPS;
    } else if (word_is(w, n, "swapon") || word_is(w, n, "swapoff")) {
        st->kind = n == 6 ? K_SWAPON : K_SWAPOFF;
        st->len = parse_u64(cur);
        if (st->len >= g_nswaps)
            fail("script: swap step of an unknown swap file", NULL);
    } else if (word_is(w, n, "swaps")) {
        st->kind = K_SWAPS;
    } else if (word_is(w, n, "cgwrite") || word_is(w, n, "cgread") ||
               word_is(w, n, "cgrmdir")) {
        st->kind = n == 6 ? K_CGREAD : w[2] == 'w' ? K_CGWRITE : K_CGRMDIR;
        st->len = parse_u64(cur);
        if (st->len >= g_ngroups)
            fail("script: cgroup step of an unknown group", NULL);
        if (st->kind != K_CGRMDIR)
            copy_word(cur, st->name, "script: bad cgroup file name");
        if (st->kind == K_CGWRITE)
            copy_word(cur, st->value, "script: bad cgroup value");
    } else if (word_is(w, n, "pwrite") || word_is(w, n, "pread")) {
        st->kind = n == 6 ? K_PROCWRITE : K_PROCREAD;
        copy_word(cur, st->name, "script: bad /proc file name");
        if (st->kind == K_PROCWRITE)
            copy_word(cur, st->value, "script: bad /proc value");
    } else if (word_is(w, n, "ftruncate")) {
        st->kind = K_FTRUNCATE;
        uint64_t slot = parse_u64(cur);
        if (slot >= MAX_OPENS)
            fail("script: bad fd slot", NULL);
        st->fd = g_fds[slot];
        st->len = parse_u64(cur);
    } else {
        fail("script: unknown step kind", NULL);
    }
    if ((st->kind == K_KREAD || st->kind == K_KWRITE) && st->len > IOBUF_SIZE)
        fail("script: kernel copy longer than 64 KiB", NULL);
    end_line(cur);
}

/* ------------------------------------------------------------------ */
/* Process 0 set-up.                                                    */

static void __attribute__((noinline)) grow_stack(size_t bytes)
{
    /* Touch every page from the top down, so each fault extends the stack
     * VMA by one page and the stack never grows during the run. */
    volatile char pad[bytes];
    for (size_t i = bytes; i >= 4096; i -= 4096)
        pad[i - 1] = 0;
    pad[0] = 0;
    (void)pad[0]; /* a volatile read: counts as a use */
}

static void on_fault(int signo, siginfo_t *si, void *uc)
{
    (void)uc;
    if (!g_in_access) {
        /* A fault of the harness itself: die of it, so the supervisor
         * reports the signal. */
        signal(signo, SIG_DFL);
        return;
    }
    g_in_access = 0;
    g_fault_signo = signo;
    g_fault_code = si->si_code;
    g_fault_addr = (uint64_t)(uintptr_t)si->si_addr;
    siglongjmp(g_jmp, 1);
}

static size_t read_file_into(const char *path, void *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        fail_errno(path);
    size_t have = 0;
    for (;;) {
        if (have == cap)
            fail("file too large for its buffer", path);
        ssize_t r = read(fd, (char *)buf + have, cap - have);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            fail_errno(path);
        }
        if (r == 0)
            break;
        have += (size_t)r;
    }
    close(fd);
    return have;
}

/* Streams a /proc text as chunks (the record that ends it is the caller's). */
static void stream_proc(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        fail_errno(path);
    for (;;) {
        ssize_t r = read(fd, g_io, sizeof g_io);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            fail_errno(path);
        }
        if (r == 0)
            break;
        emit_chunk(g_io, (size_t)r);
    }
    close(fd);
}

/* Returns field `field` (1-based, as in proc(5)) of /proc/self/stat. */
static uint64_t stat_field(const char *text, int field)
{
    const char *p = strrchr(text, ')');
    if (!p)
        fail("unexpected /proc/self/stat", NULL);
    p++;
    /* The word after ')' is field 3. */
    for (int f = 3;; f++) {
        size_t n;
        const char *w = word(&p, &n);
        if (n == 0)
            fail("short /proc/self/stat", NULL);
        if (f == field) {
            uint64_t v;
            if (!digits_u64(w, n, &v))
                fail("bad /proc/self/stat field", NULL);
            return v;
        }
    }
}

static void set_path(const char *dir, const char *name, uint64_t i)
{
    char *p = g_path;
    size_t dl = strlen(dir), nl = strlen(name);
    if (dl + nl + 24 > sizeof g_path)
        fail("temporary directory path too long", NULL);
    if (dl > 0) {
        memcpy(p, dir, dl);
        p += dl;
        *p++ = '/';
    }
    memcpy(p, name, nl);
    p += nl;
    if (i != UINT64_MAX) {
        char tmp[24];
        int n = 0;
        do {
            tmp[n++] = (char)('0' + i % 10);
            i /= 10;
        } while (i);
        while (n > 0)
            *p++ = tmp[--n];
    }
    *p = 0;
}

/* ------------------------------------------------------------------ */
/* Sequencing.                                                          */

static long futex(uint32_t *uaddr, int op, uint32_t val)
{
    /* Not FUTEX_PRIVATE: the page is shared between processes. */
    return syscall(SYS_futex, uaddr, op, val, NULL, NULL, 0);
}

static void wait_turn(uint64_t step)
{
    /* A kill-tolerant run's supervisor moves the counter without a wake. */
    struct timespec poll_every = { 0, 2000000 };
    for (;;) {
        uint32_t v = __atomic_load_n(&g_sync->counter, __ATOMIC_ACQUIRE);
        if (v == (uint32_t)step)
            break;
        if (v > (uint32_t)step)
            fail("sequencing: the counter passed a step of this process",
                 NULL);
        syscall(SYS_futex, &g_sync->counter, FUTEX_WAIT, v,
                g_ngroups ? &poll_every : NULL, NULL, 0);
    }
    if (g_ngroups)
        __atomic_store_n(&g_sync->turn_pid, (int32_t)getpid(), __ATOMIC_RELEASE);
}

static int is_dead(uint64_t proc)
{
    return proc < MAX_PROCS &&
           (__atomic_load_n(&g_sync->dead[proc / 32], __ATOMIC_ACQUIRE) >> (proc % 32)) & 1;
}

static void mark_dead(uint64_t proc)
{
    if (proc < MAX_PROCS)
        __atomic_fetch_or(&g_sync->dead[proc / 32], 1u << (proc % 32), __ATOMIC_RELEASE);
}

/* From step NEXT (whose line LOOK points at), passes over the steps of dead
 * processes, writing `gone` for each; a dead process's fork leaves its child
 * (index FORK_INDEX onwards, in fork order) dead too.  Returns the first step
 * of a live process, or NSTEPS. */
static uint64_t next_live_step(const char *look, uint64_t next, uint64_t nsteps,
                               uint64_t fork_index)
{
    if (!g_ngroups)
        return next;
    for (; next < nsteps; next++) {
        struct step st;
        parse_step(&look, &st);
        if (!is_dead(st.proc))
            break;
        if (st.kind == K_FORK)
            mark_dead(fork_index++);
        emit_step("gone", next);
    }
    return next;
}

/* Passes the turn to step NEXT. */
static void advance_to(uint64_t next)
{
    if (g_ngroups)
        __atomic_store_n(&g_sync->turn_pid, 0, __ATOMIC_RELEASE);
    __atomic_store_n(&g_sync->counter, (uint32_t)next, __ATOMIC_RELEASE);
    futex(&g_sync->counter, FUTEX_WAKE, INT_MAX);
}

/* Waits until a process that exited at the previous step is gone, so that
 * its address space has been torn down (exit_mm runs before the task
 * becomes a zombie, and a pidfd polls readable only then). */
static void settle_exit(void)
{
    int32_t pid = g_sync->exit_pid;
    if (pid == 0)
        return;
    int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (pfd >= 0) {
        struct pollfd p = { .fd = pfd, .events = POLLIN };
        while (poll(&p, 1, -1) < 0 && errno == EINTR) {
        }
        close(pfd);
    } else if (errno != ESRCH) {
        fail_errno("pidfd_open");
    }
    g_sync->exit_pid = 0;
}

static int overlaps_sync_page(uint64_t addr, uint64_t len)
{
    uint64_t s = (uint64_t)(uintptr_t)g_sync;
    uint64_t end = addr + len;
    if (end < addr)
        end = UINT64_MAX;
    return addr < s + 4096 && end > s;
}

/* ------------------------------------------------------------------ */
/* Steps.                                                               */

static void emit_result(uint64_t i, long r)
{
    if (r == -1)
        emit_step_u64("err", i, (uint64_t)errno);
    else
        emit_step_u64("val", i, (uint64_t)r);
}

static void emit_signal(uint64_t i)
{
    lb_begin();
    lb_str("sig");
    lb_u64(i);
    lb_u64((uint64_t)g_fault_signo);
    lb_i64(g_fault_code);
    lb_u64(g_fault_addr);
    lb_u64(g_done);
    lb_end();
}

static void do_load(uint64_t i, uint64_t addr, uint64_t len)
{
    static size_t fill; /* static: its value must survive siglongjmp */
    fill = 0;
    g_done = 0;
    if (sigsetjmp(g_jmp, 1)) {
        emit_signal(i);
        return;
    }
    g_in_access = 1;
    while (g_done < len) {
        g_io[fill++] = *(volatile uint8_t *)(uintptr_t)(addr + g_done);
        g_done = g_done + 1;
        if (fill == sizeof g_io) {
            g_in_access = 0;
            emit_chunk(g_io, fill);
            fill = 0;
            g_in_access = 1;
        }
    }
    g_in_access = 0;
    emit_chunk(g_io, fill);
    emit_step("bytes", i);
}

static void do_store(uint64_t i, uint64_t addr, uint64_t len, uint8_t byte)
{
    g_done = 0;
    if (sigsetjmp(g_jmp, 1)) {
        emit_signal(i);
        return;
    }
    g_in_access = 1;
    while (g_done < len) {
        *(volatile uint8_t *)(uintptr_t)(addr + g_done) = byte;
        g_done = g_done + 1;
    }
    g_in_access = 0;
    emit_step("done", i);
}

static void make_pipe(int p[2])
{
    /* Non-blocking: a pipe holds 64 KiB, and a mistake must not hang. */
    if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0)
        fail_errno("pipe2");
}

static void do_kread(uint64_t i, uint64_t addr, uint64_t len)
{
    int p[2];
    make_pipe(p);
    long n = syscall(SYS_write, p[1], addr, len);
    if (n < 0) {
        int e = errno;
        close(p[0]);
        close(p[1]);
        emit_step_u64("err", i, (uint64_t)e);
        return;
    }
    size_t have = 0;
    while (have < (size_t)n) {
        ssize_t r = read(p[0], g_io + have, (size_t)n - have);
        if (r <= 0)
            fail("kread: the pipe gave back less than was written", NULL);
        have += (size_t)r;
    }
    close(p[0]);
    close(p[1]);
    emit_chunk(g_io, have);
    emit_step("bytes", i);
}

static void do_kwrite(uint64_t i, uint64_t addr, uint64_t len, uint8_t byte)
{
    int p[2];
    make_pipe(p);
    memset(g_fill, byte, (size_t)len);
    ssize_t w = write(p[1], g_fill, (size_t)len);
    if (w != (ssize_t)len)
        fail("kwrite: could not fill the pipe", NULL);
    long n = syscall(SYS_read, p[0], addr, len);
    int e = errno;
    close(p[0]);
    close(p[1]);
    errno = e;
    emit_result(i, n);
}

/* A private anonymous read-only page no step touches.  MADV_POPULATE_READ of
 * it drains this CPU's LRU batches once it has faulted it in (faultin_page_range
 * ends with lru_add_drain), and unlike MADV_FREE, MADV_COLD or munlock it works
 * whether or not mlockall has locked the page and needs no capability; in
 * 6.18 MADV_DONTNEED and munmap no longer drain. */
#define DRAIN_PAGE_ADDR (SYNC_PAGE_ADDR + 0x10000UL)

static void drain_lru_batches(void)
{
    syscall(SYS_madvise, DRAIN_PAGE_ADDR, 4096, 22 /* MADV_POPULATE_READ */);
}

/* MADV_PAGEOUT starts the writes of the pages it swaps out and returns; what a
 * step right after it sees of such a page (a second pageout keeps it, a zap
 * leaves its slot taken, a write fault cannot free its slot) depends on whether
 * the write has finished, and then on the CPU that finished it: the end of a
 * reclaim write moves the page to its LRU's tail through that CPU's batch,
 * which holds a reference until that CPU drains it (a write fault on the page
 * then keeps its swap slot).  The model takes every write as finished, and
 * every batch drained, by the next step.  So after a pageout the run waits, up
 * to two seconds, until meminfo's Writeback is 0 (it counts every writeback of
 * the machine: the swap lock keeps other host runs out, and a busy disk only
 * makes the wait longer), then drains the batches of every CPU:
 * migrate_pages(2) of this process from node 0 to node 0 does that first
 * (lru_add_drain_all) and then moves nothing. */
static char g_meminfo[16384];

static void drain_all_lru_batches(void)
{
    unsigned long node0 = 1;
    syscall(SYS_migrate_pages, 0, 8 * sizeof node0, &node0, &node0);
}

static void wait_for_writeback(void)
{
    for (int tries = 0; tries < 2000; tries++) {
        /* The counter is kept per CPU and folded in now and then: without a
         * refresh it can read 0 while writes are still in flight (one run in
         * four of random swap script 91 then saw a page keep its slot). */
        int rf = open("/proc/sys/vm/stat_refresh", O_WRONLY | O_CLOEXEC);
        if (rf >= 0) {
            ssize_t ignored = write(rf, "1", 1);
            (void)ignored;
            close(rf);
        }
        size_t n = read_file_into("/proc/meminfo", g_meminfo, sizeof g_meminfo - 1);
        g_meminfo[n] = 0;
        const char *w = strstr(g_meminfo, "\nWriteback:");
        if (!w)
            return;
        w += strlen("\nWriteback:");
        while (*w == ' ')
            w++;
        if (*w == '0' && (w[1] == ' ' || w[1] == '\n'))
            return;
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
    }
}

static void do_pagemap(uint64_t i, uint64_t addr, uint64_t pages)
{
    int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        fail_errno("/proc/self/pagemap");
    ssize_t n = pread(fd, g_io, (size_t)(pages * 8), (off_t)((addr / 4096) * 8));
    int e = errno;
    close(fd);
    if (n < 0) {
        emit_step_u64("err", i, (uint64_t)e);
        return;
    }
    emit_chunk(g_io, (size_t)n);
    emit_step("bytes", i);
}

/* The system call a step makes, with its arguments in C order: what the
 * runner passes to syscall() and what `hostchild calls` prints, so that
 * hostdiff's tests can hold it against the model's Call. */
struct sys_call {
    const char *name;
    long nr;
    int argc;
    uint64_t a[6];
};

#define SET_CALL(c, n, ...)                                                   \
    do {                                                                      \
        const uint64_t args_[] = { __VA_ARGS__ };                             \
        (c)->name = #n;                                                       \
        (c)->nr = SYS_##n;                                                    \
        (c)->argc = (int)(sizeof args_ / sizeof args_[0]);                    \
        memcpy((c)->a, args_, sizeof args_);                                  \
    } while (0)

/* The path of FILE in group G, in g_path. */
static void cg_path(uint64_t g, const char *file)
{
    size_t gl = strlen(g_group_path[g]), fl = strlen(file);
    if (gl + fl + 2 > sizeof g_path)
        fail("cgroup path too long", NULL);
    memcpy(g_path, g_group_path[g], gl);
    g_path[gl] = '/';
    memcpy(g_path + gl + 1, file, fl + 1);
}

/* The path of FILE of /proc/self, in g_path. */
static void self_path(const char *file)
{
    static const char dir[] = "/proc/self/";
    size_t fl = strlen(file);
    if (sizeof dir + fl > sizeof g_path)
        fail("/proc path too long", NULL);
    memcpy(g_path, dir, sizeof dir - 1);
    memcpy(g_path + sizeof dir - 1, file, fl + 1);
}

/* Writes the step's value to the file at g_path: 0, or -1 with errno. */
static long write_value(const struct step *st)
{
    int fd = open(g_path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t r = write(fd, st->value, strlen(st->value));
    int e = errno;
    close(fd);
    errno = e;
    return r < 0 ? -1 : 0;
}

/* Reads the file at g_path: its text, or the errno of open or read. */
static void read_text(uint64_t i)
{
    int fd = open(g_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        emit_step_u64("err", i, (uint64_t)errno);
        return;
    }
    for (;;) {
        ssize_t r = read(fd, g_io, sizeof g_io);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            /* The chunks so far are dropped by the err record. */
            int e = errno;
            close(fd);
            emit_step_u64("err", i, (uint64_t)e);
            return;
        }
        if (r == 0)
            break;
        emit_chunk(g_io, (size_t)r);
    }
    close(fd);
    emit_step("text", i);
}

/* Fills `c` for a step that is one system call of the model's vocabulary;
 * returns 0 for the other steps.  ADDR and ADDR2 are the step's addresses,
 * resolved. */
static int step_call(const struct step *st, uint64_t addr, uint64_t addr2,
                     struct sys_call *c)
{
    memset(c, 0, sizeof *c);
    switch (st->kind) {
    case K_MMAP:
        SET_CALL(c, mmap, addr, st->len, st->prot, st->flags,
                 (uint64_t)st->fd, st->offset);
        return 1;
    case K_MUNMAP:
        SET_CALL(c, munmap, addr, st->len);
        return 1;
    case K_MPROTECT:
        SET_CALL(c, mprotect, addr, st->len, st->prot);
        return 1;
    case K_BRK:
        SET_CALL(c, brk, addr);
        return 1;
    case K_FTRUNCATE:
        SET_CALL(c, ftruncate, (uint64_t)st->fd, st->len);
        return 1;
    case K_MREMAP:
        SET_CALL(c, mremap, addr, st->len, st->len2, st->flags, addr2);
        return 1;
    case K_MADVISE:
        SET_CALL(c, madvise, addr, st->len, st->flags);
        return 1;
    case K_MLOCK:
        SET_CALL(c, mlock2, addr, st->len, st->flags);
        return 1;
    case K_MUNLOCK:
        SET_CALL(c, munlock, addr, st->len);
        return 1;
    case K_MLOCKALL:
        SET_CALL(c, mlockall, st->flags);
        return 1;
    case K_MUNLOCKALL:
        c->name = "munlockall";
        c->nr = SYS_munlockall;
        return 1;
    case K_MSYNC:
        SET_CALL(c, msync, addr, st->len, st->flags);
        return 1;
    case K_MINCORE:
        /* The vector is the child's own buffer. */
        SET_CALL(c, mincore, addr, st->len, (uint64_t)(uintptr_t)g_io);
        return 1;
    default:
        return 0;
    }
}

static long do_call(const struct sys_call *c)
{
    return syscall(c->nr, c->a[0], c->a[1], c->a[2], c->a[3], c->a[4], c->a[5]);
}

static void do_mincore(uint64_t i, const struct sys_call *c)
{
    uint64_t len = c->a[1];
    long r = do_call(c);
    if (r < 0) {
        emit_step_u64("err", i, (uint64_t)errno);
        return;
    }
    emit_chunk(g_io, (size_t)((len + 4095) / 4096));
    emit_step("bytes", i);
}

struct cap_header { uint32_t version; int pid; };
struct cap_data { uint32_t effective, permitted, inheritable; };

static long drop_caps(void)
{
    struct cap_header h = { 0x20080522, 0 }; /* _LINUX_CAPABILITY_VERSION_3 */
    struct cap_data d[2];
    memset(d, 0, sizeof d);
    return syscall(SYS_capset, &h, d);
}

static long set_soft_limit(int resource, uint64_t value)
{
    struct rlimit rl;
    if (getrlimit(resource, &rl) < 0)
        return -1;
    rl.rlim_cur = value == UINT64_MAX ? RLIM_INFINITY : (rlim_t)value;
    return setrlimit(resource, &rl);
}

/* Reads the script's header up to its `steps K` line and returns K (and the number of files in FILES).  Opens
 * the files of `opens` in the working directory if OPEN_FILES, else gives
 * them the numbers FAKE_FD_BASE, FAKE_FD_BASE + 1, ... (for `calls`). */
static uint64_t parse_header(const char **cur, int open_files, uint64_t *files)
{
    expect_word(cur, "mmsim-hostchild");
    if (parse_u64(cur) != 1)
        fail("script: unsupported protocol version", NULL);
    end_line(cur);
    expect_word(cur, "files");
    uint64_t nfiles = parse_u64(cur);
    *files = nfiles;
    end_line(cur);
    for (uint64_t i = 0; i < nfiles; i++) {
        parse_u64(cur);
        end_line(cur);
    }
    expect_word(cur, "opens");
    uint64_t nopens = parse_u64(cur);
    end_line(cur);
    if (nopens > MAX_OPENS)
        fail("script: too many opens", NULL);
    for (uint64_t i = 0; i < MAX_OPENS; i++)
        g_fds[i] = -1;
    for (uint64_t i = 0; i < nopens; i++) {
        uint64_t file = parse_u64(cur);
        size_t wn;
        const char *w = word(cur, &wn);
        int mode;
        if (word_is(w, wn, "r"))
            mode = O_RDONLY;
        else if (word_is(w, wn, "w"))
            mode = O_WRONLY;
        else if (word_is(w, wn, "rw"))
            mode = O_RDWR;
        else
            fail("script: bad open mode", NULL);
        end_line(cur);
        if (file >= nfiles)
            fail("script: open of an unknown file", NULL);
        if (!open_files) {
            g_fds[i] = FAKE_FD_BASE + (int)i;
            continue;
        }
        set_path("", "f", file);
        g_fds[i] = open(g_path, mode | O_CLOEXEC);
        if (g_fds[i] < 0)
            fail_errno(g_path);
    }
    expect_word(cur, "swaps");
    g_nswaps = parse_u64(cur);
    end_line(cur);
    if (g_nswaps > MAX_SWAPS)
        fail("script: too many swap files", NULL);
    for (uint64_t i = 0; i < g_nswaps; i++) {
        g_swap_flags[i] = (int)parse_u64(cur);
        size_t wn;
        const char *w = word(cur, &wn);
        if (wn == 0 || wn >= sizeof g_swap_path[i])
            fail("script: bad swap file path", NULL);
        memcpy(g_swap_path[i], w, wn);
        g_swap_path[i][wn] = 0;
        end_line(cur);
    }
    expect_word(cur, "groups");
    g_ngroups = parse_u64(cur);
    end_line(cur);
    if (g_ngroups > MAX_GROUPS)
        fail("script: too many memory cgroups", NULL);
    for (uint64_t i = 0; i < g_ngroups; i++) {
        size_t wn;
        const char *w = word(cur, &wn);
        if (wn == 0 || wn >= sizeof g_group_path[i])
            fail("script: bad memory cgroup path", NULL);
        memcpy(g_group_path[i], w, wn);
        g_group_path[i][wn] = 0;
        end_line(cur);
    }
    expect_word(cur, "steps");
    uint64_t nsteps = parse_u64(cur);
    end_line(cur);
    if (nsteps >= UINT32_MAX)
        fail("script: too many steps", NULL);
    return nsteps;
}

static void __attribute__((noreturn))
run_steps(const char *cur, uint64_t nsteps, uint64_t me, uint64_t next_index)
{
    for (uint64_t i = 0; i < nsteps; i++) {
        struct step st;
        uint64_t child_index = 0;
        parse_step(&cur, &st);
        if (st.kind == K_FORK)
            child_index = next_index++; /* every process counts forks */
        if (st.proc != me)
            continue;
        wait_turn(i);
        settle_exit();

        uint64_t addr = st.addr.abs;
        if (st.addr.slot >= 0)
            addr = g_sync->slots[st.addr.slot] + (uint64_t)st.addr.off;
        uint64_t addr2 = st.addr2.abs;
        if (st.addr2.slot >= 0)
            addr2 = g_sync->slots[st.addr2.slot] + (uint64_t)st.addr2.off;
        int has_value = 0;
        uint64_t value = 0;
        long r;
        struct sys_call call;
        step_call(&st, addr, addr2, &call);

        switch (st.kind) {
        case K_MMAP:
            /* MAP_FIXED over the sync page would silently detach this
             * process from the others: refuse rather than hang. */
            if ((st.flags & MAP_FIXED) && overlaps_sync_page(addr, st.len))
                fail("step would map over the harness's sync page", NULL);
            r = do_call(&call);
            emit_result(i, r);
            has_value = r != -1;
            value = (uint64_t)r;
            break;
        case K_MUNMAP:
            if (overlaps_sync_page(addr, st.len))
                fail("step would unmap the harness's sync page", NULL);
            r = do_call(&call);
            emit_result(i, r);
            has_value = r != -1;
            value = (uint64_t)r;
            break;
        case K_MPROTECT:
            if (overlaps_sync_page(addr, st.len))
                fail("step would change the harness's sync page", NULL);
            r = do_call(&call);
            emit_result(i, r);
            has_value = r != -1;
            value = (uint64_t)r;
            break;
        case K_BRK:
            /* The raw brk returns the (possibly unchanged) break. */
            r = do_call(&call);
            emit_step_u64("val", i, (uint64_t)r);
            has_value = 1;
            value = (uint64_t)r;
            break;
        case K_FTRUNCATE:
            r = do_call(&call);
            emit_result(i, r);
            has_value = r != -1;
            value = (uint64_t)r;
            break;
        case K_MREMAP:
            if (overlaps_sync_page(addr, st.len) ||
                ((st.flags & MREMAP_FIXED) && overlaps_sync_page(addr2, st.len2)))
                fail("step would move the harness's sync page", NULL);
            r = do_call(&call);
            emit_result(i, r);
            has_value = r != -1;
            value = (uint64_t)r;
            break;
        case K_MADVISE:
            if (overlaps_sync_page(addr, st.len))
                fail("step would advise on the harness's sync page", NULL);
            r = do_call(&call);
            {
                int e = errno;
                drain_lru_batches();
                if (st.flags == 21 /* MADV_PAGEOUT */) {
                    wait_for_writeback();
                    drain_all_lru_batches();
                }
                errno = e;
            }
            emit_result(i, r);
            has_value = r != -1;
            value = (uint64_t)r;
            break;
        case K_MLOCK:
            r = do_call(&call);
            emit_result(i, r);
            has_value = r != -1;
            value = (uint64_t)r;
            break;
        case K_MUNLOCK:
            r = do_call(&call);
            emit_result(i, r);
            has_value = r != -1;
            value = (uint64_t)r;
            break;
        case K_MLOCKALL:
            r = do_call(&call);
            emit_result(i, r);
            has_value = r != -1;
            value = (uint64_t)r;
            break;
        case K_MUNLOCKALL:
            r = do_call(&call);
            emit_result(i, r);
            has_value = r != -1;
            value = (uint64_t)r;
            break;
        case K_MSYNC:
            r = do_call(&call);
            emit_result(i, r);
            has_value = r != -1;
            value = (uint64_t)r;
            break;
        case K_MINCORE:
            do_mincore(i, &call);
            break;
        case K_PAGEMAP:
            do_pagemap(i, addr, st.len);
            break;
        case K_STATUS:
            stream_proc("/proc/self/status");
            emit_step("text", i);
            break;
        case K_SWAPON:
        case K_SWAPOFF:
            r = st.kind == K_SWAPON
                    ? syscall(SYS_swapon, g_swap_path[st.len], g_swap_flags[st.len])
                    : syscall(SYS_swapoff, g_swap_path[st.len]);
            emit_result(i, r);
            has_value = r != -1;
            value = (uint64_t)r;
            break;
        case K_SWAPS:
            stream_proc("/proc/swaps");
            emit_step("text", i);
            break;
        case K_CGWRITE:
        case K_PROCWRITE:
            if (st.kind == K_CGWRITE)
                cg_path(st.len, st.name);
            else
                self_path(st.name);
            r = write_value(&st);
            emit_result(i, r);
            has_value = r != -1;
            value = (uint64_t)r;
            break;
        case K_CGREAD:
            cg_path(st.len, st.name);
            read_text(i);
            break;
        case K_PROCREAD:
            self_path(st.name);
            read_text(i);
            break;
        case K_CGRMDIR:
            r = rmdir(g_group_path[st.len]);
            emit_result(i, r);
            has_value = r != -1;
            value = (uint64_t)r;
            break;
        case K_SETRLIMIT:
            r = set_soft_limit((int)st.flags, st.len);
            emit_result(i, r);
            has_value = r != -1;
            value = (uint64_t)r;
            break;
        case K_DROPCAPS:
            r = drop_caps();
            emit_result(i, r);
            has_value = r != -1;
            value = (uint64_t)r;
            break;
        case K_LOAD:
            do_load(i, addr, st.len);
            break;
        case K_STORE:
            do_store(i, addr, st.len, (uint8_t)st.byte);
            break;
        case K_KREAD:
            do_kread(i, addr, st.len);
            break;
        case K_KWRITE:
            do_kwrite(i, addr, st.len, (uint8_t)st.byte);
            break;
        case K_MAPS:
        case K_SMAPS:
            stream_proc(st.kind == K_MAPS ? "/proc/self/maps"
                                          : "/proc/self/smaps");
            emit_step("text", i);
            break;
        case K_FORK: {
            /* clone(CLONE_PARENT) is fork(2) for the address space, but makes
             * the new process the supervisor's child, so the supervisor sees
             * its death at once.  The raw call also skips glibc's fork
             * handlers, which would write to memory in both processes. */
            pid_t pid = (pid_t)syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0,
                                       NULL, NULL, 0);
            if (pid < 0)
                fail_errno("fork");
            if (pid == 0) {
                me = child_index;
                prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
                continue; /* the parent finishes this step */
            }
            lb_begin();
            lb_str("pid");
            lb_u64(child_index);
            lb_u64((uint64_t)pid);
            lb_end();
            emit_step_u64("val", i, child_index);
            has_value = 1;
            value = child_index;
            break;
        }
        case K_EXIT:
            emit_step("done", i);
            if (st.save >= 0)
                g_sync->slots[st.save] = NO_VALUE_BASE;
            g_sync->exit_pid = (int32_t)getpid();
            advance_to(next_live_step(cur, i + 1, nsteps, next_index));
            _exit(0);
        }
        if (st.save >= 0)
            g_sync->slots[st.save] = has_value ? value : NO_VALUE_BASE;
        advance_to(next_live_step(cur, i + 1, nsteps, next_index));
    }
    /* Every process stays until the end, so that sharing (COW, Pss) is what
     * the model assumes for processes that never called exit. */
    wait_turn(nsteps);
    _exit(0);
}

static int child_main(void)
{
    prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);

    struct rlimit rl;
    if (getrlimit(RLIMIT_STACK, &rl) < 0)
        fail_errno("getrlimit");
    size_t grow = STACK_PREGROW;
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < 4 * (rlim_t)grow)
        grow = (size_t)(rl.rlim_cur / 4) & ~(size_t)4095;
    grow_stack(grow);

    /* Far from where the steps' mappings go (top-down below mmap_base), so
     * random steps addressed relative to their own mappings never reach it,
     * and it does not change where NULL-hint mappings are placed. */
    void *sp = (void *)syscall(SYS_mmap, SYNC_PAGE_ADDR, 4096,
                               PROT_READ | PROT_WRITE,
                               MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
                               -1, 0);
    if (sp == MAP_FAILED)
        fail_errno("mmap of the sync page");
    g_sync = sp;
    if ((void *)syscall(SYS_mmap, DRAIN_PAGE_ADDR, 4096, PROT_READ,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
                        -1, 0) == MAP_FAILED)
        fail_errno("mmap of the drain page");

    /* Fault in every static buffer now, so that the steps change nothing of
     * the harness's own memory but what they must (the stack, a few
     * variables). */
    memset(g_sync, 0, sizeof *g_sync);
    memset(g_io, 0, sizeof g_io);
    memset(g_fill, 0, sizeof g_fill);
    memset(g_line, 0, sizeof g_line);
    memset(g_path, 0, sizeof g_path);
    memset(g_script, 0, sizeof g_script);

    /* The supervisor made the run's directory our working directory. */
    set_path("", "script", UINT64_MAX);
    size_t n = read_file_into(g_path, g_script, sizeof g_script - 1);
    g_script[n] = 0;

    const char *cur = g_script;
    uint64_t nfiles;
    uint64_t nsteps = parse_header(&cur, 1, &nfiles);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGSEGV, &sa, NULL) < 0 || sigaction(SIGBUS, &sa, NULL) < 0)
        fail_errno("sigaction");

    /* The init block. */
    lb_begin();
    lb_str("pid");
    lb_u64(0);
    lb_u64((uint64_t)getpid());
    lb_end();

    size_t sl = read_file_into("/proc/self/stat", g_io, sizeof g_io - 1);
    g_io[sl] = 0;
    uint64_t start_stack = stat_field((const char *)g_io, 28);
    uint64_t start_brk = stat_field((const char *)g_io, 47);
    /* The current break is not in /proc/self/stat (field 48 is arg_start):
     * brk(0) returns it without changing anything. */
    uint64_t brk_now = (uint64_t)syscall(SYS_brk, 0);
    lb_begin();
    lb_str("init");
    lb_u64(start_brk);
    lb_u64(brk_now);
    lb_u64(start_stack);
    lb_u64(rl.rlim_cur == RLIM_INFINITY ? UINT64_MAX : (uint64_t)rl.rlim_cur);
    lb_u64((uint64_t)(uintptr_t)g_sync);
    lb_u64(nfiles);
    lb_end();
    static char cwd[2048];
    if (!getcwd(cwd, sizeof cwd))
        fail_errno("getcwd");
    for (uint64_t i = 0; i < nfiles; i++) {
        struct stat stt;
        set_path(cwd, "f", i);
        if (stat(g_path, &stt) < 0)
            fail_errno(g_path);
        emit_chunk(g_path, strlen(g_path));
        lb_begin();
        lb_str("file");
        lb_u64(i);
        lb_u64(major(stt.st_dev));
        lb_u64(minor(stt.st_dev));
        lb_u64((uint64_t)stt.st_ino);
        lb_u64((uint64_t)stt.st_size);
        lb_end();
    }
    stream_proc("/proc/self/maps");
    lb_begin();
    lb_str("maps");
    lb_end();
    stream_proc("/proc/self/smaps");
    lb_begin();
    lb_str("smaps");
    lb_end();
    lb_begin();
    lb_str("ready");
    lb_end();

    run_steps(cur, nsteps, 0, 1);
}

/* ------------------------------------------------------------------ */
/* The supervisor: ordinary C, allocation allowed; it is not measured.  */

static void sup_die(const char *fmt, const char *arg)
{
    fprintf(stderr, "hostchild supervisor: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n");
    exit(1);
}

static void on_alarm(int signo)
{
    (void)signo;
    static const char msg[] =
        "hostchild supervisor: time limit reached; killing the run\n";
    write_all(2, msg, sizeof msg - 1);
    kill(0, SIGKILL);
}

static void create_file(uint64_t index, uint64_t size)
{
    static unsigned char buf[IOBUF_SIZE];
    set_path("", "f", index);
    int fd = open(g_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0)
        sup_die("cannot create %s", g_path);
    for (uint64_t off = 0; off < size;) {
        size_t n = size - off < sizeof buf ? (size_t)(size - off) : sizeof buf;
        for (size_t k = 0; k < n; k++)
            buf[k] = file_byte(index, off + k);
        write_all(fd, buf, n);
        off += n;
    }
    if (close(fd) < 0)
        sup_die("cannot write %s", g_path);
}

/* Kill-tolerant runs: the supervisor's handle on the sync page's shmem
 * object, and the script (its steps say whose turn follows whose). */
static int g_sync_fd = -1;
static const char *g_sup_text;

/* Opens the sync page of process P0 through /proc/P0/map_files, waiting for
 * P0 to map it; -1 when P0 died first or the file cannot be opened. */
static int open_sync_page(pid_t p0)
{
    char mf[96];
    snprintf(mf, sizeof mf, "/proc/%d/map_files/%lx-%lx", (int)p0,
             SYNC_PAGE_ADDR, SYNC_PAGE_ADDR + 4096);
    for (;;) {
        int fd = open(mf, O_RDWR | O_CLOEXEC);
        if (fd >= 0 || errno != ENOENT)
            return fd;
        siginfo_t si;
        memset(&si, 0, sizeof si);
        if (waitid(P_PID, (id_t)p0, &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
            si.si_pid == p0)
            return -1;
        usleep(1000);
    }
}

/* A process of a kill-tolerant run died of SIGNO: if it was running a step
 * of its own, writes `kill STEP SIGNO`, marks it dead and passes the turn on
 * (see "Kill-tolerant runs" above); returns 0 when it was not its turn. */
static int take_kill(pid_t w, int signo)
{
    static struct sync_page page;
    if (pread(g_sync_fd, &page, sizeof page, 0) != (ssize_t)sizeof page)
        return 0;
    if (page.turn_pid != (int32_t)w)
        return 0;
    uint64_t k = page.counter, nfiles;
    const char *cur = g_sup_text;
    uint64_t nsteps = parse_header(&cur, 0, &nfiles);
    if (k >= nsteps)
        return 0;
    struct step st;
    uint64_t fork_index = 1; /* process 0's first fork makes process 1 */
    for (uint64_t i = 0;; i++) {
        parse_step(&cur, &st);
        if (i == k)
            break;
        if (st.kind == K_FORK)
            fork_index++;
    }
    g_sync = &page; /* this copy: is_dead and mark_dead act on it */
    mark_dead(st.proc);
    if (st.kind == K_FORK)
        mark_dead(fork_index++);
    emit_step_u64("kill", k, (uint64_t)signo);
    uint64_t next = next_live_step(cur, k + 1, nsteps, fork_index);
    /* The bitmap first, the counter last: a waiter that sees its turn sees
     * who is dead. */
    int32_t no_turn = 0;
    uint32_t counter = (uint32_t)next;
    if (pwrite(g_sync_fd, page.dead, sizeof page.dead,
               offsetof(struct sync_page, dead)) != (ssize_t)sizeof page.dead ||
        pwrite(g_sync_fd, &no_turn, sizeof no_turn,
               offsetof(struct sync_page, turn_pid)) != (ssize_t)sizeof no_turn ||
        pwrite(g_sync_fd, &counter, sizeof counter,
               offsetof(struct sync_page, counter)) != (ssize_t)sizeof counter)
        return 0;
    return 1;
}

static int supervise(const char *tmpdir, unsigned timeout)
{
    /* Own process group, so that ending the run can never reach the
     * caller; and die with the caller. */
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);

    /* Work in the run's directory: process 0 inherits it and so needs no
     * path in its arguments. */
    if (chdir(tmpdir) < 0)
        sup_die("cannot enter %s", tmpdir);

    /* ASLR off for process 0 even without setarch: the personality is
     * inherited across fork and execve. */
    int pers = personality(0xffffffff);
    if (pers != -1 && !(pers & ADDR_NO_RANDOMIZE))
        personality((unsigned long)pers | ADDR_NO_RANDOMIZE);

    size_t cap = 1 << 16, len = 0;
    char *text = malloc(cap);
    for (;;) {
        if (!text)
            sup_die("%s", "out of memory");
        if (len + 1 >= cap) {
            cap *= 2;
            text = realloc(text, cap);
            continue;
        }
        ssize_t r = read(0, text + len, cap - len - 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            sup_die("%s", "cannot read the script");
        if (r == 0)
            break;
        len += (size_t)r;
    }
    text[len] = 0;
    if (len >= SCRIPT_MAX)
        sup_die("%s", "script too large");

    /* The files: only the header is needed here; process 0 checks the
     * rest. */
    unsigned long long nfiles, size;
    int used;
    const char *p = text;
    if (sscanf(p, "mmsim-hostchild 1\nfiles %llu\n%n", &nfiles, &used) < 1)
        sup_die("%s", "bad script header");
    p += used;
    for (unsigned long long i = 0; i < nfiles; i++) {
        if (sscanf(p, "%llu\n%n", &size, &used) < 1)
            sup_die("%s", "bad file line");
        p += used;
        create_file(i, size);
    }

    set_path("", "script", UINT64_MAX);
    int fd = open(g_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        sup_die("cannot create %s", g_path);
    write_all(fd, text, len);
    close(fd);
    /* Kept: a kill-tolerant run reads its steps again after a kill. */
    g_sup_text = text;
    {
        const char *q = text;
        uint64_t nf;
        parse_header(&q, 0, &nf);
    }

    int self = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    if (self < 0)
        sup_die("%s", "cannot open /proc/self/exe");

    if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
        sup_die("%s", "cannot become a subreaper");
    signal(SIGALRM, on_alarm);
    alarm(timeout);

    /* One CPU for the whole run (see "Per-CPU LRU batches" above). */
    {
        int cpu = sched_getcpu();
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(cpu < 0 ? 0 : cpu, &set);
        if (sched_setaffinity(0, sizeof set, &set) < 0)
            sup_die("%s", "cannot pin the run to one CPU");
    }

    pid_t sup = getpid();
    pid_t p0 = fork();
    if (p0 < 0)
        sup_die("%s", "fork failed");
    if (p0 == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
        if (getppid() != sup)
            _exit(1);
        signal(SIGALRM, SIG_DFL);
        /* Process 0's initial stack holds its arguments, environment and
         * exec file name, so they are all fixed: no directory, no build
         * path, no environment.  Executing the binary through an fd at a
         * fixed number makes the file name "/dev/fd/9" wherever the binary
         * lives. */
        char *argv[] = { "hostchild", "child", NULL };
        char *envp[] = { NULL };
        if (dup3(self, EXEC_FD, O_CLOEXEC) < 0)
            _exit(127);
        syscall(SYS_execveat, EXEC_FD, "", argv, envp, AT_EMPTY_PATH);
        fprintf(stderr, "hostchild supervisor: cannot execute itself: %s\n",
                strerror(errno));
        _exit(127);
    }

    if (g_ngroups)
        g_sync_fd = open_sync_page(p0);

    for (;;) {
        int status;
        pid_t w = waitpid(-1, &status, __WALL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            break; /* ECHILD: everyone is gone */
        }
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
            continue;
        int tolerated = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL && g_sync_fd >= 0;
        if (tolerated && take_kill(w, SIGKILL))
            continue;
        char msg[256];
        if (tolerated)
            snprintf(msg, sizeof msg,
                     "hostchild supervisor: process pid %d was killed by SIGKILL "
                     "while another process ran its step (the OOM killer chose a "
                     "process that was not running); the run cannot follow that\n",
                     (int)w);
        else if (WIFSIGNALED(status))
            snprintf(msg, sizeof msg,
                     "hostchild supervisor: process pid %d was killed by "
                     "signal %d (%s)\n",
                     (int)w, WTERMSIG(status), strsignal(WTERMSIG(status)));
        else
            snprintf(msg, sizeof msg,
                     "hostchild supervisor: process pid %d exited with "
                     "status %d\n",
                     (int)w, WEXITSTATUS(status));
        write_all(2, msg, strlen(msg));
        /* The others may wait for a step that will never come. */
        kill(0, SIGKILL);
    }
    return 0;
}

/* `hostchild calls`: reads a script on stdin and prints, for each step, the
 * system call the runner would make (`call NAME ARG...`, addresses relative
 * to a result slot taken from slot value 0) or `other` for a step that is
 * not one.  Nothing is run. */
static int list_calls(void)
{
    size_t n = 0;
    for (;;) {
        ssize_t r = read(0, g_script + n, sizeof g_script - 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            fail_errno("read");
        if (r == 0)
            break;
        n += (size_t)r;
        if (n == sizeof g_script - 1)
            fail("script: too long", NULL);
    }
    g_script[n] = 0;
    const char *cur = g_script;
    uint64_t nfiles;
    uint64_t nsteps = parse_header(&cur, 0, &nfiles);
    (void)nfiles;
    for (uint64_t i = 0; i < nsteps; i++) {
        struct step st;
        struct sys_call c;
        parse_step(&cur, &st);
        uint64_t addr = st.addr.abs + (uint64_t)st.addr.off;
        uint64_t addr2 = st.addr2.abs + (uint64_t)st.addr2.off;
        lb_begin();
        if (step_call(&st, addr, addr2, &c)) {
            lb_str("call ");
            lb_str(c.name);
            for (int k = 0; k < c.argc; k++) {
                /* The child's own buffers are not the script's business. */
                if (st.kind == K_MINCORE && k == 2)
                    lb_str(" own");
                else
                    lb_u64(c.a[k]);
            }
        } else {
            lb_str("other");
        }
        lb_end();
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "supervise") == 0) {
        unsigned timeout = 60;
        if (argc >= 4)
            timeout = (unsigned)strtoul(argv[3], NULL, 10);
        return supervise(argv[2], timeout ? timeout : 60);
    }
    if (argc == 2 && strcmp(argv[1], "child") == 0)
        return child_main();
    if (argc == 2 && strcmp(argv[1], "calls") == 0)
        return list_calls();
    if (argc == 5 && strcmp(argv[1], "file-bytes") == 0) {
        uint64_t file = strtoull(argv[2], NULL, 10);
        uint64_t off = strtoull(argv[3], NULL, 10);
        uint64_t len = strtoull(argv[4], NULL, 10);
        for (uint64_t done = 0; done < len;) {
            size_t n = len - done < sizeof g_io ? (size_t)(len - done)
                                                : sizeof g_io;
            for (size_t k = 0; k < n; k++)
                g_io[k] = file_byte(file, off + done + k);
            write_all(1, g_io, n);
            done += n;
        }
        return 0;
    }
    fprintf(stderr,
            "usage: hostchild supervise TMPDIR [TIMEOUT] < script\n"
            "       hostchild file-bytes FILE OFFSET LEN\n"
            "       hostchild calls < script\n");
    return 2;
}

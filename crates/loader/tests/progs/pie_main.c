/*
 * A position-independent program that never runs: its PT_INTERP names the dump program,
 * which runs in its place and shows the layout the kernel gave this program.
 * -DBIG_BSS gives it 3 MiB of bss.
 */

static volatile char data[64] = { 1 };
#ifdef BIG_BSS
static volatile char big[3 << 20];
#endif

void _start(void)
{
    data[0] = 2;
#ifdef BIG_BSS
    big[0] = 1;
#endif
    for (;;)
        ;
}

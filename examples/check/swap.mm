# Run with `mmsim check examples/check/swap.mm` (as root: the host side makes and activates
# a real swap file, and removes it afterwards). Swap mid-run: anonymous pages paged out to
# a swap file, swapped back in by faults, shared with a child through their swap entries,
# and pulled back by swapoff; /proc/swaps, smaps and mincore compared step by step.
process A
p = mmap(NULL, 64K, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)
store p 0x41 x 64K

# No swap yet: MADV_PAGEOUT of anonymous memory has nowhere to put it.
madvise(p, 16K, MADV_PAGEOUT)
smaps
swapon "/swapfile" 1M
swaps

# Now the pages go out: swap entries in the page tables, Swap in smaps, slots in use.
madvise(p, 32K, MADV_PAGEOUT)
smaps
swaps
load p+4K 1
mincore(p, 32K, 0)
B = fork()
B: load p+8K 1
B: store p+12K 0x42 x 1
smaps A
smaps B
B: exit(0)

# swapoff brings every page still on the device back into memory.
swapoff "/swapfile"
swaps
smaps A
A: load p+20K 1

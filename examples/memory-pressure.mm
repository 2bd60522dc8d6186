# Demand paging under pressure: a process larger than RAM, swap, major faults, the OOM killer.
#
# This machine has 16 MiB of RAM and an 8 MiB swap file. Linux keeps a few hundred KiB
# free at all times: min_free_kbytes (512 KiB here, √(16 × RAM in KiB)) sets the min, low
# and high watermarks, and kswapd wakes whenever a fault leaves free memory below low.
set ram 16M
swapon "/swapfile" 8M
cat "/proc/sys/vm/min_free_kbytes"

# Process A maps 20 MiB and writes every page: more than the machine has. Each page it
# writes is new anonymous memory on the inactive list. When memory runs short, reclaim
# scans those lists: a page touched since the last look gets a second chance, the others
# are given a swap slot (add_to_swap), unmapped, written out (shrink_folio_list, pageout)
# and their frames reused. A's page tables now hold swap entries for them.
process A
p = mmap(NULL, 20M, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)
store p 0x11 x 20M
status
expect rss(A) < 16M                                   # it cannot all be resident...
expect file_key("/proc/vmstat", "pswpout") > 1000     # ...so pages went out to swap
expect file_key("/proc/vmstat", "pgsteal_kswapd") + file_key("/proc/vmstat", "pgsteal_direct") > 1000
expect pte_present(A, p) == 0                         # the first page written is one of them
swaps

# Reading the first page back: its frame was reused long ago, so the fault reads it from
# the swap device (do_swap_page): a major fault. Swap readahead reads its neighbours into
# the swap cache at the same time.
m = majflt(A)
expect load_byte(A, p) == 0x11
expect majflt(A) == m + 1
expect pte_present(A, p) == 1

# Every byte survives the round trip, however often pages go out and come back.
expect load_byte(A, p + 10M) == 0x11
expect load_byte(A, p + 20M - 1) == 0x11
expect file_key("/proc/vmstat", "workingset_refault_anon") > 0
cat "/proc/meminfo"

# Swap is finite. Process B wants 8 MiB more: A's pages fill the swap file, and then there
# is nothing left to reclaim. The OOM killer runs and picks the process with the highest
# badness, its resident pages plus its swap entries (the swapents column) plus its page
# tables: A, by far.
process B
q = mmap(NULL, 8M, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)
store q 0x22 x 8M
expect wait_status(A) == SIGKILL
expect load_byte(B, q) == 0x22
dmesg
expect dmesg_count("Out of memory: Killed process") == 1

# Killing A freed its frames and its swap slots alike.
swaps
expect file_key("/proc/vmstat", "oom_kill") == 1

# The OOM killer: when memory runs out, the kernel picks a process to kill.
#
# Memory is promised at mmap but taken at the first touch (demand paging), so a machine can
# run out long after every mmap succeeded. When a page fault finds no free frame and
# reclaim has nothing to give back, Linux's OOM killer chooses a victim by its "badness":
# the pages it holds (resident, swapped out, page tables) plus oom_score_adj thousandths of
# all memory. The victim gets SIGKILL, its memory is freed, and the fault that ran out of
# memory goes on as if nothing happened.
set ram 32M
process small
s = mmap(NULL, 2M, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)
store s 1 x 2M

# A big process takes most of the machine.
process big
b = mmap(NULL, 20M, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)
store b 2 x 20M

# /proc/PID/oom_score is the badness scaled to 0..2000 and then by 2/3: big scores higher.
big: cat "/proc/self/oom_score"
small: cat "/proc/self/oom_score"
use big
expect file_value("/proc/self/oom_score") > 666
free

# small now touches 12 MiB more than is free. Its fault finds no frame: the OOM killer
# runs, picks big (the worse), kills it, and small's stores go on.
use small
t = mmap(NULL, 12M, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)
store t 3 x 12M
expect wait_status(big) == SIGKILL       # what wait() tells big's parent
expect load_byte(s) == 1                  # small's memory is intact
expect file_key("/proc/vmstat", "oom_kill") == 1

# The kernel log has the report Linux prints, ending with the victim's sizes.
dmesg
expect dmesg_count("Out of memory: Killed process") == 1

# oom_score_adj -1000 makes a process unkillable; its oom_score reads 0.
echo -1000 > "/proc/self/oom_score_adj"
cat "/proc/self/oom_score"

# A memory cgroup limits a group of processes: here 4 MiB. Going over it kills inside the
# group only, even though small (outside, and now the biggest) would score higher.
mkdir "/sys/fs/cgroup/box"
echo 4M > "/sys/fs/cgroup/box/memory.max"
process boxed
echo pid(boxed) > "/sys/fs/cgroup/box/cgroup.procs"
x = mmap(NULL, 8M, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)
store x 4 x 8M
expect wait_status(boxed) == SIGKILL
cat "/sys/fs/cgroup/box/memory.events"
expect file_key("/sys/fs/cgroup/box/memory.events", "oom_kill") == 1
expect file_value("/sys/fs/cgroup/box/memory.peak") == 4M
dmesg

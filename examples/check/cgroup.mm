# Run with `mmsim check examples/check/cgroup.mm` as root on a machine whose memory cgroups
# are v2 (examples/check/cgroup-v1.mm is the same for the v1 interface). The host side makes
# the group below one of its own and removes it afterwards. A child joins a group limited
# to 8 MiB and writes 32 MiB: the OOM killer ends it in that store, on the host and in the
# model; its parent reads the group's files. Compared: the kill, the limit and the OOM
# counts exactly, the peak usage within 512 KiB (the host also charges kernel objects).
process A
mkdir "/sys/fs/cgroup/box"
echo 8M > "/sys/fs/cgroup/box/memory.max"
echo 0 > "/sys/fs/cgroup/box/memory.swap.max"
cat "/sys/fs/cgroup/box/memory.max"
B = fork()
echo pid(B) > "/sys/fs/cgroup/box/cgroup.procs"
B: x = mmap(NULL, 32M, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)
B: store x 0x5a x 32M
expect wait_status(B) == SIGKILL
use A
cat "/sys/fs/cgroup/box/memory.events"
cat "/sys/fs/cgroup/box/memory.peak"
cat "/sys/fs/cgroup/box/cgroup.procs"
rmdir "/sys/fs/cgroup/box"

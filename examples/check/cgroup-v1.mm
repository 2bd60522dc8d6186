# Run with `mmsim check examples/check/cgroup-v1.mm` as root on a machine whose memory
# cgroups are v1 (examples/check/cgroup.mm is the same for v2). The host side makes the
# group below one of its own and removes it afterwards. A child joins a group limited to
# 8 MiB of memory and of memory+swap and writes 32 MiB: the OOM killer ends it in that
# store, on the host and in the model; its parent reads the group's files. Compared: the
# kill, the limit and the OOM counts exactly, the peak usage within 512 KiB (the host also
# charges kernel objects).
set cgroup 1
process A
mkdir "/sys/fs/cgroup/memory/box"
echo 8M > "/sys/fs/cgroup/memory/box/memory.limit_in_bytes"
echo 8M > "/sys/fs/cgroup/memory/box/memory.memsw.limit_in_bytes"
cat "/sys/fs/cgroup/memory/box/memory.limit_in_bytes"
B = fork()
echo pid(B) > "/sys/fs/cgroup/memory/box/cgroup.procs"
B: x = mmap(NULL, 32M, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)
B: store x 0x5a x 32M
expect wait_status(B) == SIGKILL
use A
cat "/sys/fs/cgroup/memory/box/memory.oom_control"
cat "/sys/fs/cgroup/memory/box/memory.max_usage_in_bytes"
cat "/sys/fs/cgroup/memory/box/cgroup.procs"
rmdir "/sys/fs/cgroup/memory/box"

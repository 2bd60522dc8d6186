#!/bin/bash
# Regenerates crates/replay/tests/golden/cgroup-v2/: traces of programs using memory cgroup
# v2, recorded by `mmsim record` (with the bundle of the files its replay needs) inside
# Debian's amd64 kernel booted under QEMU with cgroup2 mounted at /sys/fs/cgroup, for
# machines whose own cgroups are v1 (the replay tests of v2 then replay these).
#
# The guest runs, each as root in a fresh group below the root (memory controller enabled
# in the root's cgroup.subtree_control):
#   oom       crates/replay/tests/progs/cgroup_oom.c (memset; its first child OOM-killed)
#   populate  the same with MAP_POPULATE, recorded with --buffers (for --strict)
#   shell     busybox sh making a group, setting memory.oom.group (not modelled), and moving a
#             child shell in that execs `cgroup_oom hog`, which the group's OOM killer ends
#
# Needs (Debian bookworm, as root): qemu-system-x86 (TCG: about a minute; KVM in a VM
# refused CPU features), gcc, strace, util-linux's
# setarch, and a built mmsim (cargo build --release). Downloads linux-image-amd64 and busybox-static with
# apt-get download (nothing is installed).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
out=$repo/crates/replay/tests/golden/cgroup-v2
mmsim=${MMSIM:-$repo/target/release/mmsim}
work=$(mktemp -d)
[ -n "${KEEP:-}" ] && echo "work: $work" || trap 'rm -rf "$work"' EXIT

cd "$work"
kpkg=$(apt-cache depends linux-image-amd64 | awk '/Depends/ {print $2; exit}')
apt-get download -q "$kpkg" busybox-static >/dev/null 2>&1
dpkg -x linux-image-*.deb kernel
dpkg -x busybox-static*.deb bb

root=$work/root
mkdir -p "$root"/{bin,sbin,proc,sys,dev,tmp,out,lib64,usr/bin,lib/x86_64-linux-gnu}
cp bb/bin/busybox "$root/bin/busybox"
for applet in sh mount mkdir cat echo tail head base64 tar poweroff sleep rm ls; do
  ln -sf busybox "$root/bin/$applet"
done
gcc -O1 -o "$root/cgroup_oom" "$repo/crates/replay/tests/progs/cgroup_oom.c"
cp /usr/bin/strace "$root/usr/bin/strace"
cp /usr/bin/setarch "$root/usr/bin/setarch"
strip -o "$root/usr/bin/mmsim" "$mmsim"
# The libraries of the dynamic programs, at the paths their loader looks in.
for exe in "$root/usr/bin/strace" "$root/usr/bin/setarch" "$root/usr/bin/mmsim" "$root/cgroup_oom"; do
  ldd "$exe" | awk '/=>/ {print $3} /ld-linux/ {print $1}' | while read -r lib; do
    [ -f "$lib" ] && cp -L "$lib" "$root$lib"
  done
done

cat >"$root/init" <<'EOF'
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs dev /dev
mount -t cgroup2 cgroup2 /sys/fs/cgroup
mount -t tmpfs tmp /tmp
echo +memory > /sys/fs/cgroup/cgroup.subtree_control
cd /out
mmsim record -o oom.trace -- /cgroup_oom
mmsim record --buffers -o populate.trace -- /cgroup_oom populate
G=/sys/fs/cgroup/shell
mmsim record -o shell.trace -- /bin/sh -c "mkdir $G; echo 2M > $G/memory.max; echo 0 > $G/memory.swap.max; cat $G/memory.max; echo 1 > $G/memory.oom.group; sh -c 'echo \$\$ > $G/cgroup.procs; exec /cgroup_oom hog'; cat $G/memory.events; rmdir $G"
echo "=== traces"
tar cf - . | base64
echo "=== end"
poweroff -f
EOF
chmod +x "$root/init"
(cd "$root" && find . | "$work/bb/bin/busybox" cpio -o -H newc 2>/dev/null | gzip -1 >"$work/initrd.gz")

qemu-system-x86_64 -accel tcg -cpu max -m 1024 -smp 1 -nographic -no-reboot \
  -kernel kernel/boot/vmlinuz-* -initrd "$work/initrd.gz" \
  -append "console=ttyS0 quiet panic=-1 norandmaps" >"$work/console.txt" 2>&1 || true
sed -n '/^=== traces/,/^=== end/p' "$work/console.txt" | sed '1d;$d' | tr -d '\r' | base64 -d >"$work/traces.tar"
rm -rf "$out"
mkdir -p "$out"
tar xf "$work/traces.tar" -C "$out"
echo "kernel: $kpkg" >"$out/KERNEL"
ls -la "$out"

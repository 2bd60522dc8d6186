#!/bin/bash
# Regenerates tests/golden/i386/{686,686-pae}/: boots Debian's native i386 kernel under
# qemu-system-i386 (TCG) with a busybox initramfs holding the 32-bit test programs (exam.c
# static, static-pie and dynamic PIE; pgtables.c; rie.c three ways; vdso.c), the i386 loader and libc,
# and the oracle module (scripts/i386-oracle/), and keeps what each experiment printed.
#
# Needs (Debian bookworm, as root):
#   dpkg --add-architecture i386 && apt-get update
#   apt-get install -y qemu-system-x86 busybox-static:i386 gcc-multilib cpio \
#     linux-image-686:i386 linux-image-686-pae:i386 \
#     linux-headers-$KVER-686:i386 linux-headers-$KVER-686-pae:i386 libc6:i386
# The guest runs with ASLR off (randomize_va_space=0), one CPU and $RAM of memory (the model
# is run with the same values by the golden tests; see tests/golden/i386/README.md).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
src=$here/i386-oracle
RAM=${RAM:-1024}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

gcc -m32 -static -O1 -o "$work/exam" "$src/exam.c"
gcc -m32 -static -O1 -o "$work/pgtables" "$src/pgtables.c"
gcc -m32 -static -O1 -o "$work/vdso" "$src/vdso.c"
# rie.c three ways, for READ_IMPLIES_EXEC: PT_GNU_STACK RW (gcc's default), RWX, and none.
gcc -m32 -static -O1 -o "$work/rie" "$src/rie.c"
gcc -m32 -static -O1 -z execstack -o "$work/rie-execstack" "$src/rie.c"
cp "$work/rie" "$work/rie-nostack"
# ld has no switch to leave PT_GNU_STACK out on x86: its program header becomes PT_NULL.
drop_gnu_stack() {
  local f=$1 phoff phentsize phnum i off
  phoff=$(od -An -tu4 -j28 -N4 "$f" | tr -d ' ')
  phentsize=$(od -An -tu2 -j42 -N2 "$f" | tr -d ' ')
  phnum=$(od -An -tu2 -j44 -N2 "$f" | tr -d ' ')
  for ((i = 0; i < phnum; i++)); do
    off=$((phoff + i * phentsize))
    if [ "$(od -An -tx4 -j"$off" -N4 "$f" | tr -d ' ')" = 6474e551 ]; then
      printf '\0\0\0\0' | dd of="$f" bs=1 seek="$off" conv=notrunc status=none
    fi
  done
  if readelf -lW "$f" | grep -q GNU_STACK; then echo "PT_GNU_STACK still in $f"; exit 1; fi
}
drop_gnu_stack "$work/rie-nostack"
# exam.c again as a static PIE (no interpreter) and as a dynamic PIE (ld-linux.so.2 and the
# i386 libc copied into the initramfs), for where the kernel puts an ET_DYN program.
gcc -m32 -static-pie -O1 -o "$work/exam-pie" "$src/exam.c"
gcc -m32 -fPIE -pie -O1 -o "$work/exam-dyn" "$src/exam.c"
ldso=$(readlink -f /lib/ld-linux.so.2)
libc=$(readlink -f /lib/i386-linux-gnu/libc.so.6)
cp "$ldso" "$work/ld-linux.so.2"

# The headers of the two programs the guest runs (the ELF header and program headers sit in
# the first page), with each file's size: the golden tests exec the same images in the model.
heads=$repo/tests/golden/i386/programs
mkdir -p "$heads"
for prog in "$work/exam" "$work/pgtables" "$work/vdso" "$work/rie" "$work/rie-execstack" "$work/rie-nostack" "$work/exam-pie" "$work/exam-dyn" "$work/ld-linux.so.2" /bin/busybox; do
  { echo "size $(stat -c %s "$prog")"; od -An -v -tx1 -w32 -N 4096 "$prog"; } >"$heads/$(basename "$prog").head"
done

for flavour in 686 686-pae; do
  vmlinuz=$(ls /boot/vmlinuz-*-"$flavour" | sort -V | tail -1)
  kver=${vmlinuz#/boot/vmlinuz-}
  out=$repo/tests/golden/i386/$flavour
  mkdir -p "$out"
  root=$work/root-$flavour
  mkdir -p "$root"/{bin,proc,sys,dev}
  cp /bin/busybox "$root/bin/busybox"
  file -L "$root/bin/busybox" | grep -q 'Intel 80386' || { echo "busybox is not i386 (install busybox-static:i386)"; exit 1; }
  cp "$src/init" "$root/init"
  cp "$work/exam" "$work/pgtables" "$work/rie" "$work/rie-execstack" "$work/rie-nostack" "$work/exam-pie" "$work/exam-dyn" "$work/vdso" "$root/"
  mkdir -p "$root/lib/i386-linux-gnu"
  cp "$ldso" "$root/lib/ld-linux.so.2"
  cp "$libc" "$root/lib/i386-linux-gnu/libc.so.6"
  # The module, built against this kernel's headers (kbuild's host tools from the i386
  # headers package run through multiarch).
  mod=$work/mod-$flavour
  mkdir -p "$mod"
  cp "$src/kmod.c" "$src/Kbuild" "$mod/"
  if make -s -C "/usr/src/linux-headers-$kver" M="$mod" ARCH=x86 modules >"$work/kbuild-$flavour.log" 2>&1; then
    cp "$mod/kmod.ko" "$root/kmod.ko"
  else
    echo "module build failed for $kver (see below); goldens without the module" >&2
    tail -20 "$work/kbuild-$flavour.log" >&2
  fi
  (cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$work/initrd-$flavour.gz"
  timeout 600 qemu-system-i386 -accel tcg -m "$RAM" -smp 1 -nographic -no-reboot \
    -kernel "$vmlinuz" -initrd "$work/initrd-$flavour.gz" \
    -append "console=ttyS0 loglevel=1 no_hash_pointers nokaslr norandmaps panic=-1" \
    </dev/null | tr -d '\r' >"$work/console-$flavour.txt" || true
  grep -q '=== end$' "$work/console-$flavour.txt" || { echo "guest did not finish"; tail -30 "$work/console-$flavour.txt"; exit 1; }
  # Split the console into one file per "=== NAME" section.
  rm -f "$out"/*.txt
  awk -v dir="$out" '
    /=== [a-z0-9-]+$/ { sub(/.*=== /, ""); name = $0; next }
    name != "" && name != "end" { print > (dir "/" name ".txt") }
  ' "$work/console-$flavour.txt"
  # The module's lines without their time stamps: the addresses the tests compare.
  sed -n 's/^\[[ 0-9.]*\] \(mmsim: \)/\1/p' "$out/dmesg.txt" >"$out/module.txt"
  {
    echo "kernel: $kver ($(dpkg-query -W -f '${Version}' "linux-image-$kver:i386" 2>/dev/null || true))"
    echo "qemu: $(qemu-system-i386 --version | head -1)"
    echo "ram_mib: $RAM"
    echo "cpus: 1"
    echo "cmdline: console=ttyS0 loglevel=1 no_hash_pointers nokaslr norandmaps panic=-1"
  } >"$out/ORACLE"
  echo "wrote $out"
done

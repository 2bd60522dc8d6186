# The native i386 kernel: the 3G/1G split, lowmem and highmem, and where kmalloc, __get_free_page, vmalloc and kmap land.
#
# A 32-bit kernel has 1 GiB of address space above PAGE_OFFSET (0xc0000000). It maps the
# first RAM there directly (lowmem: kernel address = 0xc0000000 + physical address), up to
# high_memory, which stops 128 MiB short of the vmalloc area's end so vmalloc keeps room.
# Above high_memory: an 8 MiB hole, the vmalloc area, the kmap window, the fixmap. RAM beyond
# lowmem (HighMem) has no permanent kernel address at all.
#
# This machine is the one the oracle booted (tests/golden/i386/686: Debian's 6.1 686 kernel
# under QEMU): 1 GiB, of which the BIOS keeps the last 128 KiB. Its module printed
# high_memory=f6bfe000, VMALLOC_START=0xf73fe000, PKMAP_BASE=0xfec00000.
set arch i386
set ram 0x3ffe0000
zoneinfo

# The seeds' allocating module: one page, 100 bytes, a million bytes.
module alloc
expect page >= 0xc0000000
expect page < 0xf6bfe000              # lowmem: GFP_KERNEL never gets a highmem page
expect page % 4K == 0
expect obj % 128 == 0                 # kmalloc(100) is an object of kmalloc-128
expect area == 0xf73fe000             # the first vmalloc takes the bottom of the area
slabinfo
vmallocinfo

# The next vmalloc starts after the first one's guard page: 245 pages + 1 unmapped.
second = vmalloc(4096)
expect second == area + 246 * 4K

# A highmem page has no address until kmap gives it a slot in the kmap window.
hp = alloc_page()
expect hp >= 0x36bfe                  # pfn at or above max_low_pfn: HighMem
k = kmap(hp)
expect k == 0xfec01000                # slot 1, as the oracle's first kmap
explain k
kunmap(hp)
__free_page(hp)

# Freeing gives the frames back: Slab and VmallocUsed in meminfo follow.
kfree(obj)
vfree(area)
vfree(second)
free_page(page)
buddyinfo
meminfo

# The x86-64 kernel's allocators, and a module walking a process's VMAs.
#
# On x86-64 all RAM is mapped at once in the direct map at 0xffff888000000000 (without
# KASLR), so kmalloc and __get_free_page return direct-map addresses whatever the frame;
# vmalloc builds areas at 0xffffc90000000000 out of single pages from anywhere.
process A
p = mmap(NULL, 16K, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)

# The seeds' first module: walk A's VMAs with for_each_vma (the maple tree, in address
# order; once mm->mmap and vm_next) and print each vm_start-vm_end, as maps lists them.
module vmas A
maps A

# The seeds' second module.
module alloc
expect page >= 0xffff888000000000
expect obj >= 0xffff888000000000
expect obj % 128 == 0
expect area == 0xffffc90000000000
vmallocinfo

# A large kmalloc takes whole pages from the buddy allocator, not a slab.
big = kmalloc(20000)
expect big % 4K == 0
explain big
kfree(big)
kfree(obj)
vfree(area)
free_page(page)
slabinfo

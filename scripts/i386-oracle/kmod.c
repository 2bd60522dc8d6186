// SPDX-License-Identifier: GPL-2.0
/*
 * mmsim oracle module: what the seeds' two modules print. On load it allocates one page with
 * __get_free_page, 100 bytes with kmalloc and 1000000 bytes with vmalloc and prints the
 * addresses (and the physical address / pfn behind each), then walks the VMAs of the task that
 * loaded it (insmod) with for_each_vma and prints each vm_start and vm_end.
 */
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/highmem.h>
#include <asm/page.h>
#include <asm/pgtable.h>

static unsigned long page_addr;
static void *small;
static void *big;

static int __init mmsim_oracle_init(void)
{
	struct mm_struct *mm = current->mm;
	struct vm_area_struct *vma;
	VMA_ITERATOR(vmi, mm, 0);
	struct page *hp;

	pr_info("mmsim: PAGE_OFFSET=%#lx high_memory=%px VMALLOC_START=%#lx VMALLOC_END=%#lx PKMAP_BASE=%#lx FIXADDR_START=%#lx TASK_SIZE=%#lx\n",
		(unsigned long)PAGE_OFFSET, high_memory, (unsigned long)VMALLOC_START,
		(unsigned long)VMALLOC_END, (unsigned long)PKMAP_BASE,
		(unsigned long)FIXADDR_START, (unsigned long)TASK_SIZE);
	page_addr = __get_free_page(GFP_KERNEL);
	small = kmalloc(100, GFP_KERNEL);
	big = vmalloc(1000000);
	pr_info("mmsim: __get_free_page=%#lx pa=%#llx\n", page_addr,
		(unsigned long long)__pa(page_addr));
	pr_info("mmsim: kmalloc(100)=%px ksize=%zu pa=%#llx\n", small, ksize(small),
		(unsigned long long)__pa(small));
	pr_info("mmsim: vmalloc(1000000)=%px first_pfn=%#lx\n", big, vmalloc_to_pfn(big));
	hp = alloc_page(GFP_HIGHUSER);
	if (hp) {
		void *k = kmap(hp);
		pr_info("mmsim: alloc_page(GFP_HIGHUSER) pfn=%#lx highmem=%d kmap=%px\n",
			page_to_pfn(hp), PageHighMem(hp), k);
		kunmap(hp);
		__free_page(hp);
	}
	mmap_read_lock(mm);
	for_each_vma(vmi, vma)
		pr_info("mmsim: vma %#lx-%#lx\n", vma->vm_start, vma->vm_end);
	mmap_read_unlock(mm);
	return 0;
}

static void __exit mmsim_oracle_exit(void)
{
	vfree(big);
	kfree(small);
	free_page(page_addr);
}

module_init(mmsim_oracle_init);
module_exit(mmsim_oracle_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("mmsim oracle: kernel allocator addresses and a task's VMAs");

# fork and copy-on-write: parent and child share every page until one of them writes.
#
# fork does not copy memory. It copies the page tables, marks every private writable page
# read-only in both processes, and lets the first write to a page take a fault that copies
# just that page (wp_page_copy) -- or, if nobody else maps the page any more, simply makes
# it writable again (wp_page_reuse).
process A
p = mmap(NULL, 16K, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)
store p "parent data"
store p + 4K 1 x 12K                 # touch the other three pages too

# Before the fork every page of A is A's alone: its proportional share is all of it.
expect pss(A) == rss(A)

B = fork(A)
rollup A
rollup B

# After the fork: same frames, in both processes.
expect pfn(A, p) == pfn(B, p)
expect pfn(A, p + 12K) == pfn(B, p + 12K)
expect B: load p 11 == "parent data"
# Both count the shared pages in their RSS, but each gets only half of each shared page in
# its Pss, and smaps calls them Shared_Dirty (dirty: A wrote them before the fork).
# The child got every anonymous page of A; file pages (such as the program's text, once it
# runs) are not copied at all: the child faults them in again when it needs them.
expect anon(B) == anon(A)
expect pss(A) < rss(A)
expect pss(A) + pss(B) == rss(A)

# The child writes: a page fault copies that one page for the child.
a0 = pfn(A, p)
B: store p "child data!"
events B
expect pfn(B, p) != a0
expect pfn(A, p) == a0
expect pfn(A, p + 4K) == pfn(B, p + 4K)      # the other pages are still shared
expect A: load p 11 == "parent data"
expect B: load p 11 == "child data!"
# The copy replaced a shared page in B's page table: the RSS of neither changes.
expect anon(B) == anon(A)

# Now the parent writes the same page. Its frame is mapped only by A now (the child has its
# copy), so there is nothing to copy: the page is reused in place.
A: store p "PARENT"
events A
expect pfn(A, p) == a0

# The child writes the remaining pages: each is copied, and in the end nothing is shared.
B: store p + 4K 2 x 12K
expect pfn(A, p + 4K) != pfn(B, p + 4K)
rollup B
B: exit(0)

# With the child gone, A owns all its pages again.
expect pss(A) == rss(A)
rollup A

# Run with `mmsim check examples/check/truncate.mm`. A file written in large chunks sits in
# the page cache in large folios. Truncating it to an end inside one of them splits that
# folio, and a split unmaps the whole folio first: the pages of it below the new end stay
# cached but are no longer mapped (a page-cache folio is not mapped back after a split).
process A
file "big" 65536
fd = open("big", O_RDWR)
m = mmap(NULL, 32K, PROT_READ, MAP_PRIVATE, fd, 0)
load m 1
smaps A
ftruncate(fd, 20480)
smaps A
load m + 16K 1
smaps A

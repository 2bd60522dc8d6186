set ram 64M
set max_map_count 100
set rlimit_stack 16M
set thp always
set fault_around_bytes 16K
process A
p = mmap(NULL, 4M, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)
expect p != -1

# why: calls bpf_map_lookup_elem with r2 never set
# expect: is not set
# map: hash 4 8 16
lddw %r1, map:0
call 1
mov %r0, 2
exit

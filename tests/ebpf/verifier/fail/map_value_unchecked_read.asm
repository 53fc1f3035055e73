# why: reads the result of bpf_map_lookup_elem without checking it for NULL (a missing key)
# expect: may be NULL
# map: hash 4 8 16
mov %r1, 0
stxw [%r10-4], %r1
mov %r2, %r10
add %r2, -4
lddw %r1, map:0
call 1
ldxdw %r0, [%r0+0]
mov %r0, 2
exit

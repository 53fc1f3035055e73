# why: passes a number where bpf_map_lookup_elem needs a map
# expect: must be a map
stw [%r10-4], 0
mov %r2, %r10
add %r2, -4
mov %r1, 0
call 1
mov %r0, 2
exit

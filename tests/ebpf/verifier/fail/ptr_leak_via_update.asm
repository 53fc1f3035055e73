# why: spills a pointer to the stack and stores those 8 bytes into a map with bpf_map_update_elem
# strict: root's kernel lets helpers read spilled pointers
# expect: spilled pointer
# map: hash 4 8 16
stxdw [%r10-16], %r1
stw [%r10-4], 0
mov %r2, %r10
add %r2, -4
mov %r3, %r10
add %r3, -16
lddw %r1, map:0
mov %r4, 0
call 2
mov %r0, 2
exit

# why: passes NULL to bpf_csum_diff as `from` with a size of 4: the helper would read address 0
# expect: is NULL but its size
stw [%r10-4], 0
mov %r1, 0
mov %r2, 4
mov %r3, %r10
add %r3, -4
mov %r4, 4
mov %r5, 0
call 28
mov %r0, 2
exit

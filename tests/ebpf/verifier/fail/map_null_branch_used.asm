# why: reads through the lookup result in the branch where it is NULL
# map: hash 4 8 16
mov %r1, 0
stxw [%r10-4], %r1
mov %r2, %r10
add %r2, -4
lddw %r1, map:0
call 1
jne %r0, 0, out
ldxdw %r5, [%r0+0]
mov %r0, 2
exit
out:
mov %r0, 1
exit

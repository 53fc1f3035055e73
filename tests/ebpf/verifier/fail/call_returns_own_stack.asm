# why: returns a pointer into its own stack, which ends with the call
call local f
ldxdw %r1, [%r0+0]
mov %r0, 2
exit
f:
stdw [%r10-8], 0
mov %r0, %r10
add %r0, -8
exit

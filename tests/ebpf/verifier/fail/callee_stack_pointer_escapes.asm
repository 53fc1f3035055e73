# why: a called function stores a pointer to its own stack into its caller's stack; the caller then
#   writes through it after the call has returned
# expect: outlives the call
mov %r1, %r10
add %r1, -8
stdw [%r10-8], 0
call local f
ldxdw %r2, [%r10-8]
stdw [%r2+0], 7
mov %r0, 2
exit
f:
mov %r2, %r10
add %r2, -16
stxdw [%r1+0], %r2
mov %r0, 0
exit

# why: bounds only the low 32 bits (w6 < 8) of a 64-bit index, then uses all 64 bits
# map: array 4 64 1
mov %r1, 0
stxw [%r10-4], %r1
mov %r2, %r10
add %r2, -4
lddw %r1, map:0
call 1
jeq %r0, 0, out
ldxdw %r6, [%r0+0]
jlt32 %r6, 8, ok
ja out
ok:
add %r0, %r6
ldxb %r5, [%r0+0]
mov %r0, 2
exit
out:
mov %r0, 1
exit

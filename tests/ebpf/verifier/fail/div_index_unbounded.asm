# why: divides 1000 by a packet byte and indexes a 64-byte value with the quotient
# map: array 4 64 1
ldxw %r2, [%r1+0]
ldxw %r3, [%r1+4]
mov %r4, %r2
add %r4, 14
jgt %r4, %r3, out
ldxb %r6, [%r2+0]
mov %r7, 1000
div %r7, %r6
mov %r1, 0
stxw [%r10-4], %r1
mov %r2, %r10
add %r2, -4
lddw %r1, map:0
call 1
jeq %r0, 0, out
add %r0, %r7
ldxb %r5, [%r0+0]
mov %r0, 2
exit
out:
mov %r0, 1
exit

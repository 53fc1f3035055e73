# why: indexes an 8-byte value with a remainder modulo 16
# map: array 4 8 1
ldxw %r2, [%r1+0]
ldxw %r3, [%r1+4]
mov %r4, %r2
add %r4, 14
jgt %r4, %r3, out
ldxb %r6, [%r2+0]
mod %r6, 16
mov %r1, 0
stxw [%r10-4], %r1
mov %r2, %r10
add %r2, -4
lddw %r1, map:0
call 1
jeq %r0, 0, out
add %r0, %r6
ldxb %r5, [%r0+0]
mov %r0, 2
exit
out:
mov %r0, 1
exit

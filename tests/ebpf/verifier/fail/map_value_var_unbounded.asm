# why: adds a number read from the packet, with no bound, to the map value pointer
# map: hash 4 8 16
ldxw %r2, [%r1+0]
ldxw %r3, [%r1+4]
mov %r4, %r2
add %r4, 8
jgt %r4, %r3, out
ldxdw %r6, [%r2+0]
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

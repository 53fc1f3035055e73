# why: adds a 32-bit value read from the packet to the packet pointer: the offset can reach 4 GB
ldxw %r2, [%r1+0]
ldxw %r3, [%r1+4]
mov %r4, %r2
add %r4, 14
jgt %r4, %r3, out
ldxw %r5, [%r2+0]
add %r2, %r5
mov %r4, %r2
add %r4, 1
jgt %r4, %r3, out
ldxb %r0, [%r2+0]
mov %r0, 2
exit
out:
mov %r0, 1
exit

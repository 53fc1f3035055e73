# why: writes to the stack at an offset taken from the packet without a bound
ldxw %r2, [%r1+0]
ldxw %r3, [%r1+4]
mov %r4, %r2
add %r4, 14
jgt %r4, %r3, out
ldxb %r5, [%r2+0]
mov %r6, %r10
add %r6, -16
add %r6, %r5
stb [%r6+0], 0
mov %r0, 2
exit
out:
mov %r0, 1
exit

# why: writes the context pointer into the packet sent back
# strict: root's kernel allows storing pointers into the packet
# expect: stores a pointer
ldxw %r2, [%r1+0]
ldxw %r3, [%r1+4]
mov %r4, %r2
add %r4, 14
jgt %r4, %r3, out
stxdw [%r2+0], %r1
mov %r0, 2
exit
out:
mov %r0, 1
exit

# why: branches on a bit of the packet's address, so the verdict reveals it
# strict: root's kernel lets a program branch on a pointer's bits
# expect: branches on a number made from an address
ldxw %r2, [%r1+0]
ldxw %r3, [%r1+4]
mov32 %r6, %r2
jset %r6, 0x100, out
mov %r0, 2
exit
out:
mov %r0, 1
exit

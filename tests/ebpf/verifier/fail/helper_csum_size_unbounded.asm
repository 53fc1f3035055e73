# why: passes a size read from the packet (up to 255) for a 4-byte stack buffer
ldxw %r2, [%r1+0]
ldxw %r3, [%r1+4]
mov %r4, %r2
add %r4, 14
jgt %r4, %r3, out
ldxb %r5, [%r2+0]
stw [%r10-4], 0
mov %r1, %r10
add %r1, -4
mov %r2, %r5
mov %r3, 0
mov %r4, 0
mov %r5, 0
call 28
mov %r0, 2
exit
out:
mov %r0, 1
exit

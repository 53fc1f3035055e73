# why: passes an unchecked packet pointer to a function that reads it
ldxw %r2, [%r1+0]
ldxw %r3, [%r1+4]
mov %r1, %r2
call local f
mov %r0, 2
exit
f:
ldxb %r0, [%r1+0]
mov %r0, 0
exit

# why: reads through a null number
# expect: is a number, not a pointer
mov %r1, 0
ldxb %r0, [%r1+0]
mov %r0, 2
exit

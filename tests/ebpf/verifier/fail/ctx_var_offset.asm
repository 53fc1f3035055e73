# why: reads the context at a variable offset
mov %r6, %r1
call 7
and %r0, 4
add %r6, %r0
ldxw %r0, [%r6+0]
mov %r0, 2
exit

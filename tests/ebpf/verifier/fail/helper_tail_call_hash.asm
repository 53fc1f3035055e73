# why: tail-calls through a hash map instead of a program array
# map: hash 4 8 16
lddw %r2, map:0
mov %r3, 0
call 12
mov %r0, 2
exit

# why: calls itself
call local f
mov %r0, 2
exit
f:
call local f
mov %r0, 0
exit

# why: reads r1 after a call, which clobbers r1-r5
mov %r1, 1
call local f
mov %r0, %r1
mov %r0, 2
exit
f:
mov %r0, 0
exit

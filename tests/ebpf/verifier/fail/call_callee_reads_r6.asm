# why: the called function reads r6, which is not passed to it
# expect: r6 is read before
mov %r6, 1
call local f
mov %r0, 2
exit
f:
mov %r0, %r6
exit

# why: calls helper 999, which does not exist
call 999
mov %r0, 2
exit

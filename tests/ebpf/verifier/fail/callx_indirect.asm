# why: makes an indirect call (callx), whose target cannot be known
mov %r2, 1
call %r2
mov %r0, 2
exit

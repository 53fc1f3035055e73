# why: shifts right by -1
mov %r0, 2
rsh %r0, -1
mov %r0, 2
exit

# why: falls off the end of the program without exit
mov %r0, 2
exit
f:
mov %r0, 1

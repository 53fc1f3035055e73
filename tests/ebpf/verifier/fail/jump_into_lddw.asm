# why: jumps into the second half of a 64-bit immediate load
ja +1
lddw %r0, 0x100000002
mov %r0, 2
exit

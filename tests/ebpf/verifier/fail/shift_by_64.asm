# why: shifts a 64-bit register by 64
# expect: shift by 64
mov %r0, 2
lsh %r0, 64
mov %r0, 2
exit

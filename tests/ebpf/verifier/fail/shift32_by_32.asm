# why: shifts a 32-bit register by 32
mov32 %r0, 2
lsh32 %r0, 32
mov %r0, 2
exit

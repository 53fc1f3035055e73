# why: writes through the lookup result without a NULL check
# expect: may be NULL
# map: hash 4 8 16
mov %r1, 0
stxw [%r10-4], %r1
mov %r2, %r10
add %r2, -4
lddw %r1, map:0
call 1
stdw [%r0+0], 1
mov %r0, 2
exit

# why: does arithmetic on data_end, which may only be compared with
ldxw %r2, [%r1+0]
ldxw %r3, [%r1+4]
add %r3, 1
mov %r0, 2
exit

# why: subtracts a pointer from a number
# expect: subtracting a pointer from a number
ldxw %r2, [%r1+0]
ldxw %r3, [%r1+4]
mov %r5, 10
sub %r5, %r2
mov %r0, 2
exit

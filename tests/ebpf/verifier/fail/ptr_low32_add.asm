# why: adds a packet pointer to a number in 32-bit arithmetic (the kernel allows only subtraction)
# expect: 32-bit arithmetic on a pointer
ldxw %r2, [%r1+0]
ldxw %r3, [%r1+4]
mov32 %r6, %r3
add32 %r6, %r2
mov %r0, 2
exit

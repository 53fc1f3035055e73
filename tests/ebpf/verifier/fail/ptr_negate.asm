# why: negates a packet pointer, turning the address into a number
# strict: root's kernel turns the pointer into an unknown number; vigil refuses any pointer-to-number
#   conversion
# expect: turns an address into a number
ldxw %r2, [%r1+0]
ldxw %r3, [%r1+4]
neg %r2
mov %r0, 2
exit

# why: writes through an address made up as a number
# expect: is a number
mov %r1, 0x1000
stb [%r1+0], 0
mov %r0, 2
exit

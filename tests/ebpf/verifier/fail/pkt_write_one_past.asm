# why: proves 14 bytes and writes the 15th
# expect: writes 1 byte
ldxw %r2, [%r1+0]
ldxw %r3, [%r1+4]
mov %r4, %r2
add %r4, 14
jgt %r4, %r3, out
stb [%r2+14], 0
mov %r0, 2
exit
out:
mov %r0, 1
exit

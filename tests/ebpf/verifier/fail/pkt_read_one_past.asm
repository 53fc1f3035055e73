# why: proves 14 bytes, then reads 4 bytes at offset 11, one byte past what was proven
# expect: only 14 bytes are proven
ldxw %r2, [%r1+0]
ldxw %r3, [%r1+4]
mov %r4, %r2
add %r4, 14
jgt %r4, %r3, out
ldxw %r5, [%r2+11]
mov %r0, 2
exit
out:
mov %r0, 1
exit

# why: data + 14 < data_end proves 15 bytes; the program reads 2 bytes at offset 14, needing 16
# expect: only 15 bytes
ldxw %r2, [%r1+0]
ldxw %r3, [%r1+4]
mov %r4, %r2
add %r4, 14
jlt %r4, %r3, ok
mov %r0, 1
exit
ok:
ldxh %r5, [%r2+14]
mov %r0, 2
exit

# why: reads in the branch where data + 14 > data_end, the one where the bytes are missing
ldxw %r2, [%r1+0]
ldxw %r3, [%r1+4]
mov %r4, %r2
add %r4, 14
jgt %r4, %r3, read
mov %r0, 2
exit
read:
ldxb %r0, [%r2+0]
mov %r0, 1
exit

# why: reads 4 bytes at offset 2 of the context, inside two fields
ldxw %r0, [%r1+2]
mov %r0, 2
exit

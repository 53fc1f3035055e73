# why: reads the first byte of the packet without comparing data with data_end: an empty frame would
#   read past it
# expect: only 0 bytes are proven
ldxw %r2, [%r1+0]
ldxw %r3, [%r1+4]
ldxb %r0, [%r2+0]
mov %r0, 2
exit

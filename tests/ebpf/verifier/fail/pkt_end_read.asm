# why: reads through data_end, which points past the packet
# expect: data_end
ldxw %r2, [%r1+0]
ldxw %r3, [%r1+4]
ldxb %r0, [%r3+0]
mov %r0, 2
exit

# why: reads xdp_md.data as 8 bytes
ldxdw %r0, [%r1+0]
mov %r0, 2
exit

# why: reads at offset 24, past struct xdp_md
ldxw %r0, [%r1+24]
mov %r0, 2
exit

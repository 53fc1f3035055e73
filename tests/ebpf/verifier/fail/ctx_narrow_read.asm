# why: reads 2 bytes of xdp_md.ingress_ifindex
ldxh %r0, [%r1+12]
mov %r0, 2
exit

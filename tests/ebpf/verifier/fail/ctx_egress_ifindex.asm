# why: reads xdp_md.egress_ifindex, which only devmap programs have
ldxw %r0, [%r1+20]
mov %r0, 2
exit

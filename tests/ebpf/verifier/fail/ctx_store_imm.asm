# why: stores a number into xdp_md.rx_queue_index
# expect: context
stw [%r1+16], 0
mov %r0, 2
exit

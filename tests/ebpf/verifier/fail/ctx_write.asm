# why: writes to the context (xdp_md.data)
# expect: context
stxw [%r1+0], %r1
mov %r0, 2
exit

# why: computes the packet length in 32 bits (allowed) and then returns it as the verdict
# strict: root's kernel does not check XDP return values
# expect: must return an XDP action
ldxw %r2, [%r1+0]
ldxw %r3, [%r1+4]
mov32 %r0, %r3
sub32 %r0, %r2
exit

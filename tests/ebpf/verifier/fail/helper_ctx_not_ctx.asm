# why: passes a packet pointer where bpf_xdp_adjust_head needs the context
# expect: must be the context
ldxw %r2, [%r1+0]
ldxw %r3, [%r1+4]
mov %r4, %r2
add %r4, 14
jgt %r4, %r3, out
mov %r1, %r2
mov %r2, 4
call 44
mov %r0, 2
exit
out:
mov %r0, 1
exit

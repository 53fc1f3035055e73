# why: keeps using a packet pointer across bpf_xdp_adjust_head, which may move the packet
# expect: resized
mov %r6, %r1
ldxw %r2, [%r1+0]
ldxw %r3, [%r1+4]
mov %r4, %r2
add %r4, 14
jgt %r4, %r3, out
mov %r7, %r2
mov %r1, %r6
mov %r2, -4
call 44
ldxb %r0, [%r7+0]
mov %r0, 2
exit
out:
mov %r0, 1
exit

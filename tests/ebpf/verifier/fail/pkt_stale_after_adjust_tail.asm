# why: keeps a packet pointer across bpf_xdp_adjust_tail, which may shrink the packet
mov %r6, %r1
ldxw %r2, [%r1+0]
ldxw %r3, [%r1+4]
mov %r4, %r2
add %r4, 14
jgt %r4, %r3, out
mov %r7, %r2
mov %r1, %r6
mov %r2, -10
call 65
ldxb %r0, [%r7+13]
mov %r0, 2
exit
out:
mov %r0, 1
exit

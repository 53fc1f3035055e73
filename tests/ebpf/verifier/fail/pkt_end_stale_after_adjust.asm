# why: compares with a data_end loaded before bpf_xdp_adjust_head
mov %r6, %r1
ldxw %r2, [%r1+0]
ldxw %r3, [%r1+4]
mov %r7, %r3
mov %r1, %r6
mov %r2, 4
call 44
ldxw %r2, [%r6+0]
mov %r4, %r2
add %r4, 14
jgt %r4, %r7, out
ldxb %r0, [%r2+0]
mov %r0, 2
exit
out:
mov %r0, 1
exit

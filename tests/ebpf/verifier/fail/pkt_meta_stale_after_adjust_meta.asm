# why: keeps a data_meta pointer across bpf_xdp_adjust_meta, which moves it
mov %r6, %r1
ldxw %r7, [%r1+8]
ldxw %r8, [%r1+0]
mov %r4, %r7
add %r4, 4
jgt %r4, %r8, out
mov %r1, %r6
mov %r2, -4
call 54
ldxw %r5, [%r7+0]
mov %r0, 2
exit
out:
mov %r0, 1
exit

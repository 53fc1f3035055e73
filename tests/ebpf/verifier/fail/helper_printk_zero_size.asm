# why: calls bpf_trace_printk with a format size of 0
# expect: may be zero
stw [%r10-8], 0
mov %r1, %r10
add %r1, -8
mov %r2, 0
call 6
mov %r0, 2
exit

# why: prints the frame pointer with bpf_trace_printk: the address ends up in the trace the tenant
#   reads
# strict: root's kernel does not check bpf_trace_printk's extra arguments
# expect: passes a pointer
stdw [%r10-8], 0
mov %r1, %r10
add %r1, -8
mov %r2, 8
mov %r3, %r10
call 6
mov %r0, 2
exit

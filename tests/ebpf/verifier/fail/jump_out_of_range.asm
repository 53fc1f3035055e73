# why: jumps 100 instructions past the end
# expect: jump out of range
ja +100
mov %r0, 2
exit

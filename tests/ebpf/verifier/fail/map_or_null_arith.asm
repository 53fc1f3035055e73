# why: does arithmetic on the lookup result before its NULL check
# expect: before it is compared with NULL
# map: hash 4 8 16
mov %r1, 0
stxw [%r10-4], %r1
mov %r2, %r10
add %r2, -4
lddw %r1, map:0
call 1
add %r0, 8
jeq %r0, 0, out
mov %r0, 2
exit
out:
mov %r0, 1
exit

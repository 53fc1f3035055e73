# why: bounds an index with a signed test only (s> 7): a negative index passes and reaches before the
#   value
# map: array 4 64 1
mov %r1, 0
stxw [%r10-4], %r1
mov %r2, %r10
add %r2, -4
lddw %r1, map:0
call 1
jeq %r0, 0, out
ldxdw %r6, [%r0+0]
jsgt %r6, 7, out
lsh %r6, 3
add %r0, %r6
ldxdw %r5, [%r0+0]
mov %r0, 2
exit
out:
mov %r0, 1
exit

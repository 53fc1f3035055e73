# why: reads the byte before the map value
# map: hash 4 8 16
mov %r1, 0
stxw [%r10-4], %r1
mov %r2, %r10
add %r2, -4
lddw %r1, map:0
call 1
jeq %r0, 0, out
ldxb %r5, [%r0-1]
mov %r0, 2
exit
out:
mov %r0, 1
exit

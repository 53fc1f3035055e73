# why: indexes a 7-slot array of u64 with (byte & 7) * 8: slot 7 is one past the 56-byte value
# expect: outside the 56-byte value
# map: array 4 56 1
ldxw %r2, [%r1+0]
ldxw %r3, [%r1+4]
mov %r4, %r2
add %r4, 1
jgt %r4, %r3, out
ldxb %r6, [%r2+0]
and %r6, 7
lsh %r6, 3
mov %r1, 0
stxw [%r10-4], %r1
mov %r2, %r10
add %r2, -4
lddw %r1, map:0
call 1
jeq %r0, 0, out
add %r0, %r6
ldxdw %r5, [%r0+0]
mov %r0, 2
exit
out:
mov %r0, 1
exit

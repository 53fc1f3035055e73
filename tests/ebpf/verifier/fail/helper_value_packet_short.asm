# why: passes a packet pointer with 14 proven bytes as a 16-byte map value
# map: hash 4 16 16
ldxw %r2, [%r1+0]
ldxw %r3, [%r1+4]
mov %r4, %r2
add %r4, 14
jgt %r4, %r3, out
stw [%r10-4], 0
mov %r3, %r2
mov %r2, %r10
add %r2, -4
lddw %r1, map:0
mov %r4, 0
call 2
mov %r0, 2
exit
out:
mov %r0, 1
exit

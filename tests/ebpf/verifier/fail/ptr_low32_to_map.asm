# why: stores the low 32 bits of the packet's address into a map value
# strict: root's kernel turns the pointer into a number and lets it be stored
# expect: stores a pointer
# map: hash 4 8 16
ldxw %r2, [%r1+0]
ldxw %r3, [%r1+4]
mov32 %r6, %r2
mov %r1, 0
stxw [%r10-4], %r1
mov %r2, %r10
add %r2, -4
lddw %r1, map:0
call 1
jeq %r0, 0, out
stxw [%r0+0], %r6
mov %r0, 2
exit
out:
mov %r0, 1
exit

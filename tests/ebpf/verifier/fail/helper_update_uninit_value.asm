# why: updates a map with an 8-byte value of which only 4 bytes were written
# strict: root's kernel lets a helper read uninitialized stack
# expect: not initialized
# map: hash 4 8 16
stw [%r10-4], 0
stw [%r10-16], 0
mov %r2, %r10
add %r2, -4
mov %r3, %r10
add %r3, -16
lddw %r1, map:0
mov %r4, 0
call 2
mov %r0, 2
exit

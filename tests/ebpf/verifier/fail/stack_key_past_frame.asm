# why: passes an 8-byte key that starts 4 bytes below fp and so runs past the stack
# map: hash 8 8 16
stw [%r10-4], 0
mov %r2, %r10
add %r2, -4
lddw %r1, map:0
call 1
mov %r0, 2
exit

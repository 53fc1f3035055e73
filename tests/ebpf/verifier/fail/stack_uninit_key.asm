# why: passes a map key on the stack that was never written
# strict: root's kernel allows uninitialized stack as a helper's input
# expect: not initialized
# map: hash 8 8 16
mov %r2, %r10
add %r2, -8
lddw %r1, map:0
call 1
mov %r0, 2
exit

# why: exchanges a pointer into a map value atomically
# strict: root's kernel allows atomics to store pointers
# map: hash 4 8 16
mov %r1, 0
stxw [%r10-4], %r1
mov %r2, %r10
add %r2, -4
lddw %r1, map:0
call 1
jeq %r0, 0, out
mov %r1, %r10
lock xchg [%r0+0], %r1
mov %r0, 2
exit
out:
mov %r0, 1
exit

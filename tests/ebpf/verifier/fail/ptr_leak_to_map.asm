# why: stores the frame pointer into a map value, where the tenant can read it back
# strict: root's kernel allows storing pointers into maps
# expect: stores a pointer
# map: hash 4 8 16
mov %r1, 0
stxw [%r10-4], %r1
mov %r2, %r10
add %r2, -4
lddw %r1, map:0
call 1
jeq %r0, 0, out
stxdw [%r0+0], %r10
mov %r0, 2
exit
out:
mov %r0, 1
exit

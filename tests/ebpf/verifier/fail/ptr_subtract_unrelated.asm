# why: subtracts a map value pointer from the stack pointer, revealing the distance between them
# strict: root's kernel allows subtracting unrelated pointers
# expect: subtracting pointers
# map: hash 4 8 16
mov %r1, 0
stxw [%r10-4], %r1
mov %r2, %r10
add %r2, -4
lddw %r1, map:0
call 1
jeq %r0, 0, out
mov %r5, %r10
sub %r5, %r0
mov %r0, 2
exit
out:
mov %r0, 1
exit

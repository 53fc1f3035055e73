# why: looks up an element of a program array
# map: prog_array 4 4 4
mov %r1, 0
stxw [%r10-4], %r1
mov %r2, %r10
add %r2, -4
lddw %r1, map:0
call 1
mov %r0, 2
exit

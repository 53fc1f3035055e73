# why: updates a devmap from the program
# map: devmap 4 4 4
stw [%r10-4], 0
stw [%r10-8], 1
mov %r2, %r10
add %r2, -4
mov %r3, %r10
add %r3, -8
lddw %r1, map:0
mov %r4, 0
call 2
mov %r0, 2
exit

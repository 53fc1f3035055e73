# why: checks one lookup's result, calls another helper (clobbering the copy in r1-r5), and reads
#   through the stale copy
# expect: r3 is read before
# map: hash 4 8 16
mov %r1, 0
stxw [%r10-4], %r1
mov %r2, %r10
add %r2, -4
lddw %r1, map:0
call 1
mov %r3, %r0
jeq %r0, 0, out
call 7
ldxb %r5, [%r3+0]
mov %r0, 2
exit
out:
mov %r0, 1
exit

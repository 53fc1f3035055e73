# why: checks r6 against the bound but indexes with r7
# map: array 4 64 1
mov %r1, 0
stxw [%r10-4], %r1
mov %r2, %r10
add %r2, -4
lddw %r1, map:0
call 1
jeq %r0, 0, out
ldxdw %r6, [%r0+0]
ldxdw %r7, [%r0+8]
jgt %r6, 7, out
add %r0, %r7
ldxb %r5, [%r0+0]
mov %r0, 2
exit
out:
mov %r0, 1
exit

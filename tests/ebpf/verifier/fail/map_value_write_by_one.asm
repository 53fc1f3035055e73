# why: writes 8 bytes at offset 9 of a 16-byte value: one byte past its end
# expect: outside the 16-byte value
# map: array 4 16 4
mov %r1, 0
stxw [%r10-4], %r1
mov %r2, %r10
add %r2, -4
lddw %r1, map:0
call 1
jeq %r0, 0, out
stdw [%r0+9], 0
mov %r0, 2
exit
out:
mov %r0, 1
exit

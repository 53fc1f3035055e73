# why: adds atomically to 8 bytes at offset 4 of a map value: atomic operations need natural alignment
#   (found by verifier_fuzz)
# expect: misaligned atomic
# map: hash 4 16 16
mov %r1, 0
stxw [%r10-4], %r1
mov %r2, %r10
add %r2, -4
lddw %r1, map:0
call 1
jeq %r0, 0, out
mov %r1, 1
lock add [%r0+4], %r1
mov %r0, 2
exit
out:
mov %r0, 1
exit

# why: counts up to a random bound the verifier cannot see
# expect: too complex
call 7
mov %r6, %r0
mov %r7, 0
loop:
add %r7, 1
jlt %r7, %r6, loop
mov %r0, 2
exit

# why: loops forever through the same state
# expect: infinite loop
mov %r0, 2
loop:
mov %r1, 0
ja loop

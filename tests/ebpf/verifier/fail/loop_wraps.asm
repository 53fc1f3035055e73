# why: counts down from 10 with an unsigned test that never ends (r1 >= 0 always holds)
mov %r1, 10
loop:
sub %r1, 1
jge %r1, 0, loop
mov %r0, 2
exit

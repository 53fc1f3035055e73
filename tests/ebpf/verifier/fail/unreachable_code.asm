# why: contains instructions no path reaches (after an unconditional jump): code the verifier would
#   never check
# expect: unreachable
ja +2
mov %r0, 9
exit
mov %r0, 2
exit

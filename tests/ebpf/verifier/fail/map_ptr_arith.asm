# why: adds to a map pointer
# map: hash 4 8 16
lddw %r1, map:0
add %r1, 8
mov %r0, 2
exit

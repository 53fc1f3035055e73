# why: redirects through an array map instead of a devmap
# map: array 4 4 4
lddw %r1, map:0
mov %r2, 0
mov %r3, 0
call 51
exit

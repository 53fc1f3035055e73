# why: passes NULL as the map key
# map: hash 4 8 16
lddw %r1, map:0
mov %r2, 0
call 1
mov %r0, 2
exit

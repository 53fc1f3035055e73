# why: loads the address 16 bytes into a map value of 8
# map: array 4 8 1
lddw %r1, map_value:0:16
mov %r0, 2
exit

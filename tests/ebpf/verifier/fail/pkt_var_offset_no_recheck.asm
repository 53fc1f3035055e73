# why: adds a variable offset (a byte & 0x3f) to the packet pointer and reads through it without a new
#   comparison with data_end
# expect: proven before data_end
ldxw %r2, [%r1+0]
ldxw %r3, [%r1+4]
mov %r4, %r2
add %r4, 14
jgt %r4, %r3, out
ldxb %r5, [%r2+0]
and %r5, 0x3f
add %r2, %r5
ldxb %r0, [%r2+0]
mov %r0, 2
exit
out:
mov %r0, 1
exit

# why: byte-swaps the context pointer, turning the address into a number
# strict: root's kernel turns the pointer into an unknown number; vigil refuses any pointer-to-number
#   conversion
mov %r2, %r1
be64 %r2
mov %r0, 2
exit

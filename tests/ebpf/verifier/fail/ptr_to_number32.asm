# why: copies the low 32 bits of the context pointer into a number
# strict: root's kernel allows a partial copy of a pointer
# expect: turns a pointer
mov32 %r0, %r1
mov %r0, 2
exit

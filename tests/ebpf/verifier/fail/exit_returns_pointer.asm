# why: returns the context pointer as the XDP action
# strict: root's kernel lets a program return a pointer; vigil would act on an address
# expect: returns a pointer
mov %r0, %r1
exit

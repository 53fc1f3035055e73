# why: returns 7, which is no XDP action
# strict: root's kernel does not check XDP return values
# expect: must return an XDP action
mov %r0, 7
exit

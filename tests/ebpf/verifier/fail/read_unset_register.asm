# why: copies r5, which was never written
# expect: r5 is read before
mov %r0, %r5
exit

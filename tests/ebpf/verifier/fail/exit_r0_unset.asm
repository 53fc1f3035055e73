# why: exits without setting r0
# expect: r0 (the return value) is not set
exit

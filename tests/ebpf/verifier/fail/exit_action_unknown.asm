# why: returns a random number
# strict: root's kernel does not check XDP return values
# expect: must return an XDP action
call 7
exit

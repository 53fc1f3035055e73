# why: writes at fp+0, above the stack (the caller's memory)
# expect: outside the 512-byte stack
stdw [%r10+0], 1
mov %r0, 2
exit

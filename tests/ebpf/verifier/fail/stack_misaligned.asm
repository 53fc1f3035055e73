# why: writes 4 bytes at fp-6, not aligned to 4
# expect: misaligned
stw [%r10-6], 1
mov %r0, 2
exit

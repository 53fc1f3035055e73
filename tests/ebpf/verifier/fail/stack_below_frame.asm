# why: reads 8 bytes at fp-520, below the 512-byte stack
# expect: outside the 512-byte stack
ldxdw %r0, [%r10-520]
mov %r0, 2
exit

# why: writes 4 bytes of a slot and reads all 8
# strict: root's kernel allows reading uninitialized stack
# expect: never written
stw [%r10-8], 1
ldxdw %r0, [%r10-8]
mov %r0, 2
exit

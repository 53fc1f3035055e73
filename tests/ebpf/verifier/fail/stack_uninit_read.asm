# why: reads 8 stack bytes that were never written
# strict: root's kernel allows reading uninitialized stack; a tenant would read another tenant's
#   leftovers
# expect: uninitialized stack
ldxdw %r0, [%r10-8]
mov %r0, 2
exit

# why: three nested functions each use 256 bytes of stack: 768 in all
stdw [%r10-256], 0
call local f
mov %r0, 2
exit
f:
stdw [%r10-256], 0
call local g
mov %r0, 0
exit
g:
stdw [%r10-256], 0
mov %r0, 0
exit

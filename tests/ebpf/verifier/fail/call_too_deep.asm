# why: nests bpf-to-bpf calls 9 deep
call local f1
mov %r0, 2
exit
f1:
call local f2
mov %r0, 0
exit
f2:
call local f3
mov %r0, 0
exit
f3:
call local f4
mov %r0, 0
exit
f4:
call local f5
mov %r0, 0
exit
f5:
call local f6
mov %r0, 0
exit
f6:
call local f7
mov %r0, 0
exit
f7:
call local f8
mov %r0, 0
exit
f8:
call local f9
mov %r0, 0
exit
f9:
mov %r0, 0
exit

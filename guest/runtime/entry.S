# entry.S: ring-3 entry points. The host starts the guest at _start for initialisation and at
# snapvm_dispatch_entry for each call, in both cases with rdi = PEB and rsp = top of the stack.
    .intel_syntax noprefix
    .text
    .globl _start
    .type _start, @function
_start:
    and rsp, -16
    xor ebp, ebp
    call snapvm_runtime_start      # never returns: ends with `out` to the kInitialised port
1:  ud2
    jmp 1b

    .globl snapvm_dispatch_entry
    .type snapvm_dispatch_entry, @function
snapvm_dispatch_entry:
    and rsp, -16
    xor ebp, ebp
    call snapvm_runtime_dispatch   # never returns: ends with `out` to the kCallDone port
2:  ud2
    jmp 2b

    .section .note.GNU-stack,"",@progbits

// An assembler for the textual eBPF syntax of the bpf_conformance and uBPF test suites, so their
// test vectors (and vigil's own tests) can be written as readable source:
//
//   mov %r0, 0x1            # 64-bit ALU; `mov32` is the 32-bit form
//   ldxw %r2, [%r1+4]       # load, `[reg+off]` or `[reg-off]`
//   stxdw [%r10-8], %r2
//   lock fetch add [%r10-8], %r1      # atomics: add/and/or/xor[32], xchg, cmpxchg
//   jne %r2, 0x0800, drop   # conditional jumps take a label or +N/-N
//   call 1                  # helper call; `call local label` calls a subprogram
//   lddw %r1, 0x1122334455667788
//   lddw %r1, map:0         # vigil extension: map 0 of LoadOptions::maps (src=1)
//   lddw %r2, map_value:1:8 # vigil extension: byte 8 of map 1's value 0 (src=2)
//   exit
//   drop:
//
// As in bpf_conformance, a jump to the label `exit` with no such label goes to the first `exit`
// instruction. Registers r0-r15 are accepted so that load-time checks can be tested with r11+.
//
//   auto insns = ebpf::Assemble("mov %r0, 42\nexit\n");
//   if (!insns) fmt::print("{}\n", insns.error().ToString());   // "line 1: ..."
#pragma once

#include <string_view>
#include <vector>

#include "base/result.h"
#include "ebpf/isa.h"

namespace vigil::ebpf {

// Assembles `source`; fails on an unknown mnemonic, a bad operand count, register, immediate out of
// range, or an undefined label, with the 1-based line in Error::line.
[[nodiscard]] base::Result<std::vector<Insn>> Assemble(std::string_view source);

}  // namespace vigil::ebpf

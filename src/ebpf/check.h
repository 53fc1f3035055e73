// The load-time structural check: what every eBPF program must satisfy before vigil decodes it,
// whether or not a verifier runs later. It is not a verifier — it does not track values — but it
// refuses everything that can be decided one instruction at a time plus the control-flow shape:
//
//   - unknown opcodes, and non-zero fields that RFC 9669 says are unused for an opcode;
//   - registers above r10, and writes to r10 (the read-only frame pointer);
//   - division or modulo by an immediate zero (as the kernel does);
//   - jumps out of the program, out of their function, into the second half of a 64-bit
//     immediate load, or to themselves; a 64-bit immediate load missing its second half;
//   - calls to helpers that are not registered, calls to local functions out of range;
//   - functions whose last instruction is not `exit` or an unconditional jump;
//   - empty programs and programs over the size cap.
//
//   if (auto st = ebpf::CheckStructure(insns, {.helpers = &table, .num_maps = 2}); !st)
//     fmt::print("{}\n", st.error().message);   // "instruction 4: jump out of range (to 9 of 6)"
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "base/result.h"
#include "ebpf/helpers.h"
#include "ebpf/isa.h"

namespace vigil::ebpf {

struct CheckOptions {
  const HelperTable* helpers = nullptr;  // null: HelperTable::Kernel()
  size_t num_maps = 0;                   // valid map indexes for lddw src=1/2
  uint32_t max_insns = kMaxInsns;
};

// OK, or an Error whose message starts "instruction N: " and whose offset is N * 8.
[[nodiscard]] base::Status CheckStructure(std::span<const Insn> insns,
                                          const CheckOptions& options = {});

}  // namespace vigil::ebpf

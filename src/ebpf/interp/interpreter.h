// The eBPF interpreter: runs a decoded Program (program.h) with direct-threaded dispatch (each
// operation ends in an indirect jump to the next one's handler; GCC/clang computed goto), a
// 512-byte stack per frame, bpf-to-bpf calls up to 8 frames deep (r6-r9 and r10 saved across a
// call, the callee on its own frame) and tail calls through program arrays (at most 33 per run).
//
//   ebpf::Scratch scratch({.checked = true});
//   scratch.AddRegion(mem.data(), mem.size(), /*writable=*/true);
//   base::Result<uint64_t> r0 = ebpf::Run(*prog, scratch, uint64_t(mem.data()), mem.size());
//
// Checked mode (ScratchConfig::checked) bounds-checks every memory access and helper pointer, and
// ends infinite loops after ScratchConfig::step_limit instructions; a violation ends the run with
// an Error ("pc 7: out-of-bounds load of 4 bytes at 0x..."). Fast mode trusts the program.
// Semantics follow RFC 9669: division by zero gives 0, modulo by zero leaves dst unchanged, shift
// counts are masked to 63 (31), 32-bit operations zero-extend into the 64-bit register.
#pragma once

#include <cstdint>

#include "base/result.h"
#include "ebpf/jit/jit.h"
#include "ebpf/program.h"
#include "ebpf/scratch.h"

namespace vigil::ebpf {

// The interpreter itself, checked or fast as ScratchConfig::checked says (Run's contract).
[[nodiscard]] base::Result<uint64_t> Interpret(const Program& program, Scratch& scratch,
                                               uint64_t r1, uint64_t r2 = 0);

// Runs `program` with r1 = `r1`, r2 = `r2`, r10 = the top of frame 0's stack. Returns r0 at the
// final exit. Resets the per-run state of `scratch` (depth, tail calls, error, redirect). The one
// entry point for every engine: checked mode interprets; fast mode runs the program's machine code
// (jit/jit.h) when it has some and ScratchConfig::jit is set, and interprets otherwise. Inline, so
// that a JIT run costs its caller one call.
[[nodiscard]] inline base::Result<uint64_t> Run(const Program& program, Scratch& scratch,
                                                uint64_t r1, uint64_t r2 = 0) {
  if (!scratch.config().checked && scratch.config().jit && program.jit() != nullptr)
    return jit::Run(program, scratch, r1, r2);
  return Interpret(program, scratch, r1, r2);
}

}  // namespace vigil::ebpf

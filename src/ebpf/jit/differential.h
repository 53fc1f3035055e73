// Differential testing of the JIT against the interpreter (jit.h): the same program on the same
// input through both engines must give the same r0, the same memory (packet, stack, maps), the
// same redirect target and the same trace output. Used by jit_test.cc, the jit_fuzz target and
// long runs (VIGIL_JIT_DIFF_PROGRAMS).
//
//   std::mt19937_64 rng(seed);
//   auto insns = jit::RandomAluProgram(rng);
//   auto prog = ebpf::Program::Load(insns);
//   std::string diff = jit::CompareRaw(**prog, jit::RandomMemory(rng));
//   if (!diff.empty()) fmt::print("{}\n", diff);   // "r0: interpreter 0x1, JIT 0x2"
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "ebpf/isa.h"

namespace vigil::ebpf {
class Program;
class Scratch;
}  // namespace vigil::ebpf

namespace vigil::ebpf::jit {

// Bytes a raw program's r1 points to (r2 holds the size) in CompareRaw.
inline constexpr size_t kRawMemorySize = 64;

// A random raw program (ProgramType::kRaw) that exercises the exact semantics of every
// instruction the JIT compiles: all ALU operations in both widths and both source forms (signed
// division and modulo, movsx, byte swaps, shifts by out-of-range counts, operands at INT_MIN, -1,
// 0), all jumps in both widths, loads (sign-extending too), stores and all atomic operations on
// the stack and on r1's memory, helper calls (bpf_get_prandom_u32, bpf_get_smp_processor_id) and
// a bpf-to-bpf call. It is memory-safe by construction (no verifier needed): accesses go through
// r9 = r1 (never written) within kRawMemorySize bytes, or through r10 within the frame; r1-r5 are
// reloaded after each helper call, which clobbers them. r0 ends as a mix of every register.
[[nodiscard]] std::vector<Insn> RandomAluProgram(std::mt19937_64& rng);

[[nodiscard]] std::vector<uint8_t> RandomMemory(std::mt19937_64& rng);

// Runs raw `program` on a copy of `memory` with the fast interpreter and with the JIT, both on the
// same buffer and stack (zeroed before each run) and the same pseudo-random sequence: "" when r0,
// the memory, the stack and the run's outcome agree, else what differs.
[[nodiscard]] std::string CompareRaw(const Program& program, std::span<const uint8_t> memory);

// Runs XDP `program` on `frame` with the fast interpreter and with the JIT, in the same packet
// buffer, the program's maps restored in between to what they held before: "" when the verdict,
// redirect target, packet (data, metadata and their placement), maps and trace output agree, else
// what differs. Leaves the maps as both runs left them. `interp` and `jit` are the two engines'
// Scratch (fast mode, one with ScratchConfig::jit false; a fixed ScratchConfig::clock_ns for
// programs that read the time; their pseudo-random state must be equal on entry and stays equal
// when the runs agree).
[[nodiscard]] std::string CompareXdp(const Program& program, std::span<const uint8_t> frame,
                                     Scratch& interp, Scratch& jit);

}  // namespace vigil::ebpf::jit

// The x86-64 JIT: compiles a loaded Program (program.h) to machine code with asmjit, one native
// instruction sequence per eBPF instruction, no run-time checks — the verifier proved the memory
// accesses (verifier/verifier.h); unverified programs are trusted exactly as the fast interpreter
// trusts them. Program::Load compiles every program (LoadOptions::jit); ebpf::Run takes the
// machine code in fast mode (ScratchConfig::jit), so a caller rarely needs this header.
//
//   auto prog = ebpf::Program::Load(insns, {.type = ebpf::ProgramType::kXdp});
//   ebpf::Scratch scratch;                                  // fast mode, JIT on
//   auto r0 = ebpf::Run(**prog, scratch, uint64_t(&ctx));   // runs (*prog)->jit()
//
// Registers. eBPF r0-r5 live in the x86-64 registers the System V ABI uses for a call's result
// and arguments 2-6 (rax, rsi, rdx, rcx, r8, r9), so a helper call (Scratch& first, in rdi) needs
// no moves; r6-r9 and the frame pointer r10 live in callee-saved registers (rbx, r13, r14, r15,
// rbp), so the context and packet pointers that clang keeps in r6-r9 survive helper calls where
// they are; r12 holds the Scratch. rdi, r10 and r11 are the JIT's temporaries.
//
// Semantics are the interpreter's (interp/interpreter.h), instruction for instruction: division
// by zero gives 0, modulo by zero leaves dst, INT_MIN / -1 wraps, shifts are masked, 32-bit
// results are zero-extended; helpers are direct calls (the code's pages are asked for within 2 GiB
// of vigil's code; where the kernel places them farther, through asmjit's address table);
// lookups in an array, hash or LRU hash map that the code names (lddw r1, map just before) skip the
// helper: inlined for arrays, a direct call of the map for the others, as the kernel's JIT does;
// a verified program that calls nothing else enters through a lean entry that saves only the
// registers it writes (compiler.cc says how tail calls stay correct);
// bpf-to-bpf calls use the native stack for the return address and the saved r6-r9/r10, each callee
// on its own 512-byte eBPF frame, at most 8 frames; a tail call (at most 33 per run) jumps into the
// target's code on the current frame. A run that fails (a helper's Fail, too deep a call) unwinds
// to the entry with the error in Scratch::error, as the interpreter reports it.
//
// Memory is W^X: the code is written into fresh read-write pages, which become read+execute
// before the first run and are never writable again.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "base/result.h"
#include "ebpf/program.h"
#include "ebpf/scratch.h"

namespace vigil::ebpf::jit {

struct Options {
  // Constant blinding (as the kernel's bpf_jit_harden): no 32- or 64-bit immediate of the program
  // appears in the machine code; each is loaded as (imm ^ key) ^ key with a random key, so that a
  // tenant cannot plant instruction bytes in executable memory. Costs one or two instructions per
  // immediate.
  bool blind_constants = false;
};

// One program's machine code, in its own pages, released with the object.
class Code {
 public:
  // The native entry: runs the program with r1, r2 and r10 = stack_top; returns r0.
  using Entry = uint64_t (*)(Scratch* scratch, uint64_t r1, uint64_t r2, uint8_t* stack_top);

  Code(void* pages, size_t mapped, Entry entry, const void* body, size_t size, bool lean)
      : pages_(pages), mapped_(mapped), entry_(entry), body_(body), size_(size), lean_(lean) {}
  Code(const Code&) = delete;
  Code& operator=(const Code&) = delete;
  ~Code();

  [[nodiscard]] Entry entry() const { return entry_; }
  // The first instruction's code: where a tail call into this program jumps.
  [[nodiscard]] const void* body() const { return body_; }
  // Bytes of machine code.
  [[nodiscard]] size_t size() const { return size_; }
  // Whether the code enters through the lean entry (compiler.cc): it reads nothing of the Scratch
  // and cannot fail, tail-call or redirect, so it may run with a null Scratch and no BeginRun.
  [[nodiscard]] bool lean() const { return lean_; }

 private:
  void* pages_;
  size_t mapped_;
  Entry entry_;
  const void* body_;
  size_t size_;
  bool lean_;
};

// Compiles `program` (its decoded operations). Fails only when asmjit or the memory mapping does
// (out of memory), with a message that says which.
[[nodiscard]] base::Result<std::unique_ptr<const Code>> Compile(const Program& program,
                                                                const Options& options = {});

// The error of a run that failed (Scratch::error), out of line: it keeps Run small where inlined.
[[nodiscard, gnu::cold]] base::Error RunFailure(const Scratch& scratch);

// Runs `program`'s machine code (it must have some: Program::jit()) as ebpf::Run does. Inline:
// the run's fixed cost is most of a small program's.
[[nodiscard]] inline base::Result<uint64_t> Run(const Program& program, Scratch& scratch,
                                                uint64_t r1, uint64_t r2) {
  scratch.BeginRun(program);
  const uint64_t r0 = program.jit()->entry()(&scratch, r1, r2, scratch.stack_top());
  if (!scratch.error.empty()) [[unlikely]]
    return RunFailure(scratch);
  return r0;
}

}  // namespace vigil::ebpf::jit

// A loaded eBPF program: the instructions after the load-time structural check (check.h) and, for
// XDP, the rewrite of context field loads (xdp.h), decoded once into an array of operations that
// the interpreter dispatches on directly (interp/interpreter.h), and compiled from those to x86-64
// machine code (jit/jit.h). Immutable once built; share it between threads freely.
//
//   auto insns = ebpf::Assemble("mov %r0, 2\nexit");
//   auto prog = ebpf::Program::Load(*insns, {.type = ebpf::ProgramType::kXdp});
//   if (!prog) return prog.error();          // "instruction 3: jump out of range ..."
//   ebpf::Scratch scratch;
//   auto r0 = ebpf::Run(**prog, scratch, ctx);
//
// Decoding resolves everything that is known at load time: immediates are widened to 64 bits as
// the instruction's class requires, jump offsets become absolute indices, helper ids become
// function pointers, 64-bit immediate loads of a map (src=1) or a map value (src=2) become the
// address itself.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"
#include "ebpf/helpers.h"
#include "ebpf/interp/handlers.h"
#include "ebpf/isa.h"
#include "ebpf/maps.h"
#include "ebpf/verifier/verifier.h"

namespace vigil::ebpf {

namespace jit {
class Code;
}
class Scratch;

// The entry of a program's machine code (jit::Code::Entry): r1, r2 and r10 = stack_top in; r0 out.
using JitEntry = uint64_t (*)(Scratch* scratch, uint64_t r1, uint64_t r2, uint8_t* stack_top);

enum class ProgramType {
  kRaw,  // r1 and r2 are whatever the caller passes (the test suites' memory and its length)
  kXdp,  // r1 is struct xdp_md; its field loads are rewritten at load time
};

struct LoadOptions {
  ProgramType type = ProgramType::kRaw;
  // Helpers the program may call; null means HelperTable::Kernel().
  const HelperTable* helpers = nullptr;
  // The maps that 64-bit immediate loads with src=1 (map) or src=2 (map value) name by index.
  std::vector<std::shared_ptr<Map>> maps;
  uint32_t max_insns = kMaxInsns;
  std::string name;
  // XDP programs are proven safe by the verifier (verifier/verifier.h) before anything else, and
  // refused when they are not. false only for tests of the checked interpreter and the helpers'
  // own run-time refusals on programs the verifier refuses by design.
  bool verify = true;
  // For the verifier: whether the license is GPL-compatible, and the source lines for messages.
  bool gpl = true;
  const std::vector<verifier::SourceLine>* lines = nullptr;
  // Compile to machine code as well (jit/jit.h); false leaves the program to the interpreter.
  bool jit = true;
  // The JIT's constant blinding (jit::Options::blind_constants).
  bool blind_constants = false;
};

// One decoded instruction: 16 bytes, the handler first.
struct Op {
  Handler handler;
  uint8_t dst;
  uint8_t src;
  int32_t off;   // memory offset, or the absolute index of a jump or call target
  uint64_t imm;  // widened immediate; a HelperFn for helper calls; the value of lddw
};
static_assert(sizeof(Op) == 16);

class Program {
 public:
  // Checks `insns` (check.h), verifies an XDP program (unless options.verify is false), rewrites
  // context accesses for the program type, and decodes.
  [[nodiscard]] static base::Result<std::shared_ptr<const Program>> Load(
      std::span<const Insn> insns, LoadOptions options = {});
  ~Program();

  [[nodiscard]] std::span<const Op> ops() const { return ops_; }
  // The machine code, or null when loaded with LoadOptions::jit false.
  [[nodiscard]] const jit::Code* jit() const { return jit_.get(); }
  // The machine code's entry when that code is lean (jit::Code::lean), else null: RunXdp's fast
  // path calls it directly.
  [[nodiscard]] JitEntry lean_entry() const { return lean_entry_; }
  [[nodiscard]] std::span<const Insn> insns() const { return insns_; }
  [[nodiscard]] const std::vector<std::shared_ptr<Map>>& maps() const { return maps_; }
  [[nodiscard]] const HelperTable& helpers() const { return *helpers_; }
  [[nodiscard]] ProgramType type() const { return type_; }
  // Whether the verifier proved this program safe when it was loaded (XDP programs loaded with
  // LoadOptions::verify). A verified program tail-calls only verified programs (helpers.cc).
  [[nodiscard]] bool verified() const { return verified_; }
  [[nodiscard]] const std::string& name() const { return name_; }
  // Whether `p` is one of this program's maps (checked mode validates helper arguments).
  [[nodiscard]] bool HasMap(const void* p) const;

 private:
  Program() = default;
  std::vector<Insn> insns_;
  std::vector<Op> ops_;
  std::unique_ptr<const jit::Code> jit_;
  JitEntry lean_entry_ = nullptr;
  std::vector<std::shared_ptr<Map>> maps_;
  const HelperTable* helpers_ = nullptr;
  ProgramType type_ = ProgramType::kRaw;
  std::string name_;
  bool verified_ = false;
};

}  // namespace vigil::ebpf

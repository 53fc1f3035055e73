// The x86-64 code generator (jit.h). Layout of one program's code:
//
//   entry:     save the callee-saved registers, r12 = Scratch, rbp = r10, zero r0 and r3-r9,
//              remember rsp in Scratch::jit_entry_sp, call body
//   epilogue:  restore the callee-saved registers, return r0
//   end_run:   rsp = Scratch::jit_entry_sp, jmp epilogue   (a stop or a failure anywhere)
//   body:      instruction 0 ... (an eBPF exit is a `ret`)
//   cold:      out-of-line paths (after a helper asked for a tail call, a stop or failed)
//
// Stack alignment: the body of every eBPF function runs with rsp 16-byte aligned (entry pushes
// six registers and calls; a bpf-to-bpf call pushes five and calls), so helper calls need no
// adjustment.
//
// A lean entry, for verified programs that call no helper but map lookups it resolves itself
// (below), no other function and have no invalid operation: it saves only the callee-saved
// registers the program writes and keeps no Scratch or entry stack pointer, which nothing of the
// body reads. It falls through into a copy of the body whose exits restore those registers and
// return (no call and return of the body: a small program's run is mostly its fixed cost); the
// body proper, whose exits are `ret`, is emitted after it for tail calls. Such a program never
// tail-calls; entered by another program's tail call it runs on that program's full entry, which
// saved everything. Verified programs skip zeroing the registers: the verifier refuses reads of
// unset ones. RunXdp enters a lean program without the Scratch (Code::lean).
//
// Map lookups whose map is known where the helper is called (an `lddw r1, map` earlier in the
// same straight-line code: no jump lands in between and nothing else writes r1) skip the helper,
// as the kernel's JIT does: an array map's lookup is inlined (bounds check, address arithmetic),
// a hash or LRU hash map's is a direct call of the map's own lookup; neither can fail or ask for
// a tail call, so no pending check follows. Other maps and helpers go through the helper table,
// generically.
#include <asmjit/x86.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstring>
#include <functional>
#include <limits>
#include <random>
#include <vector>

#include "ebpf/jit/jit.h"
#include "ebpf/program.h"
#include "ebpf/scratch.h"
#include "fmt/format.h"

namespace vigil::ebpf::jit {
namespace {

namespace x86 = asmjit::x86;
using asmjit::Imm;
using asmjit::Label;
using x86::CondCode;
using x86::Gp;

// eBPF register -> x86-64 register (see jit.h).
const Gp kReg[kNumRegisters] = {x86::rax, x86::rsi, x86::rdx, x86::rcx, x86::r8, x86::r9,
                                x86::rbx, x86::r13, x86::r14, x86::r15, x86::rbp};
const Gp kScratchReg = x86::r12;

// Where the generated code reads and writes the run state in Scratch. Scratch is not a
// standard-layout class, so the offsets come from an instance rather than offsetof.
struct ScratchLayout {
  int32_t pending, depth, program, entry_sp;
};
const ScratchLayout& Layout() {
  static const ScratchLayout layout = [] {
    auto s = std::make_unique<Scratch>();
    const auto* base = reinterpret_cast<const char*>(s.get());
    auto at = [&](const void* field) {
      return int32_t(reinterpret_cast<const char*>(field) - base);
    };
    return ScratchLayout{at(&s->pending), at(&s->depth), at(&s->program), at(&s->jit_entry_sp)};
  }();
  return layout;
}

// --- The run-time side of the generated code: called from it, never on the hot path. ---

// After a helper left Scratch::pending set: 0 to go on after the call, 1 to end the run (a stop or
// a failure), or the address to jump to for a tail call.
uint64_t TakePending(Scratch* s) {
  s->pending = false;
  if (!s->error.empty() || s->stop_requested) return 1;
  if (s->tail_target == nullptr) return 0;
  const Program* target = s->tail_target;
  s->tail_target = nullptr;
  s->program = target;
  if (target->jit() == nullptr) {
    s->error = fmt::format("tail call into '{}', which has no machine code", target->name());
    return 1;
  }
  return uint64_t(target->jit()->body());
}

// A hash or LRU hash map's lookup, called directly from the code (non-per-CPU maps: the CPU is
// not read).
void* MapLookupDirect(Map* map, const void* key) { return map->Lookup(key, 0); }

enum class Failure : uint32_t { kCallDepth, kInvalidOp };

void Fail(Scratch* s, uint32_t pc, Failure why) {
  s->error = why == Failure::kCallDepth
                 ? fmt::format("pc {}: call depth over {} frames", pc, kMaxCallDepth)
                 : fmt::format("pc {}: executed an invalid operation", pc);
}

// callx: the helper whose id is in a register, or null (with the interpreter's error).
HelperFn FindHelper(Scratch* s, uint64_t id, uint32_t pc) {
  HelperFn fn = s->program->helpers().Find(int64_t(id));
  if (fn == nullptr) s->error = fmt::format("pc {}: indirect call to unknown helper {}", pc, id);
  return fn;
}

// The binary ALU operations and jumps in the order of handlers.h's X-macros: a handler of the
// four-form groups is <group start> + 4 * index + form, form = 64K, 64X, 32K, 32X.
#define VIGIL_ENUM(N) k##N,
enum class Binop { VIGIL_EBPF_ALU_BINOPS(VIGIL_ENUM) kCount };
enum class Jump { VIGIL_EBPF_JUMPS(VIGIL_ENUM) kCount };
#undef VIGIL_ENUM
static_assert(kJeq64K == kAdd64K + 4 * int(Binop::kCount));
static_assert(kNeg64 == kJeq64K + 4 * int(Jump::kCount));

CondCode JumpCondition(Jump j) {
  switch (j) {
    case Jump::kJeq:
      return CondCode::kE;
    case Jump::kJgt:
      return CondCode::kA;
    case Jump::kJge:
      return CondCode::kAE;
    case Jump::kJset:
    case Jump::kJne:
      return CondCode::kNE;
    case Jump::kJsgt:
      return CondCode::kG;
    case Jump::kJsge:
      return CondCode::kGE;
    case Jump::kJlt:
      return CondCode::kB;
    case Jump::kJle:
      return CondCode::kBE;
    case Jump::kJslt:
      return CondCode::kL;
    default:
      return CondCode::kLE;
  }
}

// Records asmjit's first error; the compiler checks it once at the end.
class FirstError : public asmjit::ErrorHandler {
 public:
  void handleError(asmjit::Error err, const char* message, asmjit::BaseEmitter*) override {
    if (error_.empty()) error_ = fmt::format("asmjit error {}: {}", err, message);
  }
  [[nodiscard]] const std::string& error() const { return error_; }

 private:
  std::string error_;
};

class Emitter {
 public:
  Emitter(const Program& program, const Options& options, asmjit::CodeHolder& code)
      : program_(program), ops_(program.ops()), a_(&code), layout_(Layout()) {
    if (options.blind_constants) {
      std::random_device random;
      key_ = int32_t(random()) | 1;  // never 0, which means "no blinding"
      key64_ = uint64_t(random()) << 32 | random();
    }
  }

  void EmitAll();
  [[nodiscard]] Label entry() const { return entry_; }
  [[nodiscard]] Label body() const { return body_; }
  [[nodiscard]] bool lean() const { return !full_entry_; }

 private:
  void EmitEntry();
  void EmitBody();
  void EmitLeanExit();
  void EmitOp(uint32_t pc);
  void EmitBinop(Binop op, bool is32, bool reg, const Op& o);
  void EmitShift(asmjit::InstId inst, bool is32, bool reg, const Op& o);
  void EmitDivMod(bool is_signed, bool is_mod, bool is32, bool reg, const Op& o);
  void EmitJump(Jump j, bool is32, bool reg, const Op& o);
  void EmitLoad(const Op& o, uint32_t size, bool sign_extend);
  void EmitStore(const Op& o, uint32_t size, bool from_reg);
  void EmitAtomic(Handler h, const Op& o);
  void Analyze();
  void EmitHelperCall(HelperFn fn);
  void EmitMapLookup(Map* map);
  void EmitIndirectCall(uint32_t pc, const Op& o);
  void EmitLocalCall(uint32_t pc, const Op& o);
  void EmitPendingCheck();
  void EmitFail(uint32_t pc, Failure why);

  // The immediate `value` as an operand of a 32- or 64-bit instruction: itself, or, with constant
  // blinding, `into` loaded without the value appearing in the code.
  asmjit::Operand ImmOperand(int64_t value, const Gp& into, bool is32);
  [[nodiscard]] static Gp Sized(const Gp& r, bool is32) { return is32 ? Gp(r.r32()) : Gp(r.r64()); }
  [[nodiscard]] static x86::Mem Mem(const Gp& base, int32_t off, uint32_t size) {
    return x86::ptr(base, off, size);
  }

  const Program& program_;
  std::span<const Op> ops_;
  x86::Assembler a_;
  const ScratchLayout& layout_;
  int32_t key_ = 0;     // non-zero: blind constants with this key
  uint64_t key64_ = 0;  // and 64-bit immediates with this one
  Label entry_, epilogue_, end_run_, body_, pending_stub_;
  std::vector<Label> labels_;                // one per instruction
  std::vector<std::function<void()>> cold_;  // emitted after the body
  std::vector<Map*> lookup_map_;             // per instruction: a lookup's known map, or null
  bool full_entry_ = true;                   // the entry every program may use (see the top)
  std::vector<Gp> saved_;                    // the callee-saved registers the entry saves
  bool pad_ = false;                         // the entry also moves rsp by 8 for alignment
  bool lean_exits_ = false;                  // emitting the lean entry's copy of the body
};

// Finds the map lookups the code resolves itself and whether the lean entry will do.
void Emitter::Analyze() {
  const size_t n = ops_.size();
  std::vector<bool> target(n + 1, false);
  for (const Op& o : ops_) {
    if ((o.handler >= kJeq64K && o.handler < kNeg64) || o.handler == kJa ||
        o.handler == kCallLocal) {
      if (o.off >= 0 && size_t(o.off) <= n) target[o.off] = true;
    }
  }
  const HelperFn lookup = HelperTable::Kernel().Find(kHelperMapLookupElem);
  lookup_map_.assign(n, nullptr);
  bool other_calls = false;
  uint32_t written = 0;  // eBPF registers the program writes
  Map* r1 = nullptr;     // the map r1 surely holds here, if any
  for (uint32_t pc = 0; pc < n; ++pc) {
    const Op& o = ops_[pc];
    const Handler h = o.handler;
    if (target[pc]) r1 = nullptr;
    const bool store = h >= kStB && h <= kStxDw;
    const bool atomic = h >= kAtomicAdd32 && h <= kAtomicCmpxchg64;
    const bool jump = (h >= kJeq64K && h < kNeg64) || h == kJa || h == kExit;
    const bool call = h == kCallHelper || h == kCallIndirect || h == kCallLocal;
    if (call) {
      Map* m = h == kCallHelper && reinterpret_cast<HelperFn>(o.imm) == lookup ? r1 : nullptr;
      const uint32_t type = m != nullptr ? m->spec().type : 0;
      if (m != nullptr && (type == kMapArray || type == kMapHash || type == kMapLruHash) &&
          (type != kMapArray || m->DirectValue(0) != nullptr)) {
        lookup_map_[pc] = m;
      } else {
        other_calls = true;
      }
      written |= 0x3f;  // r0-r5
      r1 = nullptr;
    } else if (h == kInvalid) {
      other_calls = true;
    } else if (!store && !jump) {
      if (!atomic) written |= 1u << o.dst;
      if (atomic && h != kAtomicAdd32 && h != kAtomicOr32 && h != kAtomicAnd32 &&
          h != kAtomicXor32 && h != kAtomicAdd64 && h != kAtomicOr64 && h != kAtomicAnd64 &&
          h != kAtomicXor64) {
        written |= 1u << o.src | 1u;  // the fetched value; cmpxchg writes r0
      }
      const bool writes_r1 = (!atomic && o.dst == 1) || (atomic && o.src == 1);
      if (writes_r1) {
        r1 = nullptr;
        if (h == kLddw) {
          for (const auto& m : program_.maps())
            if (uint64_t(m.get()) == o.imm) r1 = m.get();
        }
      }
    }
    if (h == kLddw) ++pc;
  }
  // The lean entry needs neither the Scratch register (r12) nor the frame pointer's (rbp) unless
  // the program reads r10. Unverified programs may read registers they never wrote, which must be
  // zero as in the interpreter: they take the full entry.
  full_entry_ = other_calls || !program_.verified();
  if (full_entry_) {
    saved_ = {x86::rbx, x86::rbp, x86::r12, x86::r13, x86::r14, x86::r15};
    return;
  }
  for (int r : {6, 7, 8, 9})
    if (written & (1u << r)) saved_.push_back(kReg[r]);
  bool reads_fp = false;
  for (const Op& o : ops_) reads_fp |= o.dst == kFramePointer || o.src == kFramePointer;
  if (reads_fp) saved_.push_back(kReg[kFramePointer]);
}

void Emitter::EmitAll() {
  Analyze();
  EmitEntry();
  if (!full_entry_) {
    lean_exits_ = true;
    EmitBody();
    lean_exits_ = false;
  }
  a_.bind(body_);
  EmitBody();
  if (!full_entry_) return;  // calls no helper: no pending stub, no end of a run elsewhere

  // A helper left Scratch::pending set (called, with r0 = the helper's result in rax).
  a_.bind(pending_stub_);
  a_.push(x86::rax);  // keeps rsp 16-byte aligned for the call below
  a_.mov(x86::rdi, kScratchReg);
  a_.call(Imm(uint64_t(&TakePending)));
  a_.pop(x86::rdi);  // r0
  Label go_on = a_.newLabel(), end = a_.newLabel();
  a_.cmp(x86::rax, 1);
  a_.j(CondCode::kB, go_on);
  a_.j(CondCode::kE, end);
  // A tail call: drop the return address into the caller's code, r1 = the context the helper
  // returned, and continue in the target on this frame.
  a_.add(x86::rsp, 8);
  a_.mov(kReg[1], x86::rdi);
  a_.jmp(x86::rax);
  a_.bind(go_on);
  a_.mov(x86::rax, x86::rdi);
  a_.ret();
  a_.bind(end);
  a_.mov(x86::rax, x86::rdi);
  a_.jmp(end_run_);
}

// One copy of the body, its out-of-line paths after it.
void Emitter::EmitBody() {
  labels_.clear();
  for (size_t i = 0; i < ops_.size(); ++i) labels_.push_back(a_.newLabel());
  for (uint32_t pc = 0; pc < ops_.size(); ++pc) {
    a_.bind(labels_[pc]);
    EmitOp(pc);
    if (ops_[pc].handler == kLddw) a_.bind(labels_[++pc]);
  }
  for (const auto& emit : cold_) emit();
  cold_.clear();
}

// An exit of the lean entry's body: the entry's epilogue, inline.
void Emitter::EmitLeanExit() {
  if (pad_) a_.add(x86::rsp, 8);
  for (auto it = saved_.rbegin(); it != saved_.rend(); ++it) a_.pop(*it);
  a_.ret();
}

void Emitter::EmitEntry() {
  entry_ = a_.newLabel();
  epilogue_ = a_.newLabel();
  end_run_ = a_.newLabel();
  body_ = a_.newLabel();
  pending_stub_ = a_.newLabel();
  a_.bind(entry_);
  for (const Gp& r : saved_) a_.push(r);
  // The body runs with rsp 16-byte aligned: with the body called, an odd count of pushes needs 8
  // bytes more; the lean body, entered without a call, needs them after an even count, and only
  // when it calls anything (a map's lookup).
  bool calls = false;
  for (const Map* m : lookup_map_) calls |= m != nullptr;
  pad_ = full_entry_ ? saved_.size() % 2 == 1 : calls && saved_.size() % 2 == 0;
  if (pad_) a_.sub(x86::rsp, 8);
  // Entry(scratch, r1 = rsi, r2 = rdx, stack_top = rcx)
  if (full_entry_) {
    a_.mov(kScratchReg, x86::rdi);
    a_.mov(kReg[kFramePointer], x86::rcx);
    a_.mov(x86::qword_ptr(kScratchReg, layout_.entry_sp), x86::rsp);
  } else if (std::find(saved_.begin(), saved_.end(), kReg[kFramePointer]) != saved_.end()) {
    a_.mov(kReg[kFramePointer], x86::rcx);
  }
  // As the interpreter: every register but r1, r2 and r10 starts at zero (for verified programs
  // unobservable: they never read a register before writing it).
  if (!program_.verified()) {
    for (int r : {0, 3, 4, 5, 6, 7, 8, 9}) a_.xor_(kReg[r].r32(), kReg[r].r32());
  }
  if (!full_entry_) return;  // falls through into the lean body, whose exits end the run
  a_.call(body_);
  a_.bind(epilogue_);
  if (pad_) a_.add(x86::rsp, 8);
  for (auto it = saved_.rbegin(); it != saved_.rend(); ++it) a_.pop(*it);
  a_.ret();
  a_.bind(end_run_);
  a_.mov(x86::rsp, x86::qword_ptr(kScratchReg, layout_.entry_sp));
  a_.jmp(epilogue_);
}

asmjit::Operand Emitter::ImmOperand(int64_t value, const Gp& into, bool is32) {
  if (key_ == 0) return Imm(is32 ? int64_t(int32_t(value)) : value);
  // xor with a 32-bit immediate sign-extends it; the blinded value compensates.
  a_.mov(into.r64(), Imm(value ^ int64_t(key_)));
  a_.xor_(into.r64(), Imm(key_));
  return Sized(into, is32);
}

void Emitter::EmitOp(uint32_t pc) {
  const Op& o = ops_[pc];
  const Handler h = o.handler;
  if (h < kJeq64K) {
    const int k = h - kAdd64K;
    const Binop op = Binop(k / 4);
    const bool is32 = k & 2, reg = k & 1;
    switch (op) {
      case Binop::kDiv:
      case Binop::kMod:
      case Binop::kSdiv:
      case Binop::kSmod:
        EmitDivMod(op == Binop::kSdiv || op == Binop::kSmod,
                   op == Binop::kMod || op == Binop::kSmod, is32, reg, o);
        return;
      default:
        EmitBinop(op, is32, reg, o);
        return;
    }
  }
  if (h < kNeg64) {
    const int k = h - kJeq64K;
    EmitJump(Jump(k / 4), k & 2, k & 1, o);
    return;
  }
  const Gp d = kReg[o.dst], s = kReg[o.src];
  switch (h) {
    case kNeg64:
      a_.neg(d);
      return;
    case kNeg32:
      a_.neg(d.r32());
      return;
    case kMovsx8To64:
      a_.movsx(d, s.r8());
      return;
    case kMovsx16To64:
      a_.movsx(d, s.r16());
      return;
    case kMovsx32To64:
      a_.movsxd(d, s.r32());
      return;
    case kMovsx8To32:
      a_.movsx(d.r32(), s.r8());
      return;
    case kMovsx16To32:
      a_.movsx(d.r32(), s.r16());
      return;
    // The host is little-endian: "to little-endian" truncates, "to big-endian" swaps.
    case kLe16:
      a_.movzx(d.r32(), d.r16());
      return;
    case kLe32:
      a_.mov(d.r32(), d.r32());
      return;
    case kLe64:
      return;
    case kBe16:
      a_.ror(d.r16(), 8);
      a_.movzx(d.r32(), d.r16());
      return;
    case kBe32:
      a_.bswap(d.r32());
      return;
    case kBe64:
      a_.bswap(d);
      return;
    case kJa:
      if (uint32_t(o.off) != pc + 1) a_.jmp(labels_[o.off]);  // dead code became `ja +0`
      return;
    case kLddw:
      if (key_ != 0) {  // both halves blinded: a sign-extended 32-bit key would leave one
        a_.mov(d, Imm(int64_t(o.imm ^ key64_)));
        a_.mov(x86::r11, Imm(int64_t(key64_)));
        a_.xor_(d, x86::r11);
      } else {
        a_.mov(d, Imm(o.imm));
      }
      return;
    case kExit:
      if (lean_exits_) {
        EmitLeanExit();
      } else {
        a_.ret();
      }
      return;
    case kCallHelper:
      if (lookup_map_[pc] != nullptr) {
        EmitMapLookup(lookup_map_[pc]);
      } else {
        EmitHelperCall(reinterpret_cast<HelperFn>(o.imm));
      }
      return;
    case kCallIndirect:
      EmitIndirectCall(pc, o);
      return;
    case kCallLocal:
      EmitLocalCall(pc, o);
      return;
    case kLdxB:
    case kLdxH:
    case kLdxW:
    case kLdxDw:
      EmitLoad(o, 1u << (h - kLdxB), false);
      return;
    case kLdxsB:
    case kLdxsH:
    case kLdxsW:
      EmitLoad(o, 1u << (h - kLdxsB), true);
      return;
    case kStB:
    case kStH:
    case kStW:
    case kStDw:
      EmitStore(o, 1u << (h - kStB), false);
      return;
    case kStxB:
    case kStxH:
    case kStxW:
    case kStxDw:
      EmitStore(o, 1u << (h - kStxB), true);
      return;
    case kInvalid:
      EmitFail(pc, Failure::kInvalidOp);
      return;
    default:
      EmitAtomic(h, o);
      return;
  }
}

void Emitter::EmitBinop(Binop op, bool is32, bool reg, const Op& o) {
  const Gp d = Sized(kReg[o.dst], is32);
  const int64_t k = int64_t(o.imm);
  switch (op) {
    case Binop::kLsh:
      EmitShift(x86::Inst::kIdShl, is32, reg, o);
      return;
    case Binop::kRsh:
      EmitShift(x86::Inst::kIdShr, is32, reg, o);
      return;
    case Binop::kArsh:
      EmitShift(x86::Inst::kIdSar, is32, reg, o);
      return;
    case Binop::kMul:
      if (reg) {
        a_.imul(d, Sized(kReg[o.src], is32));
      } else if (key_ != 0) {
        a_.imul(d, ImmOperand(k, x86::r11, is32).as<Gp>());
      } else {
        a_.imul(d, d, Imm(is32 ? int64_t(int32_t(k)) : k));
      }
      return;
    case Binop::kMov:
      if (!reg && key_ != 0) {  // straight into dst, no temporary
        a_.mov(kReg[o.dst], Imm(k ^ int64_t(key_)));
        a_.xor_(d, Imm(key_));  // a 32-bit xor zero-extends
        return;
      }
      if (!reg && !is32 && k == 0) {
        a_.xor_(d.r32(), d.r32());
        return;
      }
      break;
    default:
      break;
  }
  static const asmjit::InstId kInst[] = {x86::Inst::kIdAdd,
                                         x86::Inst::kIdSub,
                                         0,
                                         0,
                                         0,
                                         0,
                                         0,
                                         x86::Inst::kIdOr,
                                         x86::Inst::kIdAnd,
                                         0,
                                         0,
                                         0,
                                         x86::Inst::kIdXor,
                                         x86::Inst::kIdMov};
  const asmjit::Operand src =
      reg ? asmjit::Operand(Sized(kReg[o.src], is32)) : ImmOperand(k, x86::r11, is32);
  a_.emit(kInst[int(op)], d, src);
}

// Shifts: x86 masks the count to 63 (31) as eBPF does. A count in a register must be in cl, which
// is r3: r3 is parked in r11 meanwhile.
void Emitter::EmitShift(asmjit::InstId inst, bool is32, bool reg, const Op& o) {
  const Gp d = Sized(kReg[o.dst], is32);
  if (!reg) {
    const uint32_t count = uint32_t(o.imm) & (is32 ? 31 : 63);
    if (count != 0) {
      a_.emit(inst, d, Imm(count));
    } else if (is32) {
      a_.mov(d, d);  // a 32-bit operation still zero-extends
    }
    return;
  }
  const Gp rcx = kReg[3];
  if (o.src == 3) {
    a_.emit(inst, d, x86::cl);
  } else {
    a_.mov(x86::r11, rcx);
    a_.mov(rcx, kReg[o.src]);
    if (o.dst == 3) {
      a_.emit(inst, Sized(x86::r11, is32), x86::cl);
      a_.mov(rcx, x86::r11);
      if (is32) a_.mov(rcx.r32(), rcx.r32());
      return;
    }
    a_.emit(inst, d, x86::cl);
    a_.mov(rcx, x86::r11);
  }
  // A count of zero leaves a 32-bit destination unwritten on some x86 cores: zero-extend always.
  if (is32) a_.mov(d, d);
}

// x86 divides rdx:rax, both eBPF registers (r0, r2): they are parked in rdi and r10, the divisor
// in r11. Division by zero and INT_MIN / -1 (which would trap) are handled before the divide.
void Emitter::EmitDivMod(bool is_signed, bool is_mod, bool is32, bool reg, const Op& o) {
  const Gp d = Sized(kReg[o.dst], is32);
  const Gp divisor = Sized(x86::r11, is32);
  const Gp rax = Sized(x86::rax, is32), rdx = Sized(x86::rdx, is32);
  Label zero = a_.newLabel(), minus_one = a_.newLabel(), done = a_.newLabel();
  bool by_zero = false, by_minus_one = false, general = true;
  if (reg) {
    a_.mov(divisor, Sized(kReg[o.src], is32));
    a_.test(divisor, divisor);
    a_.j(CondCode::kZ, zero);
    by_zero = true;
    if (is_signed) {
      a_.cmp(divisor, -1);
      a_.j(CondCode::kE, minus_one);
      by_minus_one = true;
    }
  } else if (o.imm == 0) {  // the structural check refuses these; kept exact all the same
    by_zero = true;
    general = false;
  } else if (is_signed && int64_t(o.imm) == -1) {
    by_minus_one = true;
    general = false;
  } else {
    const asmjit::Operand v = ImmOperand(int64_t(o.imm), x86::r11, is32);
    if (v.isImm()) a_.mov(divisor, v.as<Imm>());
  }
  if (general) {
    a_.mov(x86::r10, x86::rdx);
    a_.mov(x86::rdi, x86::rax);
    a_.mov(rax, d);
    if (is_signed) {
      if (is32) {
        a_.cdq(x86::edx, x86::eax);
      } else {
        a_.cqo(x86::rdx, x86::rax);
      }
      a_.idiv(rdx, rax, divisor);
    } else {
      a_.xor_(x86::edx, x86::edx);
      a_.div(rdx, rax, divisor);
    }
    a_.mov(divisor, is_mod ? rdx : rax);
    a_.mov(x86::rdx, x86::r10);
    a_.mov(x86::rax, x86::rdi);
    a_.mov(d, divisor);
    if (by_zero || by_minus_one) a_.jmp(done);
  }
  if (by_zero) {  // x / 0 = 0; x % 0 = x
    a_.bind(zero);
    if (!is_mod) {
      a_.xor_(d.r32(), d.r32());
    } else if (is32) {
      a_.mov(d, d);
    }
    if (by_minus_one) a_.jmp(done);
  }
  if (by_minus_one) {  // x / -1 = -x (INT_MIN stays INT_MIN); x % -1 = 0
    a_.bind(minus_one);
    if (is_mod) {
      a_.xor_(d.r32(), d.r32());
    } else {
      a_.neg(d);
    }
  }
  a_.bind(done);
}

void Emitter::EmitJump(Jump j, bool is32, bool reg, const Op& o) {
  const Gp d = Sized(kReg[o.dst], is32);
  const asmjit::Operand src =
      reg ? asmjit::Operand(Sized(kReg[o.src], is32)) : ImmOperand(int64_t(o.imm), x86::r11, is32);
  if (!reg && src.isImm() && o.imm == 0 && (j == Jump::kJeq || j == Jump::kJne)) {
    a_.test(d, d);
  } else {
    a_.emit(j == Jump::kJset ? x86::Inst::kIdTest : x86::Inst::kIdCmp, d, src);
  }
  a_.j(JumpCondition(j), labels_[o.off]);
}

void Emitter::EmitLoad(const Op& o, uint32_t size, bool sign_extend) {
  const Gp d = kReg[o.dst];
  const x86::Mem m = Mem(kReg[o.src], o.off, size);
  if (sign_extend) {
    if (size == 4) {
      a_.movsxd(d, m);
    } else {
      a_.movsx(d, m);
    }
  } else if (size < 4) {
    a_.movzx(d.r32(), m);
  } else {
    a_.mov(Sized(d, size == 4), m);
  }
}

void Emitter::EmitStore(const Op& o, uint32_t size, bool from_reg) {
  const x86::Mem m = Mem(kReg[o.dst], o.off, size);
  auto sized = [size](const Gp& r) -> Gp {
    switch (size) {
      case 1:
        return r.r8();
      case 2:
        return r.r16();
      case 4:
        return r.r32();
      default:
        return r.r64();
    }
  };
  if (from_reg) {
    a_.mov(m, sized(kReg[o.src]));
    return;
  }
  // st dw sign-extends its 32-bit immediate, as x86's mov m64, imm32 does.
  const int64_t k = int64_t(o.imm);
  const asmjit::Operand v = ImmOperand(k, x86::r11, false);
  if (v.isImm()) {
    const int64_t narrowed = size == 1 ? int8_t(k) : size == 2 ? int16_t(k) : int32_t(k);
    a_.mov(m, Imm(narrowed));
  } else {
    a_.mov(m, sized(x86::r11));
  }
}

void Emitter::EmitAtomic(Handler h, const Op& o) {
  const bool is32 = h <= kAtomicCmpxchg32;
  const Handler base = is32 ? kAtomicAdd32 : kAtomicAdd64;
  const int kind = h - base;  // Add Or And Xor, FetchAdd FetchOr FetchAnd FetchXor, Xchg, Cmpxchg
  const uint32_t size = is32 ? 4 : 8;
  const x86::Mem m = Mem(kReg[o.dst], o.off, size);
  const Gp s = Sized(kReg[o.src], is32);
  static const asmjit::InstId kInst[] = {x86::Inst::kIdAdd, x86::Inst::kIdOr, x86::Inst::kIdAnd,
                                         x86::Inst::kIdXor};
  switch (kind) {
    case 0:
    case 1:
    case 2:
    case 3:
      a_.lock().emit(kInst[kind], m, s);
      return;
    case 4:
      a_.lock().xadd(m, s);  // s = the old value, zero-extended for 32 bits
      return;
    case 8:
      a_.xchg(m, s);  // implicitly locked
      return;
    case 9:
      a_.lock().cmpxchg(m, s, Sized(x86::rax, is32));
      // A 32-bit cmpxchg that succeeds leaves rax's high half as it was; r0 is zero-extended.
      if (is32) a_.mov(x86::eax, x86::eax);
      return;
    default:
      break;
  }
  // fetch-or/and/xor: a compare-exchange loop, in rax (r0, saved on the native stack), with the
  // address in rdi, the operand in r10, the new value in r11.
  const Gp rax = Sized(x86::rax, is32), operand = Sized(x86::r10, is32),
           next = Sized(x86::r11, is32);
  a_.push(x86::rax);
  a_.lea(x86::rdi, x86::ptr(kReg[o.dst], o.off));
  a_.mov(operand, s);
  a_.mov(rax, x86::ptr(x86::rdi, 0, size));
  Label retry = a_.newLabel();
  a_.bind(retry);
  a_.mov(next, rax);
  a_.emit(kInst[kind - 4], next, operand);
  a_.lock().cmpxchg(x86::ptr(x86::rdi, 0, size), next, rax);
  a_.j(CondCode::kNE, retry);
  if (o.src == 0) {  // the old value lands in r0 itself
    a_.add(x86::rsp, 8);
  } else {
    a_.mov(s, rax);
    a_.pop(x86::rax);
  }
}

void Emitter::EmitHelperCall(HelperFn fn) {
  a_.mov(x86::rdi, kScratchReg);
  a_.call(Imm(uint64_t(fn)));
  EmitPendingCheck();
}

// bpf_map_lookup_elem(map, key = r2) with the map known (Analyze): r0 = the value or null.
void Emitter::EmitMapLookup(Map* map) {
  const MapSpec& spec = map->spec();
  if (spec.type != kMapArray || key_ != 0) {  // blinding: no map size among the immediates
    a_.mov(x86::rdi, kReg[1]);
    a_.mov(x86::rsi, kReg[2]);
    a_.call(Imm(uint64_t(&MapLookupDirect)));
    return;
  }
  // An array's values lie at DirectValue(0) + index * stride, for index < max_entries.
  const uint64_t base = uint64_t(map->DirectValue(0));
  const uint64_t stride = spec.max_entries > 1 ? uint64_t(map->DirectValue(1)) - base : 0;
  Label null = a_.newLabel(), done = a_.newLabel();
  a_.mov(x86::eax, x86::dword_ptr(kReg[2]));
  a_.cmp(x86::eax, Imm(spec.max_entries));
  a_.j(CondCode::kAE, null);
  if (stride != 0 && (stride & (stride - 1)) == 0) {
    a_.shl(x86::rax, Imm(std::countr_zero(stride)));
  } else if (stride <= uint64_t(std::numeric_limits<int32_t>::max())) {
    a_.imul(x86::rax, x86::rax, Imm(int64_t(stride)));
  } else {
    a_.mov(x86::r11, Imm(stride));
    a_.imul(x86::rax, x86::r11);
  }
  a_.mov(x86::r11, Imm(base));
  a_.add(x86::rax, x86::r11);
  a_.jmp(done);
  a_.bind(null);
  a_.xor_(x86::eax, x86::eax);
  a_.bind(done);
}

// After a helper: one byte compare, its branch predicted not taken. A tail call, a stop or a
// failure goes through the shared pending stub, which returns here to go on.
void Emitter::EmitPendingCheck() {
  Label cold = a_.newLabel(), resume = a_.newLabel();
  a_.cmp(x86::byte_ptr(kScratchReg, layout_.pending), 0);
  a_.j(CondCode::kNE, cold);
  a_.bind(resume);
  cold_.push_back([this, cold, resume] {
    a_.bind(cold);
    a_.call(pending_stub_);
    a_.jmp(resume);
  });
}

// callx (uBPF's register-indirect helper call): look the helper up at run time, keeping r1-r5.
void Emitter::EmitIndirectCall(uint32_t pc, const Op& o) {
  static const Gp kArgs[] = {x86::rsi, x86::rdx, x86::rcx, x86::r8, x86::r9};
  for (const Gp& r : kArgs) a_.push(r);
  a_.sub(x86::rsp, 8);
  a_.mov(x86::rsi, kReg[o.dst]);
  a_.mov(x86::rdi, kScratchReg);
  a_.mov(x86::edx, pc);
  a_.call(Imm(uint64_t(&FindHelper)));
  a_.add(x86::rsp, 8);
  for (auto it = std::rbegin(kArgs); it != std::rend(kArgs); ++it) a_.pop(*it);
  a_.test(x86::rax, x86::rax);
  a_.j(CondCode::kZ, end_run_);  // FindHelper set the error
  a_.mov(x86::r11, x86::rax);
  a_.mov(x86::rdi, kScratchReg);
  a_.call(x86::r11);
  EmitPendingCheck();
}

// A bpf-to-bpf call: the callee runs on the next 512-byte frame with the caller's r6-r9 and r10
// saved on the native stack, as the interpreter's frames keep them.
void Emitter::EmitLocalCall(uint32_t pc, const Op& o) {
  Label too_deep = a_.newLabel();
  const x86::Mem depth = x86::dword_ptr(kScratchReg, layout_.depth);
  a_.cmp(depth, kMaxCallDepth - 1);
  a_.j(CondCode::kAE, too_deep);
  a_.inc(depth);
  static const Gp kSaved[] = {x86::rbx, x86::r13, x86::r14, x86::r15, x86::rbp};
  for (const Gp& r : kSaved) a_.push(r);
  a_.sub(kReg[kFramePointer], kStackSize);
  a_.call(labels_[o.off]);
  for (auto it = std::rbegin(kSaved); it != std::rend(kSaved); ++it) a_.pop(*it);
  a_.dec(depth);
  // A tail call inside the callee changed the running program; this code is the caller's.
  a_.mov(x86::r11, Imm(uint64_t(&program_)));
  a_.mov(x86::qword_ptr(kScratchReg, layout_.program), x86::r11);
  cold_.push_back([this, too_deep, pc] {
    a_.bind(too_deep);
    EmitFail(pc, Failure::kCallDepth);
  });
}

void Emitter::EmitFail(uint32_t pc, Failure why) {
  a_.mov(x86::rdi, kScratchReg);
  a_.mov(x86::esi, pc);
  a_.mov(x86::edx, uint32_t(why));
  a_.call(Imm(uint64_t(&Fail)));
  a_.jmp(end_run_);
}

// Where to ask for a program's pages: below vigil's own code and within 2 GiB of it, so that
// helper calls are direct rel32 calls rather than calls through asmjit's address table. A hint
// only: where the kernel puts the pages elsewhere, the calls go through the table, as correctly.
void* NearCodeHint(size_t size) {
  static std::atomic<uint64_t> next{0};
  constexpr uint64_t kWindow = 960ull << 20;  // [text - 1 GiB, text - 64 MiB)
  const uint64_t text = uint64_t(&TakePending) & ~uint64_t(0xfffff);
  if (text < (1ull << 31)) return nullptr;
  const uint64_t offset = next.fetch_add(size, std::memory_order_relaxed) % (kWindow - size);
  return reinterpret_cast<void*>((text - (1ull << 30) + offset) & ~uint64_t(0xfff));
}

}  // namespace

Code::~Code() { munmap(pages_, mapped_); }

base::Result<std::unique_ptr<const Code>> Compile(const Program& program, const Options& options) {
  asmjit::CodeHolder code;
  FirstError errors;
  code.init(asmjit::Environment::host());
  code.setErrorHandler(&errors);
  Emitter emitter(program, options, code);
  emitter.EmitAll();
  code.flatten();
  code.resolveUnresolvedLinks();
  if (!errors.error().empty()) return base::MakeError("JIT: " + errors.error());

  // W^X: written while read-write, then read+execute for good.
  const size_t page = size_t(sysconf(_SC_PAGESIZE));
  const size_t mapped = (code.codeSize() + page - 1) / page * page;
  void* pages = mmap(NearCodeHint(mapped), mapped, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (pages == MAP_FAILED) {
    return base::MakeError(fmt::format("JIT: cannot map {} bytes: {}", mapped, strerror(errno)));
  }
  code.relocateToBase(uint64_t(pages));
  const size_t size = code.codeSize();
  code.copyFlattenedData(pages, mapped, asmjit::CopySectionFlags::kPadTargetBuffer);
  if (!errors.error().empty() || mprotect(pages, mapped, PROT_READ | PROT_EXEC) != 0) {
    munmap(pages, mapped);
    return base::MakeError(
        "JIT: " + (errors.error().empty() ? std::string("mprotect failed") : errors.error()));
  }
  auto* bytes = static_cast<uint8_t*>(pages);
  return std::make_unique<const Code>(
      pages, mapped,
      reinterpret_cast<Code::Entry>(bytes + code.labelOffsetFromBase(emitter.entry())),
      bytes + code.labelOffsetFromBase(emitter.body()), size, emitter.lean());
}

base::Error RunFailure(const Scratch& scratch) { return base::MakeError(scratch.error); }

}  // namespace vigil::ebpf::jit

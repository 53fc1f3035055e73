#include "ebpf/jit/differential.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <map>

#include "ebpf/interp/interpreter.h"
#include "ebpf/program.h"
#include "ebpf/scratch.h"
#include "ebpf/xdp.h"
#include "fmt/format.h"

namespace vigil::ebpf::jit {
namespace {

constexpr int kMemBase = 9;  // r9 = r1's memory for the whole program; never written
constexpr uint8_t kAllAlu[] = {kAluAdd, kAluSub, kAluMul, kAluDiv, kAluOr,  kAluAnd,  kAluLsh,
                               kAluRsh, kAluNeg, kAluMod, kAluXor, kAluMov, kAluArsh, kAluEnd};
constexpr uint8_t kAllJumps[] = {kJmpJeq,  kJmpJgt, kJmpJge, kJmpJset, kJmpJne, kJmpJsgt,
                                 kJmpJsge, kJmpJlt, kJmpJle, kJmpJslt, kJmpJsle};
constexpr int32_t kAtomicOps[] = {kAluAdd,
                                  kAluOr,
                                  kAluAnd,
                                  kAluXor,
                                  kAluAdd | kAtomicFetch,
                                  kAluOr | kAtomicFetch,
                                  kAluAnd | kAtomicFetch,
                                  kAluXor | kAtomicFetch,
                                  kAtomicXchg,
                                  kAtomicCmpxchg};

// Builds one function of a random program as a list of items (an item is one or a few
// instructions), so that forward jumps can target item boundaries.
class Builder {
 public:
  explicit Builder(std::mt19937_64& rng) : rng_(rng) {}

  uint64_t R(uint64_t n) { return rng_() % n; }
  bool Chance(int percent) { return R(100) < uint64_t(percent); }

  // Values at the edges of the arithmetic: where a JIT's shortcuts go wrong.
  int64_t Value64() {
    static constexpr int64_t kEdges[] = {0,
                                         1,
                                         -1,
                                         2,
                                         INT64_MIN,
                                         INT64_MAX,
                                         INT32_MIN,
                                         INT32_MAX,
                                         int64_t(0x80000000u),
                                         int64_t(0xffffffffu),
                                         int64_t(0x100000000ull),
                                         63,
                                         64};
    if (Chance(40)) return kEdges[R(std::size(kEdges))];
    if (Chance(30)) return int64_t(R(512)) - 256;
    return int64_t(rng_());
  }
  int32_t Imm32() {
    static constexpr int32_t kEdges[] = {0, 1, -1, 2, INT32_MIN, INT32_MAX, 31, 32, 63, 64, 7};
    if (Chance(40)) return kEdges[R(std::size(kEdges))];
    if (Chance(30)) return int32_t(R(512)) - 256;
    return int32_t(rng_());
  }
  // r0-r8: r9 holds the memory and r10 the frame.
  uint8_t Reg() { return uint8_t(R(9)); }

  void Emit(uint8_t opcode, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
    insns_.push_back(Insn::Make(opcode, dst, src, off, imm));
  }
  void Lddw(uint8_t dst, int64_t v) {
    Emit(kOpLddw, dst, 0, 0, int32_t(uint32_t(uint64_t(v))));
    Emit(0, 0, 0, 0, int32_t(uint32_t(uint64_t(v) >> 32)));
  }
  void SetReg(uint8_t dst) {
    if (Chance(50)) {
      Lddw(dst, Value64());
    } else {
      Emit(kClsAlu64 | kAluMov | kSrcK, dst, 0, 0, Imm32());
    }
  }

  void Alu() {
    const bool is64 = Chance(55);
    const uint8_t cls = is64 ? kClsAlu64 : kClsAlu;
    const uint8_t op = kAllAlu[R(std::size(kAllAlu))];
    const bool reg = Chance(50);
    const uint8_t dst = Reg(), src = Reg();
    switch (op) {
      case kAluNeg:
        Emit(cls | kAluNeg, dst, 0, 0, 0);
        return;
      case kAluEnd: {
        static constexpr int32_t kWidths[] = {16, 32, 64};
        // ALU64 END is the unconditional bswap (source bit 0 only); ALU END picks le or be.
        Emit(cls | kAluEnd | (is64 ? kSrcK : (reg ? kSrcX : kSrcK)), dst, 0, 0, kWidths[R(3)]);
        return;
      }
      case kAluDiv:
      case kAluMod: {
        const int16_t is_signed = Chance(50);
        int32_t imm = Imm32();
        if (!reg && imm == 0) imm = Chance(50) ? -1 : 3;
        Emit(cls | op | (reg ? kSrcX : kSrcK), dst, reg ? src : 0, is_signed, reg ? 0 : imm);
        return;
      }
      case kAluLsh:
      case kAluRsh:
      case kAluArsh:
        Emit(cls | op | (reg ? kSrcX : kSrcK), dst, reg ? src : 0, 0,
             reg ? 0 : int32_t(R(Chance(80) ? (is64 ? 64 : 32) : 256)));
        return;
      case kAluMov:
        if (reg && Chance(40)) {  // movsx
          static constexpr int16_t kFrom[] = {8, 16, 32};
          Emit(cls | kAluMov | kSrcX, dst, src, 0, 0);
          insns_.back().off = kFrom[R(is64 ? 3 : 2)];
          return;
        }
        [[fallthrough]];
      default:
        Emit(cls | op | (reg ? kSrcX : kSrcK), dst, reg ? src : 0, 0, reg ? 0 : Imm32());
        return;
    }
  }

  // A forward jump over `skip` items, patched by Finish().
  void Jump(size_t skip) {
    const bool is64 = Chance(60);
    const uint8_t op = kAllJumps[R(std::size(kAllJumps))];
    const bool reg = Chance(50);
    jumps_.push_back({insns_.size(), items_.size() + 1 + skip});
    Emit((is64 ? kClsJmp : kClsJmp32) | op | (reg ? kSrcX : kSrcK), Reg(), reg ? Reg() : 0, 0,
         reg ? 0 : Imm32());
  }

  // Loads and stores of every size through r9 (memory) or r10 (this frame's stack).
  void Memory() {
    static constexpr uint8_t kSizes[] = {kSizeB, kSizeH, kSizeW, kSizeDw};
    const uint8_t size = kSizes[R(4)];
    const bool stack = Chance(50);
    const int32_t n = int32_t(SizeBytes(size));
    const int16_t off =
        stack ? int16_t(-n - int32_t(R(64 - n + 1))) : int16_t(R(kRawMemorySize - n + 1));
    const uint8_t base = stack ? kFramePointer : kMemBase;
    switch (R(4)) {
      case 0:  // load, sign-extending sometimes
        Emit(kClsLdx | (size != kSizeDw && Chance(40) ? kModeMemsx : kModeMem) | size, Reg(), base,
             off, 0);
        return;
      case 1:
        Emit(kClsSt | kModeMem | size, base, 0, off, Imm32());
        return;
      default:
        Emit(kClsStx | kModeMem | size, base, Reg(), off, 0);
        return;
    }
  }

  void Atomic() {
    const bool dw = Chance(50);
    const bool stack = Chance(50);
    const int32_t n = dw ? 8 : 4;
    const int16_t off = stack ? int16_t(-n * (1 + int32_t(R(64 / n))))
                              : int16_t(n * int32_t(R(kRawMemorySize / n)));
    Emit(kClsStx | kModeAtomic | (dw ? kSizeDw : kSizeW), stack ? kFramePointer : kMemBase, Reg(),
         off, kAtomicOps[R(std::size(kAtomicOps))]);
  }

  // A helper with a deterministic result; r1-r5 are dead after it, as for the kernel.
  void HelperCall() {
    Emit(kOpCall, 0, 0, 0, Chance(50) ? kHelperGetPrandomU32 : kHelperGetSmpProcessorId);
    for (uint8_t r = 1; r <= 5; ++r) Emit(kClsAlu64 | kAluMov | kSrcK, r, 0, 0, Imm32());
  }

  // `count` random items; `local_calls` says whether a call to the function after main is
  // allowed (patched by the caller: the callee's index is not known yet).
  void Body(int count, bool local_calls) {
    for (int k = 0; k < count; ++k) {
      items_.push_back(insns_.size());
      const uint64_t pick = R(100);
      if (pick < 50) {
        Alu();
      } else if (pick < 65) {
        Jump(R(4));
      } else if (pick < 80) {
        Memory();
      } else if (pick < 88) {
        Atomic();
      } else if (pick < 93) {
        HelperCall();
      } else if (pick < 96 && local_calls) {
        calls_.push_back(insns_.size());
        Emit(kOpCall, 0, kPseudoCall, 0, 0);
      } else {
        SetReg(Reg());
      }
    }
    items_.push_back(insns_.size());  // the end: jumps past the last item land here
  }

  // Resolves jump offsets (items recorded since the last call) and starts a new function.
  void EndFunction() {
    for (const auto& [at, item] : jumps_) {
      const size_t target = items_[std::min(item, items_.size() - 1)];
      insns_[at].off = int16_t(int64_t(target) - int64_t(at) - 1);
    }
    jumps_.clear();
    items_.clear();
  }

  std::vector<Insn>& insns() { return insns_; }
  const std::vector<size_t>& calls() const { return calls_; }

 private:
  std::mt19937_64& rng_;
  std::vector<Insn> insns_;
  std::vector<size_t> items_;
  std::vector<std::pair<size_t, size_t>> jumps_;  // instruction, target item
  std::vector<size_t> calls_;
};

// Every byte of every map: key -> value (per-CPU values as the host sees them).
using MapContents = std::vector<std::map<std::vector<uint8_t>, std::vector<uint8_t>>>;

bool IsEventMap(const Map& m) { return m.type() == kMapPerfEventArray || m.type() == kMapRingbuf; }

MapContents Snapshot(const Program& program) {
  MapContents out;
  for (const auto& m : program.maps()) {
    auto& contents = out.emplace_back();
    if (m->type() == kMapProgArray) continue;
    if (IsEventMap(*m)) {
      // The records the run wrote to a perf event array or ring buffer, keyed by their order;
      // taken out, so that every run starts from an empty ring.
      std::vector<MapEvent> events;
      m->DrainEvents(events, SIZE_MAX);
      for (size_t k = 0; k < events.size(); ++k) {
        std::vector<uint8_t> key(8), value(4);
        std::memcpy(key.data(), &k, 8);
        std::memcpy(value.data(), &events[k].cpu, 4);
        value.insert(value.end(), events[k].data.begin(), events[k].data.end());
        contents[std::move(key)] = std::move(value);
      }
      continue;
    }
    for (auto& key : m->HostKeys()) {
      auto value = m->HostLookup(key);
      if (value) contents[std::move(key)] = std::move(*value);
    }
  }
  return out;
}

void Restore(const Program& program, const MapContents& contents) {
  for (size_t i = 0; i < contents.size(); ++i) {
    Map& m = *program.maps()[i];
    if (m.type() == kMapProgArray || IsEventMap(m)) continue;
    for (const auto& key : m.HostKeys()) {
      if (!contents[i].contains(key)) (void)m.HostDelete(key);
    }
    for (const auto& [key, value] : contents[i]) (void)m.HostUpdate(key, value);
  }
}

// What one run left behind, for comparison.
struct Outcome {
  std::string result;  // r0 or the error
  std::vector<uint8_t> memory, meta;
  int64_t data_offset = 0;
  uint32_t redirect = 0;
  MapContents maps;
  std::string trace;
};

std::string Compare(const Outcome& interp, const Outcome& jit) {
  if (interp.result != jit.result) {
    return fmt::format("result: interpreter {}, JIT {}", interp.result, jit.result);
  }
  if (interp.memory != jit.memory) {
    const auto [a, b] = std::mismatch(interp.memory.begin(), interp.memory.end(),
                                      jit.memory.begin(), jit.memory.end());
    return fmt::format("memory differs from byte {} (sizes {}, {})", a - interp.memory.begin(),
                       interp.memory.size(), jit.memory.size());
  }
  if (interp.meta != jit.meta || interp.data_offset != jit.data_offset) {
    return "packet metadata or placement differs";
  }
  if (interp.redirect != jit.redirect) {
    return fmt::format("redirect: interpreter {}, JIT {}", interp.redirect, jit.redirect);
  }
  if (interp.maps != jit.maps) return "map contents differ";
  if (interp.trace != jit.trace) return "trace output differs";
  return "";
}

std::string Describe(const base::Result<uint64_t>& r) {
  return r ? fmt::format("r0 {:#x}", *r) : "error: " + r.error().message;
}

}  // namespace

std::vector<Insn> RandomAluProgram(std::mt19937_64& rng) {
  Builder b(rng);
  b.Emit(kClsAlu64 | kAluMov | kSrcX, kMemBase, 1, 0, 0);
  for (uint8_t r = 0; r <= 8; ++r) {
    if (r != 1 || b.Chance(50)) b.SetReg(r);
  }
  const bool has_callee = b.Chance(30);
  b.Body(10 + int(b.R(50)), has_callee);
  // r0 = a mix of every register and of the stack the program wrote.
  for (uint8_t r = 1; r <= 8; ++r) {
    b.Emit(kClsAlu64 | kAluMul | kSrcK, 0, 0, 0, 0x2545f491);
    b.Emit(kClsAlu64 | kAluXor | kSrcX, 0, r, 0, 0);
  }
  for (int16_t off = -8; off >= -64; off -= 8) {
    b.Emit(kClsLdx | kModeMem | kSizeDw, 1, kFramePointer, off, 0);
    b.Emit(kClsAlu64 | kAluMul | kSrcK, 0, 0, 0, 0x2545f491);
    b.Emit(kClsAlu64 | kAluXor | kSrcX, 0, 1, 0, 0);
  }
  b.Emit(kOpExit, 0, 0, 0, 0);
  b.EndFunction();
  if (has_callee) {
    const size_t callee = b.insns().size();
    b.Body(3 + int(b.R(20)), false);
    b.Emit(kOpExit, 0, 0, 0, 0);
    b.EndFunction();
    for (size_t at : b.calls()) b.insns()[at].imm = int32_t(callee - at - 1);
  }
  return std::move(b.insns());
}

std::vector<uint8_t> RandomMemory(std::mt19937_64& rng) {
  std::vector<uint8_t> m(kRawMemorySize);
  for (auto& byte : m) byte = uint8_t(rng());
  return m;
}

std::string CompareRaw(const Program& program, std::span<const uint8_t> memory) {
  if (program.jit() == nullptr) return "the program has no machine code";
  // Both engines run on the same buffer and the same stack, each reset in between: a pointer the
  // program turns into a number is the same number for both.
  std::vector<uint8_t> buffer(memory.size());
  Scratch scratch;
  uint8_t* const stack = scratch.stack_top() - size_t(kStackSize) * kMaxCallDepth;
  auto run = [&](bool jit) {
    std::copy(memory.begin(), memory.end(), buffer.begin());
    std::memset(stack, 0, size_t(kStackSize) * kMaxCallDepth);
    scratch.RestartRandom();
    const uint64_t r1 = uint64_t(buffer.data());
    Outcome out;
    out.result = Describe(jit ? jit::Run(program, scratch, r1, buffer.size())
                              : Interpret(program, scratch, r1, buffer.size()));
    // The memory, then the stack of frames 0 and 1 (the callee's), where the program's stores went.
    out.memory = buffer;
    out.memory.insert(out.memory.end(), scratch.stack_top() - 2 * kStackSize, scratch.stack_top());
    return out;
  };
  const Outcome interpreted = run(false);
  return Compare(interpreted, run(true));
}

std::string CompareXdp(const Program& program, std::span<const uint8_t> frame, Scratch& interp,
                       Scratch& jit) {
  const MapContents before = Snapshot(program);
  XdpBuffer buf;  // one buffer for both runs: the same packet addresses
  auto run = [&](Scratch& scratch) {
    Outcome out;
    buf.Assign(frame);
    // Assign leaves the headroom and tailroom as the last run left them, and a program that grows
    // the packet reads them: both runs start from zeros there.
    XdpContext& ctx = buf.context();
    std::memset(reinterpret_cast<void*>(ctx.hard_start), 0, ctx.data - ctx.hard_start);
    std::memset(reinterpret_cast<void*>(ctx.data_end), 0, ctx.hard_end - ctx.data_end);
    scratch.ClearTraceLog();
    auto v = RunXdp(program, scratch, buf);
    out.result = v ? fmt::format("r0 {:#x}", v->raw) : "error: " + v.error().message;
    if (v) out.redirect = v->redirect_ifindex;
    auto data = buf.data(), meta = buf.meta();
    out.memory.assign(data.begin(), data.end());
    out.meta.assign(meta.begin(), meta.end());
    out.data_offset = int64_t(buf.context().data - buf.context().hard_start);
    out.maps = Snapshot(program);
    out.trace = scratch.trace_log();
    return out;
  };
  const Outcome a = run(interp);
  Restore(program, before);
  const Outcome b = run(jit);
  return Compare(a, b);
}

}  // namespace vigil::ebpf::jit

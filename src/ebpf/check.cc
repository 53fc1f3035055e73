#include "ebpf/check.h"

#include <algorithm>
#include <string>
#include <vector>

#include "fmt/format.h"

namespace vigil::ebpf {
namespace {

base::Error At(size_t pc, std::string why) {
  base::Error e{fmt::format("instruction {}: {}", pc, why)};
  e.offset = int64_t(pc * sizeof(Insn));
  return e;
}

// Field rules shared by many opcodes: which of dst/src/off/imm must be zero.
struct Unused {
  bool dst = false, src = false, off = false, imm = false;
};

base::Status CheckUnused(size_t pc, const Insn& i, Unused u) {
  if (u.dst && i.dst != 0) return At(pc, "unused dst field is not zero");
  if (u.src && i.src != 0) return At(pc, "unused src field is not zero");
  if (u.off && i.off != 0) return At(pc, "unused offset field is not zero");
  if (u.imm && i.imm != 0) return At(pc, "unused immediate field is not zero");
  return {};
}

base::Status CheckAlu(size_t pc, const Insn& i) {
  const bool is64 = Class(i.opcode) == kClsAlu64;
  const bool reg = Source(i.opcode) == kSrcX;
  if (i.dst == kFramePointer) return At(pc, "write to r10, the read-only frame pointer");
  // The frame pointer may be copied (64-bit mov) or offset (64-bit add/sub) to address the stack;
  // any other arithmetic on it, or a 32-bit copy that truncates it, is refused, as the kernel's
  // verifier refuses pointer arithmetic other than add and sub.
  if (reg && i.src == kFramePointer) {
    const uint8_t op = AluOp(i.opcode);
    const bool pointer_op = is64 && (op == kAluMov || op == kAluAdd || op == kAluSub) && i.off == 0;
    if (!pointer_op) {
      return At(pc, "arithmetic on r10, the frame pointer, other than a 64-bit mov, add or sub");
    }
  }
  switch (AluOp(i.opcode)) {
    case kAluAdd:
    case kAluSub:
    case kAluMul:
    case kAluOr:
    case kAluAnd:
    case kAluLsh:
    case kAluRsh:
    case kAluXor:
    case kAluArsh:
      return CheckUnused(pc, i, {.src = !reg, .off = true, .imm = reg});
    case kAluDiv:
    case kAluMod:
      if (i.off != 0 && i.off != 1) return At(pc, "division offset must be 0 or 1 (signed)");
      if (!reg && i.imm == 0) return At(pc, "division by zero immediate");
      return CheckUnused(pc, i, {.src = !reg, .imm = reg});
    case kAluNeg:
      if (reg) return At(pc, fmt::format("invalid opcode {:#04x}", i.opcode));
      return CheckUnused(pc, i, {.src = true, .off = true, .imm = true});
    case kAluMov:
      if (reg) {
        const bool ok = i.off == 0 || i.off == 8 || i.off == 16 || (is64 && i.off == 32);
        if (!ok) return At(pc, fmt::format("invalid sign-extension width {}", i.off));
        return CheckUnused(pc, i, {.imm = true});
      }
      return CheckUnused(pc, i, {.src = true, .off = true});
    case kAluEnd:
      if (is64 && reg) return At(pc, fmt::format("invalid opcode {:#04x}", i.opcode));
      if (i.imm != 16 && i.imm != 32 && i.imm != 64) {
        return At(pc, fmt::format("invalid byte swap width {}", i.imm));
      }
      return CheckUnused(pc, i, {.src = true, .off = true});
    default:
      return At(pc, fmt::format("invalid opcode {:#04x}", i.opcode));
  }
}

base::Status CheckMem(size_t pc, const Insn& i, size_t n, const CheckOptions& o) {
  const uint8_t cls = Class(i.opcode);
  const uint8_t mode = Mode(i.opcode);
  if (cls == kClsLd) {
    if (mode == kModeAbs || mode == kModeInd) {
      return At(pc, "legacy packet load (LD ABS/IND) is not supported");
    }
    if (i.opcode != kOpLddw) return At(pc, fmt::format("invalid opcode {:#04x}", i.opcode));
    if (pc + 1 >= n) return At(pc, "incomplete 64-bit immediate load (no second half)");
    if (i.dst == kFramePointer) return At(pc, "write to r10, the read-only frame pointer");
    if (auto st = CheckUnused(pc, i, {.off = true}); !st) return st;
    const Insn& hi = *(&i + 1);
    if (hi.opcode != 0 || hi.dst != 0 || hi.src != 0 || hi.off != 0) {
      return At(pc + 1, "invalid second half of a 64-bit immediate load");
    }
    switch (i.src) {
      case 0:
        return {};
      case kPseudoMapFd:
      case kPseudoMapValue:
        if (i.imm < 0 || size_t(i.imm) >= o.num_maps) {
          return At(pc, fmt::format("64-bit immediate load names map {} of {}", i.imm, o.num_maps));
        }
        if (i.src == kPseudoMapFd && hi.imm != 0) return At(pc, "map load with non-zero offset");
        return {};
      default:
        return At(pc, fmt::format("unsupported 64-bit immediate load source {}", int(i.src)));
    }
  }
  if (cls == kClsLdx) {
    if (mode != kModeMem && !(mode == kModeMemsx && Size(i.opcode) != kSizeDw)) {
      return At(pc, fmt::format("invalid opcode {:#04x}", i.opcode));
    }
    if (i.dst == kFramePointer) return At(pc, "write to r10, the read-only frame pointer");
    return CheckUnused(pc, i, {.imm = true});
  }
  if (cls == kClsSt) {
    if (mode != kModeMem) return At(pc, fmt::format("invalid opcode {:#04x}", i.opcode));
    return CheckUnused(pc, i, {.src = true});
  }
  // STX
  if (mode == kModeMem) return CheckUnused(pc, i, {.imm = true});
  if (mode != kModeAtomic || (Size(i.opcode) != kSizeW && Size(i.opcode) != kSizeDw)) {
    return At(pc, fmt::format("invalid opcode {:#04x}", i.opcode));
  }
  switch (i.imm) {
    case kAluAdd:
    case kAluOr:
    case kAluAnd:
    case kAluXor:
    case kAluAdd | kAtomicFetch:
    case kAluOr | kAtomicFetch:
    case kAluAnd | kAtomicFetch:
    case kAluXor | kAtomicFetch:
    case kAtomicXchg:
    case kAtomicCmpxchg:
      return {};
    default:
      return At(pc, fmt::format("invalid atomic operation {:#x}", i.imm));
  }
}

base::Status CheckJump(size_t pc, const Insn& i, const CheckOptions& o) {
  const bool is32 = Class(i.opcode) == kClsJmp32;
  const bool reg = Source(i.opcode) == kSrcX;
  switch (AluOp(i.opcode)) {
    case kJmpJa:
      if (reg) return At(pc, fmt::format("invalid opcode {:#04x}", i.opcode));
      if (is32) return CheckUnused(pc, i, {.dst = true, .src = true, .off = true});
      return CheckUnused(pc, i, {.dst = true, .src = true, .imm = true});
    case kJmpCall: {
      if (is32) return At(pc, fmt::format("invalid opcode {:#04x}", i.opcode));
      if (reg) {  // callx: the helper id is in dst at run time
        return CheckUnused(pc, i, {.src = true, .off = true, .imm = true});
      }
      if (auto st = CheckUnused(pc, i, {.dst = true, .off = true}); !st) return st;
      if (i.src == kPseudoCall) return {};
      if (i.src != 0) return At(pc, fmt::format("unsupported call kind (src {})", int(i.src)));
      const HelperTable& h = o.helpers ? *o.helpers : HelperTable::Kernel();
      if (h.Find(i.imm) == nullptr) return At(pc, fmt::format("call to unknown helper {}", i.imm));
      return {};
    }
    case kJmpExit:
      if (is32 || reg) return At(pc, fmt::format("invalid opcode {:#04x}", i.opcode));
      return CheckUnused(pc, i, {.dst = true, .src = true, .off = true, .imm = true});
    case kJmpJeq:
    case kJmpJgt:
    case kJmpJge:
    case kJmpJset:
    case kJmpJne:
    case kJmpJsgt:
    case kJmpJsge:
    case kJmpJlt:
    case kJmpJle:
    case kJmpJslt:
    case kJmpJsle:
      return CheckUnused(pc, i, {.src = !reg, .imm = reg});
    default:
      return At(pc, fmt::format("invalid opcode {:#04x}", i.opcode));
  }
}

// The target of a jump or local call at `pc`, or nullopt if `i` does not transfer control.
bool JumpTarget(const Insn& i, size_t pc, int64_t* target, bool* is_call) {
  const uint8_t cls = Class(i.opcode);
  *is_call = false;
  if (cls != kClsJmp && cls != kClsJmp32) return false;
  const uint8_t op = AluOp(i.opcode);
  if (op == kJmpExit) return false;
  if (op == kJmpCall) {
    if (cls != kClsJmp || Source(i.opcode) != kSrcK || i.src != kPseudoCall) return false;
    *is_call = true;
    *target = int64_t(pc) + 1 + i.imm;
    return true;
  }
  const int64_t rel = (op == kJmpJa && cls == kClsJmp32) ? i.imm : i.off;
  *target = int64_t(pc) + 1 + rel;
  return true;
}

}  // namespace

base::Status CheckStructure(std::span<const Insn> insns, const CheckOptions& o) {
  const size_t n = insns.size();
  if (n == 0) return base::MakeError("empty program");
  if (n > o.max_insns) {
    return base::MakeError(fmt::format("too many instructions ({}, max {})", n, o.max_insns));
  }
  // Pass 1: each instruction on its own; mark the second halves of 64-bit immediate loads.
  std::vector<uint8_t> second_half(n, 0);
  for (size_t pc = 0; pc < n; ++pc) {
    const Insn& i = insns[pc];
    if (i.dst > kFramePointer)
      return At(pc, fmt::format("invalid destination register r{}", int(i.dst)));
    const bool lddw_pseudo = i.opcode == kOpLddw;
    if (i.src > kFramePointer && !lddw_pseudo) {
      return At(pc, fmt::format("invalid source register r{}", int(i.src)));
    }
    base::Status st;
    switch (Class(i.opcode)) {
      case kClsAlu:
      case kClsAlu64:
        st = CheckAlu(pc, i);
        break;
      case kClsJmp:
      case kClsJmp32:
        st = CheckJump(pc, i, o);
        break;
      default:
        st = CheckMem(pc, i, n, o);
        break;
    }
    if (!st) return st;
    if (i.opcode == kOpLddw) second_half[++pc] = 1;
  }
  // Pass 2: functions are the entry and every local-call target.
  std::vector<size_t> starts{0};
  for (size_t pc = 0; pc < n; ++pc) {
    if (second_half[pc]) continue;
    int64_t t;
    bool is_call;
    if (!JumpTarget(insns[pc], pc, &t, &is_call)) continue;
    if (t < 0 || t >= int64_t(n)) {
      return At(pc, fmt::format("{} out of range (to {} of {})", is_call ? "call" : "jump", t, n));
    }
    if (second_half[t]) {
      return At(pc, "jump into the middle of a 64-bit immediate load");
    }
    if (is_call) starts.push_back(size_t(t));
    if (!is_call && t == int64_t(pc)) return At(pc, "infinite loop (jump to itself)");
  }
  std::sort(starts.begin(), starts.end());
  starts.erase(std::unique(starts.begin(), starts.end()), starts.end());
  for (size_t f = 0; f < starts.size(); ++f) {
    const size_t lo = starts[f];
    const size_t hi = f + 1 < starts.size() ? starts[f + 1] : n;  // exclusive
    const Insn& last = insns[hi - 1];
    const bool ends =
        !second_half[hi - 1] && (last.opcode == kOpExit || last.opcode == (kClsJmp | kJmpJa) ||
                                 last.opcode == (kClsJmp32 | kJmpJa));
    if (!ends) {
      return At(hi - 1, "function does not end with exit or an unconditional jump");
    }
    for (size_t pc = lo; pc < hi; ++pc) {
      int64_t t;
      bool is_call;
      if (second_half[pc] || !JumpTarget(insns[pc], pc, &t, &is_call) || is_call) continue;
      if (t < int64_t(lo) || t >= int64_t(hi)) {
        return At(
            pc, fmt::format("jump out of its function (to {}, function is {}..{})", t, lo, hi - 1));
      }
    }
  }
  return {};
}

}  // namespace vigil::ebpf

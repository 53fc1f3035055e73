#include "ebpf/program.h"

#include "ebpf/check.h"
#include "ebpf/jit/jit.h"
#include "ebpf/xdp.h"
#include "fmt/format.h"

namespace vigil::ebpf {
namespace {

// Position of each operation in VIGIL_EBPF_ALU_BINOPS / VIGIL_EBPF_JUMPS (four forms each).
int AluIndex(uint8_t op, bool is_signed) {
  switch (op) {
    case kAluAdd:
      return 0;
    case kAluSub:
      return 1;
    case kAluMul:
      return 2;
    case kAluDiv:
      return is_signed ? 4 : 3;
    case kAluMod:
      return is_signed ? 6 : 5;
    case kAluOr:
      return 7;
    case kAluAnd:
      return 8;
    case kAluLsh:
      return 9;
    case kAluRsh:
      return 10;
    case kAluArsh:
      return 11;
    case kAluXor:
      return 12;
    case kAluMov:
      return 13;
    default:
      return -1;
  }
}

int JumpIndex(uint8_t op) {
  switch (op) {
    case kJmpJeq:
      return 0;
    case kJmpJgt:
      return 1;
    case kJmpJge:
      return 2;
    case kJmpJset:
      return 3;
    case kJmpJne:
      return 4;
    case kJmpJsgt:
      return 5;
    case kJmpJsge:
      return 6;
    case kJmpJlt:
      return 7;
    case kJmpJle:
      return 8;
    case kJmpJslt:
      return 9;
    case kJmpJsle:
      return 10;
    default:
      return -1;
  }
}

Handler Forms(Handler first, int index, bool is32, bool reg) {
  return Handler(first + index * 4 + (is32 ? 2 : 0) + (reg ? 1 : 0));
}

Handler SizedHandler(uint8_t opcode, Handler b, Handler h, Handler w, Handler dw) {
  switch (Size(opcode)) {
    case kSizeB:
      return b;
    case kSizeH:
      return h;
    case kSizeW:
      return w;
    default:
      return dw;
  }
}

Handler AtomicHandler(const Insn& i) {
  const bool is32 = Size(i.opcode) == kSizeW;
  switch (i.imm) {
    case kAluAdd:
      return is32 ? kAtomicAdd32 : kAtomicAdd64;
    case kAluOr:
      return is32 ? kAtomicOr32 : kAtomicOr64;
    case kAluAnd:
      return is32 ? kAtomicAnd32 : kAtomicAnd64;
    case kAluXor:
      return is32 ? kAtomicXor32 : kAtomicXor64;
    case kAluAdd | kAtomicFetch:
      return is32 ? kAtomicFetchAdd32 : kAtomicFetchAdd64;
    case kAluOr | kAtomicFetch:
      return is32 ? kAtomicFetchOr32 : kAtomicFetchOr64;
    case kAluAnd | kAtomicFetch:
      return is32 ? kAtomicFetchAnd32 : kAtomicFetchAnd64;
    case kAluXor | kAtomicFetch:
      return is32 ? kAtomicFetchXor32 : kAtomicFetchXor64;
    case kAtomicXchg:
      return is32 ? kAtomicXchg32 : kAtomicXchg64;
    case kAtomicCmpxchg:
      return is32 ? kAtomicCmpxchg32 : kAtomicCmpxchg64;
    default:
      return kInvalid;
  }
}

// Decodes one structurally checked instruction (the second half of lddw is handled by the caller).
base::Status Decode(const std::vector<Insn>& insns, size_t pc, const HelperTable& helpers,
                    const std::vector<std::shared_ptr<Map>>& maps, Op* out) {
  const Insn& i = insns[pc];
  Op& o = *out;
  o = {kInvalid, uint8_t(i.dst), uint8_t(i.src), i.off, uint64_t(int64_t(i.imm))};
  const uint8_t cls = Class(i.opcode);
  const bool reg = Source(i.opcode) == kSrcX;
  switch (cls) {
    case kClsAlu:
    case kClsAlu64: {
      const bool is32 = cls == kClsAlu;
      const uint8_t op = AluOp(i.opcode);
      if (op == kAluNeg) {
        o.handler = is32 ? kNeg32 : kNeg64;
      } else if (op == kAluEnd) {
        const bool swap = cls == kClsAlu64 || reg;  // bswap, or to-big-endian on this host
        o.handler = i.imm == 16   ? (swap ? kBe16 : kLe16)
                    : i.imm == 32 ? (swap ? kBe32 : kLe32)
                                  : (swap ? kBe64 : kLe64);
      } else if (op == kAluMov && reg && i.off != 0) {
        o.handler = i.off == 8    ? (is32 ? kMovsx8To32 : kMovsx8To64)
                    : i.off == 16 ? (is32 ? kMovsx16To32 : kMovsx16To64)
                                  : kMovsx32To64;
      } else {
        o.handler = Forms(kAdd64K, AluIndex(op, i.off == 1), is32, reg);
      }
      return {};
    }
    case kClsJmp:
    case kClsJmp32: {
      const uint8_t op = AluOp(i.opcode);
      if (op == kJmpJa) {
        o.handler = kJa;
        o.off = int32_t(pc) + 1 + (cls == kClsJmp32 ? i.imm : i.off);
      } else if (op == kJmpExit) {
        o.handler = kExit;
      } else if (op == kJmpCall) {
        if (reg) {
          o.handler = kCallIndirect;
        } else if (i.src == kPseudoCall) {
          o.handler = kCallLocal;
          o.off = int32_t(pc) + 1 + i.imm;
        } else {
          o.handler = kCallHelper;
          o.imm = uint64_t(helpers.Find(i.imm));
        }
      } else {
        o.handler = Forms(kJeq64K, JumpIndex(op), cls == kClsJmp32, reg);
        o.off = int32_t(pc) + 1 + i.off;
      }
      return {};
    }
    case kClsLd: {
      const Insn& hi = insns[pc + 1];
      o.handler = kLddw;
      if (i.src == 0) {
        o.imm = uint64_t(uint32_t(i.imm)) | uint64_t(uint32_t(hi.imm)) << 32;
      } else if (i.src == kPseudoMapFd) {
        o.imm = uint64_t(maps[i.imm].get());
      } else {
        Map& m = *maps[i.imm];
        uint8_t* value = m.DirectValue(0);
        if (value == nullptr) {
          return base::MakeError(fmt::format(
              "instruction {}: map '{}' has no direct value (not an array)", pc, m.spec().name));
        }
        if (hi.imm < 0 || uint32_t(hi.imm) >= m.spec().value_size) {
          return base::MakeError(fmt::format("instruction {}: offset {} is outside map '{}' value",
                                             pc, hi.imm, m.spec().name));
        }
        o.imm = uint64_t(value + hi.imm);
      }
      return {};
    }
    case kClsLdx:
      o.handler = Mode(i.opcode) == kModeMemsx
                      ? SizedHandler(i.opcode, kLdxsB, kLdxsH, kLdxsW, kInvalid)
                      : SizedHandler(i.opcode, kLdxB, kLdxH, kLdxW, kLdxDw);
      return {};
    case kClsSt:
      o.handler = SizedHandler(i.opcode, kStB, kStH, kStW, kStDw);
      return {};
    default:  // kClsStx
      o.handler = Mode(i.opcode) == kModeAtomic
                      ? AtomicHandler(i)
                      : SizedHandler(i.opcode, kStxB, kStxH, kStxW, kStxDw);
      return {};
  }
}

}  // namespace

base::Result<std::shared_ptr<const Program>> Program::Load(std::span<const Insn> insns,
                                                           LoadOptions options) {
  std::shared_ptr<Program> p(new Program());
  p->helpers_ = options.helpers ? options.helpers : &HelperTable::Kernel();
  p->type_ = options.type;
  p->name_ = std::move(options.name);
  p->maps_ = std::move(options.maps);
  for (const auto& m : p->maps_) {
    if (!m) return base::MakeError("null map in LoadOptions::maps");
  }
  p->insns_.assign(insns.begin(), insns.end());
  if (auto st = CheckStructure(
          p->insns_,
          {.helpers = p->helpers_, .num_maps = p->maps_.size(), .max_insns = options.max_insns});
      !st) {
    return st.error();
  }
  if (p->type_ == ProgramType::kXdp) {
    if (options.verify) {
      verifier::Options vo;
      vo.helpers = p->helpers_;
      for (const auto& m : p->maps_) vo.maps.push_back(m->spec());
      vo.gpl = options.gpl;
      vo.lines = options.lines;
      auto st = verifier::Verify(p->insns_, vo);
      if (!st) {
        base::Error e = st.error();
        e.message = "refused by the verifier: " + e.message;
        return e;
      }
      p->verified_ = true;
      // Dead code (behind branches whose outcome the verifier knows) was never checked: it
      // becomes no-ops, as the kernel's sanitize_dead_code does, so that nothing unchecked is
      // left for the context rewrite or the interpreter to meet.
      const Insn nop = Insn::Make(kClsJmp | kJmpJa, 0, 0, 0, 0);
      for (size_t pc = 0; pc < p->insns_.size(); ++pc) {
        const bool lddw = p->insns_[pc].opcode == kOpLddw;
        if (!st->reached[pc]) {
          p->insns_[pc] = nop;
          if (lddw) p->insns_[pc + 1] = nop;
        }
        if (lddw) ++pc;
      }
    }
    if (auto st = RewriteXdpContextAccess(p->insns_); !st) return st.error();
  }
  p->ops_.resize(p->insns_.size());
  for (size_t pc = 0; pc < p->insns_.size(); ++pc) {
    if (auto st = Decode(p->insns_, pc, *p->helpers_, p->maps_, &p->ops_[pc]); !st) {
      return st.error();
    }
    if (p->insns_[pc].opcode == kOpLddw) {
      ++pc;
      p->ops_[pc] = {kInvalid, 0, 0, 0, 0};
    }
  }
  if (options.jit) {
    auto code = jit::Compile(*p, {.blind_constants = options.blind_constants});
    if (!code) return code.error();
    p->jit_ = std::move(*code);
    if (p->jit_->lean()) p->lean_entry_ = p->jit_->entry();
  }
  return std::shared_ptr<const Program>(std::move(p));
}

Program::~Program() = default;

bool Program::HasMap(const void* p) const {
  for (const auto& m : maps_) {
    if (m.get() == p) return true;
  }
  return false;
}

}  // namespace vigil::ebpf

#include "ebpf/xdp.h"

#include <cstring>
#include <deque>

#include "ebpf/interp/interpreter.h"
#include "ebpf/program.h"
#include "ebpf/scratch.h"
#include "fmt/format.h"

namespace vigil::ebpf {
namespace {

// Which registers and 8-byte stack slots hold the context: surely (on every path) and possibly
// (on some path).
struct CtxState {
  uint16_t must_regs = 0, may_regs = 0;
  uint64_t must_slots = 0, may_slots = 0;
  bool reached = false;

  // Merges `in` into this state; returns whether anything changed.
  bool Merge(const CtxState& in) {
    if (!reached) {
      *this = in;
      reached = true;
      return true;
    }
    CtxState old = *this;
    must_regs &= in.must_regs;
    may_regs |= in.may_regs;
    must_slots &= in.must_slots;
    may_slots |= in.may_slots;
    return old.must_regs != must_regs || old.may_regs != may_regs || old.must_slots != must_slots ||
           old.may_slots != may_slots;
  }
  void SetReg(int r, bool must, bool may) {
    must_regs = uint16_t((must_regs & ~(1u << r)) | (must ? 1u << r : 0));
    may_regs = uint16_t((may_regs & ~(1u << r)) | (may ? 1u << r : 0));
  }
  void ClearRegs(uint16_t mask) {
    must_regs &= uint16_t(~mask);
    may_regs &= uint16_t(~mask);
  }
  bool MustReg(int r) const { return must_regs >> r & 1; }
  bool MayReg(int r) const { return may_regs >> r & 1; }
};

// The 8-byte stack slot that [r10 + off] of `size` bytes falls in, or -1 when not on the frame.
int Slot(int32_t off, uint32_t size) {
  if (off >= 0 || off < -int32_t(kStackSize) || off + int32_t(size) > 0) return -1;
  return (off + int32_t(kStackSize)) / 8;
}

CtxState Transfer(const Insn& i, CtxState s) {
  const uint8_t cls = Class(i.opcode);
  switch (cls) {
    case kClsAlu:
    case kClsAlu64:
      if (i.opcode == (kClsAlu64 | kAluMov | kSrcX) && i.off == 0) {
        s.SetReg(i.dst, s.MustReg(i.src), s.MayReg(i.src));
      } else {
        s.SetReg(i.dst, false, false);
      }
      return s;
    case kClsLd:
      s.SetReg(i.dst, false, false);
      return s;
    case kClsLdx: {
      const int slot = i.src == kFramePointer ? Slot(i.off, SizeBytes(i.opcode)) : -1;
      if (slot >= 0 && i.opcode == (kClsLdx | kModeMem | kSizeDw) && (i.off & 7) == 0) {
        s.SetReg(i.dst, s.must_slots >> slot & 1, s.may_slots >> slot & 1);
      } else {
        s.SetReg(i.dst, false, false);
      }
      return s;
    }
    case kClsSt:
    case kClsStx: {
      if (i.dst != kFramePointer) return s;
      const int slot = Slot(i.off, SizeBytes(i.opcode));
      if (slot < 0) return s;
      const uint64_t bit = 1ull << slot;
      s.must_slots &= ~bit;
      s.may_slots &= ~bit;
      if (cls == kClsStx && Mode(i.opcode) == kModeMem && Size(i.opcode) == kSizeDw &&
          (i.off & 7) == 0) {
        if (s.MustReg(i.src)) s.must_slots |= bit;
        if (s.MayReg(i.src)) s.may_slots |= bit;
      }
      if (Mode(i.opcode) == kModeAtomic) {
        // Fetching atomics write src (and cmpxchg r0).
        if (i.imm & kAtomicFetch) s.SetReg(i.src, false, false);
        if (i.imm == kAtomicCmpxchg) s.SetReg(0, false, false);
      }
      return s;
    }
    default:
      return s;
  }
}

}  // namespace

bool XdpContextField(int32_t off, uint32_t size, int16_t* new_off, uint8_t* new_size) {
  // struct xdp_md: data, data_end, data_meta (pointers the kernel widens), then three u32 fields.
  switch (off) {
    case 0:
      *new_off = offsetof(XdpContext, data);
      *new_size = 8;
      break;
    case 4:
      *new_off = offsetof(XdpContext, data_end);
      *new_size = 8;
      break;
    case 8:
      *new_off = offsetof(XdpContext, data_meta);
      *new_size = 8;
      break;
    case 12:
      *new_off = offsetof(XdpContext, ingress_ifindex);
      *new_size = 4;
      break;
    case 16:
      *new_off = offsetof(XdpContext, rx_queue_index);
      *new_size = 4;
      break;
    case 20:
      *new_off = offsetof(XdpContext, egress_ifindex);
      *new_size = 4;
      break;
    default:
      return false;
  }
  return size == 4;
}

base::Status RewriteXdpContextAccess(std::vector<Insn>& insns) {
  const size_t n = insns.size();
  std::vector<CtxState> in(n);
  std::deque<size_t> work;
  CtxState entry;
  entry.SetReg(1, true, true);
  in[0].Merge(entry);
  work.push_back(0);
  auto flow = [&](size_t to, const CtxState& s) {
    if (to < n && in[to].Merge(s)) work.push_back(to);
  };
  while (!work.empty()) {
    const size_t pc = work.front();
    work.pop_front();
    const Insn& i = insns[pc];
    CtxState out = Transfer(i, in[pc]);
    out.reached = true;
    const uint8_t cls = Class(i.opcode);
    if (i.opcode == kOpLddw) {
      flow(pc + 2, out);
      continue;
    }
    if (cls != kClsJmp && cls != kClsJmp32) {
      flow(pc + 1, out);
      continue;
    }
    const uint8_t op = AluOp(i.opcode);
    if (op == kJmpExit) continue;
    if (op == kJmpCall) {
      if (cls == kClsJmp && Source(i.opcode) == kSrcK && i.src == kPseudoCall) {
        CtxState callee;
        callee.reached = true;
        callee.must_regs = out.must_regs & 0x3e;  // r1-r5 are the arguments
        callee.may_regs = out.may_regs & 0x3e;
        flow(size_t(int64_t(pc) + 1 + i.imm), callee);
      }
      out.ClearRegs(0x3f);  // r0-r5 do not survive a call
      flow(pc + 1, out);
      continue;
    }
    const int64_t rel = (op == kJmpJa && cls == kClsJmp32) ? i.imm : i.off;
    flow(size_t(int64_t(pc) + 1 + rel), out);
    if (op != kJmpJa) flow(pc + 1, out);
  }

  for (size_t pc = 0; pc < n; ++pc) {
    if (!in[pc].reached) continue;
    Insn& i = insns[pc];
    const uint8_t cls = Class(i.opcode);
    int base;
    if (cls == kClsLdx) {
      base = i.src;
    } else if (cls == kClsSt || cls == kClsStx) {
      base = i.dst;
    } else {
      if (i.opcode == kOpLddw) ++pc;
      continue;
    }
    const CtxState& s = in[pc];
    if (!s.MayReg(base)) continue;
    auto fail = [&](std::string why) {
      base::Error e{fmt::format("instruction {}: {}", pc, why)};
      e.offset = int64_t(pc * sizeof(Insn));
      return e;
    };
    if (!s.MustReg(base)) {
      return fail(fmt::format("r{} is the XDP context on some paths only", base));
    }
    if (cls != kClsLdx) return fail("write to the XDP context (struct xdp_md is read-only)");
    int16_t off;
    uint8_t size;
    if (Mode(i.opcode) != kModeMem || !XdpContextField(i.off, SizeBytes(i.opcode), &off, &size)) {
      return fail(
          fmt::format("invalid xdp_md access: {} bytes at offset {}", SizeBytes(i.opcode), i.off));
    }
    i.off = off;
    i.opcode = kClsLdx | kModeMem | (size == 8 ? kSizeDw : kSizeW);
  }
  return {};
}

void XdpBuffer::Assign(std::span<const uint8_t> frame) {
  storage_.resize(kHeadroom + frame.size() + kTailroom);
  if (!frame.empty()) std::memcpy(storage_.data() + kHeadroom, frame.data(), frame.size());
  const uint64_t start = uint64_t(storage_.data());
  ctx_.hard_start = start;
  ctx_.hard_end = start + storage_.size();
  ctx_.data = start + kHeadroom;
  ctx_.data_end = ctx_.data + frame.size();
  ctx_.data_meta = ctx_.data;
}

namespace {

// A redirect's verdict: out of line, as what it copies would make every verdict slower.
[[gnu::noinline]] XdpVerdict RedirectVerdict(uint64_t r0, const Scratch& scratch) {
  XdpVerdict v;
  v.raw = r0;
  v.action = kXdpRedirect;
  v.redirect = scratch.redirect;
  v.redirect_ifindex = scratch.redirect.kind == RedirectKind::kIfindex ? scratch.redirect.value : 0;
  return v;
}

base::Result<XdpVerdict> Verdict(uint64_t r0, const Scratch& scratch) {
  if (r0 == kXdpRedirect) [[unlikely]]
    return RedirectVerdict(r0, scratch);
  return XdpVerdict{.action = r0 < kXdpRedirect ? XdpAction(r0) : kXdpAborted, .raw = r0};
}

// RunXdp on the interpreters, and the JIT's failed runs: out of line, so that the JIT's path
// keeps few registers and little stack.
[[gnu::noinline]] base::Result<XdpVerdict> RunXdpOther(const Program& program, Scratch& scratch,
                                                       XdpContext& ctx) {
  auto r0 = Run(program, scratch, uint64_t(&ctx));
  scratch.xdp = nullptr;
  if (!r0) return std::move(r0.error());
  return Verdict(*r0, scratch);
}

}  // namespace

base::Result<XdpVerdict> RunXdpFull(const Program& program, Scratch& scratch, XdpContext& ctx) {
  scratch.xdp = &ctx;
  // The data plane's path, the JIT's machine code, inline (jit::Run's, minus its Result).
  if (!scratch.config().checked && scratch.config().jit && program.jit() != nullptr) [[likely]] {
    scratch.BeginRun(program);
    const uint64_t r0 = program.jit()->entry()(&scratch, uint64_t(&ctx), 0, scratch.stack_top());
    scratch.xdp = nullptr;
    if (scratch.error.empty()) [[likely]]
      return Verdict(r0, scratch);
    return jit::RunFailure(scratch);
  }
  return RunXdpOther(program, scratch, ctx);
}

}  // namespace vigil::ebpf

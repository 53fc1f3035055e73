#include "ebpf/verifier/random_program.h"

#include <algorithm>
#include <cstring>

#include "ebpf/asm.h"
#include "ebpf/program.h"
#include "ebpf/scratch.h"
#include "ebpf/verifier/verifier.h"
#include "ebpf/xdp.h"
#include "fmt/format.h"

namespace vigil::ebpf::verifier {
namespace {

// Builds the program with forward jumps to named places resolved at the end.
class Builder {
 public:
  explicit Builder(std::mt19937_64& rng) : rng_(rng) {}

  uint64_t R(uint64_t n) { return n ? rng_() % n : 0; }
  bool Chance(int percent) { return int(R(100)) < percent; }

  void Emit(uint8_t op, int dst, int src, int16_t off, int32_t imm) {
    insns_.push_back(Insn::Make(op, uint8_t(dst), uint8_t(src), off, imm));
  }
  // A conditional (or unconditional, for ja) jump to the epilogue, resolved in Finish().
  void JumpToEnd(uint8_t op, int dst, int src, int32_t imm) {
    to_end_.push_back(insns_.size());
    Emit(op, dst, src, 0, imm);
  }
  size_t size() const { return insns_.size(); }
  std::vector<Insn>& insns() { return insns_; }

  std::vector<Insn> Finish(int32_t ret) {
    const size_t end = insns_.size();
    for (size_t at : to_end_) insns_[at].off = int16_t(end - at - 1);
    Emit(kClsAlu64 | kAluMov | kSrcK, 0, 0, 0, ret);
    Emit(kOpExit, 0, 0, 0, 0);
    return std::move(insns_);
  }

 private:
  std::mt19937_64& rng_;
  std::vector<Insn> insns_;
  std::vector<size_t> to_end_;
};

constexpr uint8_t kSizes[] = {kSizeB, kSizeH, kSizeW, kSizeDw};
constexpr uint8_t kAluOps[] = {kAluAdd, kAluSub, kAluMul, kAluDiv, kAluOr,  kAluAnd,
                               kAluLsh, kAluRsh, kAluMod, kAluXor, kAluMov, kAluArsh};
constexpr uint8_t kJumps[] = {kJmpJeq,  kJmpJgt, kJmpJge, kJmpJset, kJmpJne, kJmpJsgt,
                              kJmpJsge, kJmpJlt, kJmpJle, kJmpJslt, kJmpJsle};

}  // namespace

std::vector<MapSpec> RandomProgramMaps() {
  return {
      {.type = kMapArray, .key_size = 4, .value_size = 64, .max_entries = 4, .name = "array"},
      {.type = kMapHash, .key_size = 4, .value_size = 16, .max_entries = 64, .name = "hash"},
      {.type = kMapArray, .key_size = 4, .value_size = 32, .max_entries = 1, .name = "global"},
      {.type = kMapRingbuf, .key_size = 0, .value_size = 0, .max_entries = 4096, .name = "events"},
      {.type = kMapPerfEventArray,
       .key_size = 4,
       .value_size = 4,
       .max_entries = 4,
       .name = "samples"}};
}

std::vector<Insn> RandomXdpProgram(std::mt19937_64& rng, size_t max_blocks) {
  Builder b(rng);
  // Registers: r6 ctx, r2 data, r3 data_end (as clang keeps them), the rest scratch.
  b.Emit(kClsAlu64 | kAluMov | kSrcX, 6, 1, 0, 0);
  b.Emit(kClsLdx | kModeMem | kSizeW, 2, 6, 0, 0);
  b.Emit(kClsLdx | kModeMem | kSizeW, 3, 6, 4, 0);
  auto scratch_reg = [&]() { return int(b.R(3) == 0 ? 4 + b.R(2) : 7 + b.R(3)); };  // r4 r5 r7-9
  // Scratch registers start as small numbers, mostly (a register read unset is refused).
  for (int r : {4, 5, 7, 8, 9})
    if (b.Chance(95)) b.Emit(kClsAlu64 | kAluMov | kSrcK, r, 0, 0, int32_t(b.R(16)));
  // Packet offsets are drawn mostly below the largest check so far, sometimes just past it.
  int32_t proven = 0;
  auto packet_off = [&](uint32_t size) {
    if (proven >= int32_t(size) && b.Chance(85)) return int16_t(b.R(proven - size + 1));
    return int16_t(b.R(proven + 4));
  };
  const size_t blocks = 1 + b.R(max_blocks);
  for (size_t k = 0; k < blocks; ++k) {
    switch (b.R(15)) {
      case 0:
      case 1: {  // bounds check: if data + K > data_end goto end
        const int32_t k2 = int32_t(b.R(90));
        b.Emit(kClsAlu64 | kAluMov | kSrcX, 4, 2, 0, 0);
        b.Emit(kClsAlu64 | kAluAdd | kSrcK, 4, 0, 0, k2);
        const uint8_t op = b.Chance(85) ? kJmpJgt : (b.Chance(50) ? kJmpJge : kJmpJlt);
        b.JumpToEnd(kClsJmp | op | kSrcX, 4, 3, 0);
        if (op == kJmpJgt) proven = std::max(proven, k2);
        break;
      }
      case 2: {  // packet load
        const uint8_t size = kSizes[b.R(4)];
        b.Emit(kClsLdx | kModeMem | size, scratch_reg(), 2, packet_off(SizeBytes(size)), 0);
        break;
      }
      case 3: {  // packet store
        const uint8_t size = kSizes[b.R(4)];
        if (b.Chance(50))
          b.Emit(kClsSt | kModeMem | size, 2, 0, packet_off(SizeBytes(size)), int32_t(b.R(256)));
        else
          b.Emit(kClsStx | kModeMem | size, 2, scratch_reg(), packet_off(SizeBytes(size)), 0);
        break;
      }
      case 4: {  // arithmetic
        const uint8_t op = kAluOps[b.R(sizeof(kAluOps))];
        const bool is64 = b.Chance(70);
        const uint8_t cls = is64 ? kClsAlu64 : kClsAlu;
        int32_t imm = int32_t(b.R(64)) - (b.Chance(10) ? 80 : 0);
        if ((op == kAluDiv || op == kAluMod) && imm == 0) imm = 3;
        if (op == kAluLsh || op == kAluRsh || op == kAluArsh) imm = int32_t(b.R(is64 ? 64 : 32));
        if (b.Chance(60))
          b.Emit(cls | op | kSrcK, scratch_reg(), 0, 0, imm);
        else
          b.Emit(cls | op | kSrcX, scratch_reg(), scratch_reg(), 0, 0);
        break;
      }
      case 5: {  // variable offset from a packet byte, then a check and a load through it
        const int mask = int(b.R(2) ? 0x3f : 0xff);
        b.Emit(kClsLdx | kModeMem | kSizeB, 5, 2, packet_off(1), 0);
        b.Emit(kClsAlu64 | kAluAnd | kSrcK, 5, 0, 0, mask);
        b.Emit(kClsAlu64 | kAluMov | kSrcX, 7, 2, 0, 0);
        b.Emit(kClsAlu64 | kAluAdd | kSrcX, 7, 5, 0, 0);
        const int32_t need = int32_t(b.R(16));
        b.Emit(kClsAlu64 | kAluMov | kSrcX, 4, 7, 0, 0);
        b.Emit(kClsAlu64 | kAluAdd | kSrcK, 4, 0, 0, need);
        b.JumpToEnd(kClsJmp | kJmpJgt | kSrcX, 4, 3, 0);
        b.Emit(kClsLdx | kModeMem | kSizes[b.R(3)], 8, 7, int16_t(b.R(12)), 0);
        break;
      }
      case 6: {  // map lookup (key on the stack), maybe a NULL check, an access in the value
        const int map = int(b.R(2));
        if (b.Chance(90)) b.Emit(kClsSt | kModeMem | kSizeW, 10, 0, -4, int32_t(b.R(6)));
        b.Emit(kClsAlu64 | kAluMov | kSrcX, 2, 10, 0, 0);
        b.Emit(kClsAlu64 | kAluAdd | kSrcK, 2, 0, 0, -4);
        b.Emit(kOpLddw, 1, kPseudoMapFd, 0, map);
        b.Emit(0, 0, 0, 0, 0);
        b.Emit(kOpCall, 0, 0, 0, kHelperMapLookupElem);
        if (b.Chance(85)) b.JumpToEnd(kClsJmp | kJmpJeq | kSrcK, 0, 0, 0);
        const uint8_t size = kSizes[b.R(4)];
        const int16_t off =
            int16_t(b.R((map == 0 ? 64 : 16) - SizeBytes(size) + (b.Chance(10) ? 8 : 1)));
        if (b.Chance(20)) {  // an atomic update, 4 or 8 bytes, sometimes misaligned
          static constexpr int32_t kOps[] = {kAluAdd, kAluOr, kAluAdd | kAtomicFetch, kAtomicXchg,
                                             kAtomicCmpxchg};
          const bool dw = b.Chance(50);
          const int16_t aoff =
              int16_t((dw ? 8 : 4) * b.R(map == 0 ? 8 : 2) + (b.Chance(15) ? 2 : 0));
          b.Emit(kClsStx | kModeAtomic | (dw ? kSizeDw : kSizeW), 0, 8, aoff, kOps[b.R(5)]);
        } else if (b.Chance(50)) {
          b.Emit(kClsLdx | kModeMem | size, 8, 0, off, 0);
        } else {
          b.Emit(kClsSt | kModeMem | size, 0, 0, off, 1);
        }
        // Data and data_end are gone with r2/r3 (clobbered by the call): reload them.
        b.Emit(kClsLdx | kModeMem | kSizeW, 2, 6, 0, 0);
        b.Emit(kClsLdx | kModeMem | kSizeW, 3, 6, 4, 0);
        break;
      }
      case 7: {  // stack: spill and fill, sometimes misaligned or uninitialized
        const int16_t off = int16_t(-8 * int(1 + b.R(8)) + (b.Chance(10) ? int(b.R(8)) : 0));
        if (b.Chance(70)) b.Emit(kClsStx | kModeMem | kSizeDw, 10, scratch_reg(), off, 0);
        b.Emit(kClsLdx | kModeMem | kSizes[b.R(4)], scratch_reg(), 10, off, 0);
        break;
      }
      case 8: {  // forward branch over a few instructions of the block's successors
        const uint8_t op = kJumps[b.R(sizeof(kJumps))];
        b.JumpToEnd(kClsJmp | op | kSrcK, scratch_reg(), 0, int32_t(b.R(64)));
        break;
      }
      case 9: {  // a helper that resizes the packet; r2/r3 must be reloaded (sometimes are not)
        const int32_t helper = b.Chance(50) ? kHelperXdpAdjustHead : kHelperXdpAdjustTail;
        b.Emit(kClsAlu64 | kAluMov | kSrcX, 1, 6, 0, 0);
        b.Emit(kClsAlu64 | kAluMov | kSrcK, 2, 0, 0, int32_t(b.R(32)) - 16);
        b.Emit(kOpCall, 0, 0, 0, helper);
        proven = 0;
        if (b.Chance(90)) {
          b.Emit(kClsLdx | kModeMem | kSizeW, 2, 6, 0, 0);
          b.Emit(kClsLdx | kModeMem | kSizeW, 3, 6, 4, 0);
        }
        break;
      }
      case 10: {  // a short counted loop over the packet
        const int32_t n = int32_t(1 + b.R(8));
        b.Emit(kClsAlu64 | kAluMov | kSrcK, 9, 0, 0, 0);
        const size_t head = b.size();
        b.Emit(kClsAlu64 | kAluMov | kSrcX, 4, 2, 0, 0);
        b.Emit(kClsAlu64 | kAluAdd | kSrcX, 4, 9, 0, 0);
        b.Emit(kClsAlu64 | kAluMov | kSrcX, 5, 4, 0, 0);
        b.Emit(kClsAlu64 | kAluAdd | kSrcK, 5, 0, 0, 1);
        b.JumpToEnd(kClsJmp | kJmpJgt | kSrcX, 5, 3, 0);
        b.Emit(kClsLdx | kModeMem | kSizeB, 8, 4, 0, 0);
        b.Emit(kClsAlu64 | kAluAdd | kSrcK, 9, 0, 0, 1);
        const size_t back = b.size();
        b.Emit(kClsJmp | kJmpJlt | kSrcK, 9, 0, int16_t(int64_t(head) - int64_t(back) - 1),
               b.Chance(95) ? n : 1 << 20);
        break;
      }
      case 11: {  // direct value of the global array
        const uint8_t size = kSizes[b.R(4)];
        const int32_t base = int32_t(b.R(16));
        b.Emit(kOpLddw, 7, kPseudoMapValue, 0, 2);
        b.Emit(0, 0, 0, 0, base);
        b.Emit(kClsLdx | kModeMem | size, 8, 7,
               int16_t(b.R(32 - base - SizeBytes(size) + (b.Chance(10) ? 8 : 1))), 0);
        break;
      }
      case 12: {  // a ring buffer record: reserve, maybe check, write, submit or discard
        const int32_t size = int32_t(8 * (1 + b.R(4)));
        b.Emit(kOpLddw, 1, kPseudoMapFd, 0, 3);
        b.Emit(0, 0, 0, 0, 0);
        if (b.Chance(95)) {
          b.Emit(kClsAlu64 | kAluMov | kSrcK, 2, 0, 0, size);
        } else {  // a size the verifier cannot know
          b.Emit(kClsAlu64 | kAluMov | kSrcX, 2, scratch_reg(), 0, 0);
          b.Emit(kClsAlu64 | kAluAnd | kSrcK, 2, 0, 0, 31);
        }
        b.Emit(kClsAlu64 | kAluMov | kSrcK, 3, 0, 0, 0);
        b.Emit(kOpCall, 0, 0, 0, kHelperRingbufReserve);
        if (b.Chance(90)) b.JumpToEnd(kClsJmp | kJmpJeq | kSrcK, 0, 0, 0);
        const uint8_t wsize = kSizes[b.R(4)];
        const int16_t off =
            int16_t(b.R(size - int32_t(SizeBytes(wsize)) + 1 + (b.Chance(10) ? 8 : 0)));
        if (b.Chance(50))
          b.Emit(kClsSt | kModeMem | wsize, 0, 0, off, int32_t(b.R(256)));
        else
          b.Emit(kClsStx | kModeMem | wsize, 0, scratch_reg(), off, 0);
        b.Emit(kClsAlu64 | kAluMov | kSrcX, 1, 0, 0, 0);
        if (b.Chance(3)) b.Emit(kClsAlu64 | kAluAdd | kSrcK, 1, 0, 0, 4);  // not the record
        b.Emit(kClsAlu64 | kAluMov | kSrcK, 2, 0, 0, 0);
        if (b.Chance(96))  // else the record is never released
          b.Emit(kOpCall, 0, 0, 0, b.Chance(70) ? kHelperRingbufSubmit : kHelperRingbufDiscard);
        b.Emit(kClsLdx | kModeMem | kSizeW, 2, 6, 0, 0);
        b.Emit(kClsLdx | kModeMem | kSizeW, 3, 6, 4, 0);
        break;
      }
      case 13: {  // a perf event: 8 or 16 bytes of the stack, and a few packet bytes
        b.Emit(kClsSt | kModeMem | kSizeDw, 10, 0, -16, int32_t(b.R(100)));
        b.Emit(kClsAlu64 | kAluMov | kSrcX, 1, 6, 0, 0);
        b.Emit(kOpLddw, 2, kPseudoMapFd, 0, 4);
        b.Emit(0, 0, 0, 0, 0);
        b.Emit(kOpLddw, 3, 0, 0, -1);  // BPF_F_CURRENT_CPU, and packet bytes above bit 32
        b.Emit(0, 0, 0, 0, int32_t(b.R(3) * 8));
        b.Emit(kClsAlu64 | kAluMov | kSrcX, 4, 10, 0, 0);
        b.Emit(kClsAlu64 | kAluAdd | kSrcK, 4, 0, 0, -16);
        b.Emit(kClsAlu64 | kAluMov | kSrcK, 5, 0, 0, b.Chance(90) ? 8 : 16);
        b.Emit(kOpCall, 0, 0, 0, kHelperPerfEventOutput);
        b.Emit(kClsLdx | kModeMem | kSizeW, 2, 6, 0, 0);
        b.Emit(kClsLdx | kModeMem | kSizeW, 3, 6, 4, 0);
        break;
      }
      default: {  // copy a pointer around (data into a scratch register, or the stack pointer)
        if (b.Chance(50))
          b.Emit(kClsAlu64 | kAluMov | kSrcX, scratch_reg(), 2, 0, 0);
        else
          b.Emit(kClsAlu64 | kAluAdd | kSrcK, 7, 0, 0, int32_t(b.R(16)));
        break;
      }
    }
  }
  return b.Finish(int32_t(b.R(5)));
}

std::vector<MapSpec> LargeXdpProgramMaps() {
  return {{.type = kMapArray, .key_size = 4, .value_size = 8, .max_entries = 4, .name = "c"}};
}

std::vector<Insn> LargeXdpProgram() {
  std::string src = "mov %r6, %r1\n";
  int k = 0;
  while (true) {
    const int off = (k * 7) % 60;
    std::string block = fmt::format(
        "ldxw %r2, [%r6+0]\nldxw %r3, [%r6+4]\nmov %r4, %r2\nadd %r4, {}\njgt %r4, %r3, out\n"
        "ldxh %r5, [%r2+{}]\njne %r5, {}, next{}\n"
        "stw [%r10-4], {}\nmov %r2, %r10\nadd %r2, -4\nlddw %r1, map:0\ncall 1\n"
        "jeq %r0, 0, next{}\nldxdw %r1, [%r0+0]\nadd %r1, 1\nstxdw [%r0+0], %r1\n"
        "mov %r7, {}\nnext{}:\n",
        off + 2, off, k * 13 % 65536, k, k % 4, k, k % 5, k);
    const size_t lines = std::count(src.begin(), src.end(), '\n') + 1;  // lddw counts twice
    if (lines + 18 + 6 > 4096) break;
    src += block;
    ++k;
  }
  src += "mov %r0, 2\nexit\nout:\nmov %r0, 1\nexit\n";
  auto insns = Assemble(src);
  return insns ? std::move(*insns) : std::vector<Insn>{};
}

void ApplyEdits(std::vector<Insn>& insns, std::span<const uint8_t> edits) {
  if (insns.empty()) return;
  for (size_t at = 0; at + 3 <= edits.size(); at += 3) {
    Insn& i = insns[edits[at] % insns.size()];
    const uint8_t v = edits[at + 2];
    switch (edits[at + 1] % 5) {
      case 0:
        i.opcode = v;
        break;
      case 1:
        i.dst = v & 0xf;
        break;
      case 2:
        i.src = v & 0xf;
        break;
      case 3:
        i.off = int16_t(i.off + int8_t(v));
        break;
      default:
        i.imm = int32_t(uint32_t(i.imm) + uint32_t(int32_t(int8_t(v))));
        break;
    }
  }
}

void Mutate(std::vector<Insn>& insns, std::mt19937_64& rng, int kinds) {
  if (insns.empty()) return;
  for (int k = 0, n = 1 + int(rng() % 2); k < n; ++k) {
    const size_t at = rng() % insns.size();
    if (insns[at].opcode == kOpLddw || (at > 0 && insns[at - 1].opcode == kOpLddw)) continue;
    Insn& i = insns[at];
    switch (rng() % uint64_t(kinds)) {
      case 0:
        i.off = int16_t(i.off + int(rng() % 9) - 4);
        break;
      case 1:
        i.imm = int32_t(uint32_t(i.imm) + uint32_t(int32_t(rng() % 9) - 4));
        break;
      case 2:
        i.dst = uint8_t(rng() % 10);
        break;
      case 3:
        i.src = uint8_t(rng() % 11);
        break;
      case 4:
        i.opcode = uint8_t((i.opcode & 0x0f) | ((rng() % 14) << 4));
        break;
      default:
        i.opcode = uint8_t((i.opcode & 0xe7) | ((rng() % 4) << 3));
        break;
    }
  }
}

SoundnessResult CheckSoundness(std::span<const Insn> insns, std::mt19937_64& rng, int packets,
                               uint64_t complexity_limit) {
  // Maps live as long as the thread: a hash map with a few keys, so lookups hit and miss.
  thread_local const std::vector<std::shared_ptr<Map>> maps = [] {
    std::vector<std::shared_ptr<Map>> m;
    for (const MapSpec& spec : RandomProgramMaps()) m.push_back(*Map::Create(spec));
    for (uint32_t k = 0; k < 6; ++k) {
      uint8_t key[4];
      std::memcpy(key, &k, 4);
      std::vector<uint8_t> value(m[1]->spec().value_size, uint8_t(k));
      (void)m[1]->HostUpdate(key, value);
    }
    return m;
  }();
  return CheckSoundness(insns, maps, rng, packets, complexity_limit);
}

SoundnessResult CheckSoundness(std::span<const Insn> insns,
                               std::span<const std::shared_ptr<Map>> maps, std::mt19937_64& rng,
                               int packets, uint64_t complexity_limit) {
  thread_local Scratch scratch({.checked = true, .step_limit = 4'000'000});
  thread_local XdpBuffer buf;
  SoundnessResult r;
  Options o;
  for (const auto& m : maps) o.maps.push_back(m->spec());
  o.complexity_limit = complexity_limit;
  auto st = Verify(insns, o);
  if (!st) {
    if (st.error().message.empty()) r.fault = "a refusal without a message";
    return r;
  }
  r.accepted = true;
  // The loader verifies again (and turns dead code into no-ops): the program that runs is the one
  // a tenant's load would give.
  auto prog = Program::Load(
      insns, {.type = ProgramType::kXdp, .maps = {maps.begin(), maps.end()}, .jit = false});
  if (!prog) {
    r.fault = "accepted by the verifier but not loadable: " + prog.error().message;
    return r;
  }
  std::vector<uint8_t> frame;
  for (int k = 0; k < packets; ++k) {
    frame.resize(rng() % 200);
    for (auto& b : frame) b = uint8_t(rng());
    if (frame.size() >= 14 && rng() % 2) {
      frame[12] = rng() % 2 ? 0x08 : 0x86;
      frame[13] = frame[12] == 0x08 ? 0x00 : 0xdd;
      if (frame.size() > 14) frame[14] = 0x45;
    }
    buf.Assign(frame);
    auto v = RunXdp(**prog, scratch, buf);
    // The host reads what programs wrote to event maps, so that rings never stay full.
    thread_local std::vector<MapEvent> events;
    for (const auto& m : maps) m->DrainEvents(events, SIZE_MAX);
    events.clear();
    if (!v) {
      r.fault = fmt::format("accepted but faulted on a {}-byte frame: {}", frame.size(),
                            v.error().message);
      return r;
    }
    if (v->raw > kXdpRedirect) {
      r.fault = fmt::format("accepted but returned {}", v->raw);
      return r;
    }
  }
  return r;
}

}  // namespace vigil::ebpf::verifier

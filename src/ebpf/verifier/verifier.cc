#include "ebpf/verifier/verifier.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <optional>

#include "ebpf/check.h"
#include "ebpf/verifier/state.h"
#include "fmt/format.h"

namespace vigil::ebpf::verifier {
namespace {

constexpr int64_t kMaxVarOff = 1 << 29;     // the kernel's BPF_MAX_VAR_OFF
constexpr uint64_t kMaxPacketOff = 0xffff;  // the kernel's MAX_PACKET_OFF
constexpr uint32_t kRdonlyProg = 1u << 7;   // BPF_F_RDONLY_PROG: .rodata as libbpf creates it
constexpr size_t kMaxStatesPerInsn = 64;    // pruning states kept per instruction
// States kept in all: about 1 KB each, so a hostile program costs at most ~60 MB to verify.
// Beyond it paths are still explored, only no longer pruned against new states.
constexpr size_t kMaxStates = 50'000;
constexpr int64_t kSmin = std::numeric_limits<int64_t>::min();

// --- Helper signatures: the kernel's bpf_func_proto for each helper vigil provides. ---

enum class Arg : uint8_t {
  kNone,
  kAnything,     // any initialized value
  kMapPtr,       // a map
  kMapKey,       // memory of the map's key_size, readable
  kMapValue,     // memory of the map's value_size, readable
  kMem,          // readable memory whose size is the next argument
  kMemOrNull,    // the same, or NULL
  kSize,         // the size of the previous argument, > 0
  kSizeOrZero,   // the size of the previous argument, >= 0
  kFixedMem,     // readable memory of `fixed_size` bytes
  kCtx,          // the context, unmodified
  kWritableMem,  // memory the helper writes, whose size is the next argument (> 0)
  kAllocSize,    // a size known exactly (a constant), the bytes to reserve
  kRelease,      // a reserved ring buffer record, as bpf_ringbuf_reserve returned it
};

// kCpu: a processor number, below Options::num_cpus (the kernel's do_refine_retval_range).
enum class Ret : uint8_t { kScalar, kAction, kCpu, kMapValueOrNull, kRingbufMemOrNull, kVoid };

struct Signature {
  int32_t id;
  const char* name;
  std::array<Arg, 5> args;
  Ret ret;
  bool gpl_only = false;
  bool changes_packet = false;  // invalidates every packet pointer
  std::array<uint32_t, 5> fixed_size{};
};

constexpr Arg A = Arg::kAnything;
constexpr Arg N = Arg::kNone;
const Signature kSignatures[] = {
    {kHelperMapLookupElem,
     "bpf_map_lookup_elem",
     {Arg::kMapPtr, Arg::kMapKey, N, N, N},
     Ret::kMapValueOrNull},
    {kHelperMapUpdateElem,
     "bpf_map_update_elem",
     {Arg::kMapPtr, Arg::kMapKey, Arg::kMapValue, A, N},
     Ret::kScalar},
    {kHelperMapDeleteElem,
     "bpf_map_delete_elem",
     {Arg::kMapPtr, Arg::kMapKey, N, N, N},
     Ret::kScalar},
    {kHelperKtimeGetNs, "bpf_ktime_get_ns", {N, N, N, N, N}, Ret::kScalar},
    {kHelperTracePrintk, "bpf_trace_printk", {Arg::kMem, Arg::kSize, N, N, N}, Ret::kScalar, true},
    {kHelperGetPrandomU32, "bpf_get_prandom_u32", {N, N, N, N, N}, Ret::kScalar},
    {kHelperGetSmpProcessorId, "bpf_get_smp_processor_id", {N, N, N, N, N}, Ret::kCpu},
    {kHelperTailCall, "bpf_tail_call", {Arg::kCtx, Arg::kMapPtr, A, N, N}, Ret::kVoid},
    {kHelperRedirect, "bpf_redirect", {A, A, N, N, N}, Ret::kAction},
    {kHelperCsumDiff,
     "bpf_csum_diff",
     {Arg::kMemOrNull, Arg::kSizeOrZero, Arg::kMemOrNull, Arg::kSizeOrZero, A},
     Ret::kScalar},
    {kHelperXdpAdjustHead,
     "bpf_xdp_adjust_head",
     {Arg::kCtx, A, N, N, N},
     Ret::kScalar,
     false,
     true},
    {kHelperRedirectMap, "bpf_redirect_map", {Arg::kMapPtr, A, A, N, N}, Ret::kAction},
    {kHelperXdpAdjustMeta,
     "bpf_xdp_adjust_meta",
     {Arg::kCtx, A, N, N, N},
     Ret::kScalar,
     false,
     true},
    {kHelperXdpAdjustTail,
     "bpf_xdp_adjust_tail",
     {Arg::kCtx, A, N, N, N},
     Ret::kScalar,
     false,
     true},
    {kHelperKtimeGetBootNs, "bpf_ktime_get_boot_ns", {N, N, N, N, N}, Ret::kScalar},
    {kHelperPerfEventOutput,
     "bpf_perf_event_output",
     {Arg::kCtx, Arg::kMapPtr, A, Arg::kMem, Arg::kSizeOrZero},
     Ret::kScalar,
     true},
    {kHelperFibLookup,
     "bpf_fib_lookup",
     {Arg::kCtx, Arg::kWritableMem, Arg::kSize, A, N},
     Ret::kScalar,
     true},
    {kHelperRingbufOutput,
     "bpf_ringbuf_output",
     {Arg::kMapPtr, Arg::kMem, Arg::kSizeOrZero, A, N},
     Ret::kScalar},
    {kHelperRingbufReserve,
     "bpf_ringbuf_reserve",
     {Arg::kMapPtr, Arg::kAllocSize, A, N, N},
     Ret::kRingbufMemOrNull},
    {kHelperRingbufSubmit, "bpf_ringbuf_submit", {Arg::kRelease, A, N, N, N}, Ret::kVoid},
    {kHelperRingbufDiscard, "bpf_ringbuf_discard", {Arg::kRelease, A, N, N, N}, Ret::kVoid},
    {kHelperRingbufQuery, "bpf_ringbuf_query", {Arg::kMapPtr, A, N, N, N}, Ret::kScalar},
    {kHelperTcpRawGenSyncookieIpv4,
     "bpf_tcp_raw_gen_syncookie_ipv4",
     {Arg::kFixedMem, Arg::kMem, Arg::kSizeOrZero, N, N},
     Ret::kScalar,
     true,
     false,
     {20, 0, 0, 0, 0}},
    {kHelperTcpRawGenSyncookieIpv6,
     "bpf_tcp_raw_gen_syncookie_ipv6",
     {Arg::kFixedMem, Arg::kMem, Arg::kSizeOrZero, N, N},
     Ret::kScalar,
     true,
     false,
     {40, 0, 0, 0, 0}},
    {kHelperTcpRawCheckSyncookieIpv4,
     "bpf_tcp_raw_check_syncookie_ipv4",
     {Arg::kFixedMem, Arg::kFixedMem, N, N, N},
     Ret::kScalar,
     true,
     false,
     {20, 20, 0, 0, 0}},
    {kHelperTcpRawCheckSyncookieIpv6,
     "bpf_tcp_raw_check_syncookie_ipv6",
     {Arg::kFixedMem, Arg::kFixedMem, N, N, N},
     Ret::kScalar,
     true,
     false,
     {40, 20, 0, 0, 0}},
};

const Signature* FindSignature(int32_t id) {
  for (const Signature& s : kSignatures)
    if (s.id == id) return &s;
  return nullptr;
}

// Which helpers may take which map types (the kernel's check_map_func_compatibility).
std::optional<std::string> MapHelperMismatch(uint32_t map_type, int32_t helper) {
  const bool lookup = helper == kHelperMapLookupElem;
  const bool ringbuf_op = helper == kHelperRingbufOutput || helper == kHelperRingbufReserve ||
                          helper == kHelperRingbufQuery;
  switch (map_type) {
    case kMapProgArray:
      if (helper != kHelperTailCall) return "a program array is only for bpf_tail_call";
      return std::nullopt;
    case kMapDevmap:
    case kMapDevmapHash:
    case kMapXskmap:
      if (helper != kHelperRedirectMap && !lookup)
        return "a devmap, devmap_hash or xskmap is only for bpf_redirect_map and "
               "bpf_map_lookup_elem";
      return std::nullopt;
    case kMapCpumap:
      if (helper != kHelperRedirectMap) return "a cpumap is only for bpf_redirect_map";
      return std::nullopt;
    case kMapPerfEventArray:
      if (helper != kHelperPerfEventOutput)
        return "a perf event array is only for bpf_perf_event_output";
      return std::nullopt;
    case kMapRingbuf:
      if (!ringbuf_op)
        return "a ring buffer is only for bpf_ringbuf_output, bpf_ringbuf_reserve and "
               "bpf_ringbuf_query";
      return std::nullopt;
    default:
      if (helper == kHelperTailCall) return "bpf_tail_call needs a program array";
      if (helper == kHelperRedirectMap)
        return "bpf_redirect_map needs a devmap, devmap_hash, cpumap or xskmap";
      if (helper == kHelperPerfEventOutput) return "bpf_perf_event_output needs a perf event array";
      if (ringbuf_op) return "the ring buffer helpers need a ring buffer";
      return std::nullopt;
  }
}

// Map values programs may read but not write: BPF_F_RDONLY_PROG maps, and the redirect maps the
// kernel creates read-only for programs.
bool ReadOnlyForPrograms(const MapSpec& spec) {
  return (spec.flags & kRdonlyProg) || spec.type == kMapDevmap || spec.type == kMapDevmapHash ||
         spec.type == kMapXskmap;
}

// --- Static register liveness, so that pruning ignores registers no later instruction reads. ---

struct UseDef {
  uint16_t use = 0, def = 0;
};

UseDef UsesAndDefs(const Insn& i) {
  const uint8_t cls = Class(i.opcode);
  const uint16_t d = uint16_t(1u << i.dst), s = uint16_t(1u << i.src);
  const bool reg = Source(i.opcode) == kSrcX;
  switch (cls) {
    case kClsAlu:
    case kClsAlu64: {
      const uint8_t op = AluOp(i.opcode);
      if (op == kAluMov) return {uint16_t(reg ? s : 0), d};
      if (op == kAluNeg || op == kAluEnd) return {d, d};
      return {uint16_t(d | (reg ? s : 0)), d};
    }
    case kClsLd:
      return {0, d};
    case kClsLdx:
      return {s, d};
    case kClsSt:
      return {d, 0};
    case kClsStx: {
      UseDef u{uint16_t(d | s), 0};
      if (Mode(i.opcode) == kModeAtomic) {
        if (i.imm & kAtomicFetch) u.def |= s;
        if (i.imm == kAtomicCmpxchg) {
          u.use |= 1;
          u.def |= 1;
        }
      }
      return u;
    }
    default: {
      const uint8_t op = AluOp(i.opcode);
      if (op == kJmpExit) return {1, 0};
      if (op == kJmpCall) return {0x3e, 0x3f};
      if (op == kJmpJa) return {0, 0};
      return {uint16_t(d | (reg ? s : 0)), 0};
    }
  }
}

std::vector<uint16_t> Liveness(std::span<const Insn> insns, const std::vector<uint8_t>& second) {
  const size_t n = insns.size();
  std::vector<uint16_t> live(n, 0);
  std::vector<UseDef> ud(n);
  for (size_t pc = 0; pc < n; ++pc)
    if (!second[pc]) ud[pc] = UsesAndDefs(insns[pc]);
  bool changed = true;
  while (changed) {
    changed = false;
    for (size_t k = n; k-- > 0;) {
      if (second[k]) continue;
      const Insn& i = insns[k];
      const uint8_t cls = Class(i.opcode);
      uint16_t out = 0;
      auto succ = [&](int64_t t) {
        if (t >= 0 && size_t(t) < n) out |= live[t];
      };
      if (cls == kClsJmp || cls == kClsJmp32) {
        const uint8_t op = AluOp(i.opcode);
        if (op == kJmpExit) {
        } else if (op == kJmpCall) {
          succ(int64_t(k) + 1);
        } else if (op == kJmpJa) {
          succ(int64_t(k) + 1 + (cls == kClsJmp32 ? i.imm : i.off));
        } else {
          succ(int64_t(k) + 1);
          succ(int64_t(k) + 1 + i.off);
        }
      } else {
        succ(int64_t(k) + (i.opcode == kOpLddw ? 2 : 1));
      }
      const uint16_t in = uint16_t((out & ~ud[k].def) | ud[k].use);
      if (in != live[k]) {
        live[k] = in;
        changed = true;
      }
    }
  }
  return live;
}

// --- The verifier proper. ---

struct Checkpoint {
  State state;
  int32_t parent;
  uint32_t pc;
};

struct Path {
  State state;
  uint32_t pc;
  int32_t parent;  // the nearest checkpoint this path descends from, or -1
  uint64_t insns_at_checkpoint = 0, jumps_at_checkpoint = 0;
  uint64_t jumps = 0;
};

class Verifier {
 public:
  Verifier(std::span<const Insn> insns, const Options& o)
      : insns_(insns),
        o_(o),
        helpers_(o.helpers ? *o.helpers : HelperTable::Kernel()),
        n_(insns.size()) {}

  base::Result<Stats> Run();

 private:
  enum class Visit { kContinue, kPrune, kLoop };

  // Stepping. Each returns false after setting the error.
  bool Step(Path& p, bool* ended);
  bool Alu(State& s, uint32_t pc, const Insn& i);
  bool PointerAlu(State& s, uint32_t pc, const Insn& i, const Reg& dst, const Reg& src);
  bool Load(State& s, uint32_t pc, const Insn& i);
  bool Store(State& s, uint32_t pc, const Insn& i);
  bool Atomic(State& s, uint32_t pc, const Insn& i);
  bool Cond(Path& p, const Insn& i);
  bool CallHelper(State& s, uint32_t pc, const Insn& i);
  bool CallLocal(Path& p, const Insn& i);
  bool Exit(Path& p, bool* ended);

  // Checks an access of `size` bytes at `base` + `off`; for loads fills `out`.
  bool Access(State& s, uint32_t pc, int regno, const Reg& base, int32_t off, uint32_t size,
              bool write, const Reg* value, Reg* out, bool sign_extend, bool atomic);
  bool StackAccess(State& s, uint32_t pc, int regno, const Reg& base, int32_t off, uint32_t size,
                   bool write, const Reg* value, Reg* out, bool atomic);
  // Helper memory arguments: [base, base + size) readable (size an upper bound).
  bool HelperMemory(State& s, uint32_t pc, int regno, const Reg& base, uint64_t size,
                    const char* helper, const char* what, bool write = false);
  // After a helper wrote [base, base + size) of the stack: numbers there now, no spills.
  static void HelperWroteStack(State& s, const Reg& base, uint64_t size);
  // Ends reference `id` (a submitted or discarded record): every copy becomes unusable.
  void Release(State& s, uint32_t id) const;

  // Refinements.
  void RefineScalars(State& s, uint8_t op, bool taken, bool is32, int dst_reg, int src_reg,
                     const Reg& src_value, bool* feasible);
  static void Propagate(State& s, uint32_t id, const Scalar& v);
  static void MarkNull(State& s, uint32_t id, bool is_null);
  static void SetPacketRange(State& s, const Reg& ptr, int32_t range);

  Visit VisitState(Path& p);
  void FinishPath(int32_t parent);
  bool Subsumes(const State& old, const State& cur, uint32_t pc, bool exact) const;
  // A hash of what exact equality compares (ids aside), for states at `pc`.
  uint64_t Hash(const State& s, uint32_t pc) const;

  bool Fail(uint32_t pc, std::string why) {
    error_pc_ = pc;
    error_ = std::move(why);
    return false;
  }
  [[nodiscard]] const Reg& Get(const State& s, int r) const;
  [[nodiscard]] std::string Describe(const Reg& r) const;
  [[nodiscard]] std::string RegState(int regno, const Reg& r) const {
    return fmt::format("r{} = {}", regno, Describe(r));
  }
  [[nodiscard]] std::string MapName(uint16_t m) const {
    return m < o_.maps.size() ? fmt::format("'{}'", o_.maps[m].name) : fmt::format("{}", m);
  }
  bool ReadReg(const State& s, uint32_t pc, int r) {
    if (r != kFramePointer && s.top().regs[r].type == Type::kNotInit)
      return Fail(pc, fmt::format("r{} is read before anything was written to it", r));
    return true;
  }
  uint32_t NewId() { return ++next_id_; }

  std::span<const Insn> insns_;
  const Options& o_;
  const HelperTable& helpers_;
  const size_t n_;
  std::vector<uint8_t> second_half_, prune_point_, reached_;
  std::vector<uint16_t> live_;
  std::deque<Checkpoint> checkpoints_;
  // Per instruction, the checkpoints kept there; compact, as every visit scans them.
  struct Kept {
    uint32_t index;
    uint64_t hash;
  };
  std::vector<std::vector<Kept>> at_;
  std::vector<int32_t> branches_;  // per checkpoint: paths still being explored below it
  std::vector<Path> pending_;
  uint32_t next_id_ = 0;
  uint64_t explored_ = 0, pruned_ = 0;
  uint32_t error_pc_ = 0;
  std::string error_;
  Reg fp_[kMaxCallDepth];
};

const Reg& Verifier::Get(const State& s, int r) const {
  if (r == kFramePointer) return fp_[s.frames.size() - 1];
  return s.top().regs[r];
}

std::string Verifier::Describe(const Reg& r) const {
  auto plus = [](int32_t off, const Scalar& var) {
    std::string s;
    if (off > 0) s += fmt::format(" + {}", off);
    if (off < 0) s += fmt::format(" - {}", -int64_t(off));
    if (!var.IsConst())
      s += fmt::format(" + {}", var.ToString());
    else if (var.ConstValue() != 0)
      s += fmt::format(" + {}", int64_t(var.ConstValue()));
    return s;
  };
  switch (r.type) {
    case Type::kNotInit:
      return "uninitialized";
    case Type::kScalar:
      if (r.invalidated_at >= 0)
        return fmt::format(
            "{} (a packet pointer until the packet was resized by the helper call at instruction "
            "{})",
            r.value.ToString(), r.invalidated_at);
      return r.address ? r.value.ToString() + " (the low bits of a packet address)"
                       : r.value.ToString();
    case Type::kCtx:
      return "ctx" + plus(r.off, r.value);
    case Type::kPacket:
      return "packet" + plus(r.off, r.value);
    case Type::kPacketMeta:
      return "data_meta" + plus(r.off, r.value);
    case Type::kPacketEnd:
      return "data_end";
    case Type::kStack:
      return (r.off == 0 ? std::string("fp") : fmt::format("fp{}{}", r.off < 0 ? "" : "+", r.off)) +
             (r.value.IsConst() && r.value.ConstValue() == 0 ? "" : plus(0, r.value));
    case Type::kMapValue:
      return fmt::format("value of map {}", MapName(r.map)) + plus(r.off, r.value);
    case Type::kMapValueOrNull:
      return fmt::format("value of map {} or NULL", MapName(r.map));
    case Type::kMapPtr:
      return fmt::format("map {}", MapName(r.map));
    case Type::kRingbufMem:
      return fmt::format("{}-byte record reserved in ring buffer {}", r.range, MapName(r.map)) +
             plus(r.off, r.value);
    case Type::kRingbufMemOrNull:
      return fmt::format("{}-byte record reserved in ring buffer {} or NULL", r.range,
                         MapName(r.map));
  }
  return "?";
}

// --- Arithmetic. ---

bool Verifier::Alu(State& s, uint32_t pc, const Insn& i) {
  const bool is64 = Class(i.opcode) == kClsAlu64;
  const bool reg = Source(i.opcode) == kSrcX;
  const uint8_t op = AluOp(i.opcode);
  Frame& f = s.top();
  Reg& dst = f.regs[i.dst];
  Reg src;
  if (reg && op != kAluEnd && op != kAluNeg) {
    if (!ReadReg(s, pc, i.src)) return false;
    src = Get(s, i.src);
  } else {
    src = Reg::Number(Scalar::Const(is64 ? uint64_t(int64_t(i.imm)) : uint64_t(uint32_t(i.imm))));
  }
  if (op == kAluMov) {
    if (!reg) {
      dst = src;
      return true;
    }
    if (i.off != 0) {  // sign-extending move
      if (src.type != Type::kScalar) {
        if (o_.untrusted)
          return Fail(pc, fmt::format("sign extension of a pointer ({}) turns an address into a "
                                      "number",
                                      RegState(i.src, src)));
        dst = Reg::Number(Scalar::Unknown());
        return true;
      }
      Scalar v = src.value;
      v.Truncate(i.off / 8);
      v.SignExtend(i.off / 8);
      if (!is64) v.Truncate(4);
      const bool address = src.address;
      dst = Reg::Number(v);
      dst.address = address;
      return true;
    }
    if (is64) {
      if (src.type == Type::kScalar && src.id == 0 && !src.value.IsConst() &&
          i.src != kFramePointer) {
        f.regs[i.src].id = NewId();
        src.id = f.regs[i.src].id;
      }
      dst = src;
      return true;
    }
    if (src.type != Type::kScalar) {
      const bool packet = src.type == Type::kPacket || src.type == Type::kPacketEnd ||
                          src.type == Type::kPacketMeta;
      if (o_.untrusted && !packet)
        return Fail(pc, fmt::format("w{} = w{} turns a pointer ({}) into a number, which would "
                                    "let the program read addresses",
                                    i.dst, i.src, RegState(i.src, src)));
      dst = Reg::Number(Scalar::Range(0, 0xffffffff));
      dst.address = o_.untrusted;
      return true;
    }
    Scalar v = src.value;
    v.Truncate(4);
    const bool address = src.address;
    dst = Reg::Number(v);
    dst.address = address;
    return true;
  }
  if (!ReadReg(s, pc, i.dst)) return false;
  if (op == kAluNeg || op == kAluEnd) {
    if (dst.type != Type::kScalar) {
      if (o_.untrusted)
        return Fail(pc,
                    fmt::format("{} of a pointer ({}) turns an address into a number",
                                op == kAluNeg ? "negation" : "byte swap", RegState(i.dst, dst)));
      dst = Reg::Number(Scalar::Unknown());  // root's kernel: the address, now a number
      return true;
    }
    Scalar v = dst.value;
    if (op == kAluNeg) {
      if (!is64) v.Truncate(4);
      v.Neg();
      if (!is64) v.Truncate(4);
    } else if (!is64 && !reg) {  // to little endian: a truncation on this host
      v.Truncate(i.imm / 8);
    } else {
      v.Swap(i.imm / 8);
    }
    const bool address = dst.address;
    dst = Reg::Number(v);
    dst.address = address;
    return true;
  }
  if (dst.type != Type::kScalar || src.type != Type::kScalar) {
    if (!is64) {
      // The kernel allows one 32-bit operation on pointers, subtraction (for root), and gives an
      // unknown number: clang's `(u32)(data_end - data)` under -mcpu=v3. For a tenant, only a
      // difference of packet positions is allowed, and it is a length, not an address.
      auto packet_like = [](const Reg& r) {
        return r.type == Type::kPacket || r.type == Type::kPacketEnd ||
               r.type == Type::kPacketMeta || (r.type == Type::kScalar && r.address);
      };
      if (op != kAluSub)
        return Fail(pc,
                    fmt::format("32-bit arithmetic on a pointer ({})",
                                IsPointer(dst.type) ? RegState(i.dst, dst) : RegState(i.src, src)));
      if (o_.untrusted && !(packet_like(dst) && packet_like(src)))
        return Fail(pc, fmt::format("32-bit subtraction of {} and {} turns an address into a "
                                    "number",
                                    RegState(i.dst, dst), RegState(i.src, src)));
      dst = Reg::Number(Scalar::Range(0, 0xffffffff));
      return true;
    }
    return PointerAlu(s, pc, i, dst, src);
  }
  Scalar a = dst.value, b = src.value;
  const int width = is64 ? 64 : 32;
  if (!is64) {
    a.Truncate(4);
    b.Truncate(4);
  }
  switch (op) {
    case kAluAdd:
      a.Add(b);
      break;
    case kAluSub:
      a.Sub(b);
      break;
    case kAluMul:
      a.Mul(b);
      break;
    case kAluDiv:
      if (i.off == 1)
        a = Scalar::Unknown();
      else
        a.Div(b);
      break;
    case kAluMod:
      if (i.off == 1)
        a = Scalar::Unknown();
      else
        a.Mod(b);
      break;
    case kAluOr:
      a.Or(b);
      break;
    case kAluAnd:
      a.And(b);
      break;
    case kAluXor:
      a.Xor(b);
      break;
    case kAluLsh:
    case kAluRsh:
    case kAluArsh:
      if (!reg && (i.imm < 0 || i.imm >= width))
        return Fail(pc, fmt::format("shift by {} (a {}-bit shift must be by 0 to {})", i.imm, width,
                                    width - 1));
      if (op == kAluLsh) {
        a.Lsh(b, width);
      } else if (op == kAluRsh) {
        a.Rsh(b, width);
      } else {
        if (!is64) a.SignExtend(4);
        a.Arsh(b, width);
      }
      break;
    default:
      return Fail(pc, fmt::format("unsupported operation {:#04x}", i.opcode));
  }
  // The kernel leaves the result of a division or remainder unknown in all 64 bits, 32-bit ones
  // included; so must we, to reach its verdicts.
  if (!is64 && op != kAluDiv && op != kAluMod) a.Truncate(4);
  if (a.Empty()) a = Scalar::Unknown();
  // A difference of two packet addresses is a length; any other mix keeps the address.
  const bool address =
      (dst.address || src.address) && !(op == kAluSub && dst.address && src.address);
  dst = Reg::Number(a);
  dst.address = address;
  return true;
}

bool Verifier::PointerAlu(State& s, uint32_t pc, const Insn& i, const Reg& dst_in, const Reg& src) {
  const uint8_t op = AluOp(i.opcode);
  Reg& dst = s.top().regs[i.dst];
  const Reg d = dst_in;
  if (IsPointer(d.type) && IsPointer(src.type)) {
    if (op != kAluSub)
      return Fail(pc, fmt::format("pointer {} pointer ({}, {})", op == kAluAdd ? "+" : "op",
                                  RegState(i.dst, d), RegState(i.src, src)));
    auto in_packet = [](Type t) {
      return t == Type::kPacket || t == Type::kPacketMeta || t == Type::kPacketEnd;
    };
    // A difference of two packet positions is a length, not an address.
    const bool same_packet = in_packet(d.type) && in_packet(src.type);
    const bool same_stack = d.type == Type::kStack && src.type == Type::kStack;
    if (o_.untrusted && !same_packet && !same_stack)
      return Fail(pc, fmt::format("subtracting pointers into different memory ({}, {}) gives an "
                                  "address, which a tenant's program may not see",
                                  RegState(i.dst, d), RegState(i.src, src)));
    dst = Reg::Number(Scalar::Unknown());
    return true;
  }
  // One pointer, one number.
  const bool dst_is_ptr = IsPointer(d.type);
  const Reg& ptr = dst_is_ptr ? d : src;
  const Reg& num = dst_is_ptr ? src : d;
  const int ptr_reg = dst_is_ptr ? i.dst : i.src;
  if (op == kAluSub && !dst_is_ptr)
    return Fail(pc, fmt::format("subtracting a pointer from a number ({})", RegState(i.src, src)));
  if (op != kAluAdd && op != kAluSub) {
    static const char* names[16] = {"+",   "-", "*", "/",   "|",  "&",   "<<", ">>",
                                    "neg", "%", "^", "mov", ">>", "end", "?",  "?"};
    return Fail(pc, fmt::format("operator {} on a pointer ({}): only + and - are allowed",
                                names[op >> 4], RegState(ptr_reg, ptr)));
  }
  switch (ptr.type) {
    case Type::kMapValueOrNull:
    case Type::kRingbufMemOrNull:
      return Fail(pc, fmt::format("arithmetic on {} before it is compared with NULL",
                                  RegState(ptr_reg, ptr)));
    case Type::kPacketEnd:
      return Fail(pc, fmt::format("arithmetic on {}: data_end can only be compared with",
                                  RegState(ptr_reg, ptr)));
    case Type::kMapPtr:
      return Fail(pc, fmt::format("arithmetic on {}: a map is not memory the program may address",
                                  RegState(ptr_reg, ptr)));
    default:
      break;
  }
  if (op == kAluSub && ptr.type == Type::kStack)  // as the kernel: JITs may not handle it
    return Fail(pc, fmt::format("subtraction from a stack pointer ({}): add a negative number",
                                RegState(ptr_reg, ptr)));
  if (num.address)
    return Fail(pc, fmt::format("{} {} a number made from an address", RegState(ptr_reg, ptr),
                                op == kAluAdd ? "+" : "-"));
  Reg r = ptr;
  const Scalar& v = num.value;
  if (v.IsConst()) {
    const int64_t c = int64_t(v.ConstValue());
    const int64_t off = op == kAluAdd ? int64_t(r.off) + c : int64_t(r.off) - c;
    if (c >= kMaxVarOff || c <= -kMaxVarOff || off >= kMaxVarOff || off <= -kMaxVarOff)
      return Fail(pc, fmt::format("{} {} {} leaves any memory the pointer could address",
                                  RegState(ptr_reg, ptr), op == kAluAdd ? "+" : "-", c));
    r.off = int32_t(off);
  } else {
    // As the kernel's check_reg_sane_offset: the lower bound must be known and small; the upper
    // bound is checked where the pointer is used.
    if (v.smin() == kSmin || v.smin() <= -kMaxVarOff || v.smin() >= kMaxVarOff)
      return Fail(pc, fmt::format("{} {} r{} = {}: the offset is not bounded, so the pointer "
                                  "could leave its memory (compare the offset with a limit first)",
                                  RegState(ptr_reg, ptr), op == kAluAdd ? "+" : "-",
                                  dst_is_ptr ? int(i.src) : int(i.dst), v.ToString()));
    if (op == kAluAdd)
      r.value.Add(v);
    else
      r.value.Sub(v);
    if (r.value.Empty()) r.value = Scalar::Unknown();
    // The result is held to the same rule as the operand (the kernel checks both).
    if (r.value.smin() == kSmin || r.value.smin() <= -kMaxVarOff || r.value.smin() >= kMaxVarOff)
      return Fail(pc, fmt::format("{} {} r{} = {} gives a pointer whose offset is not bounded "
                                  "below",
                                  RegState(ptr_reg, ptr), op == kAluAdd ? "+" : "-",
                                  dst_is_ptr ? int(i.src) : int(i.dst), v.ToString()));
    if (r.type == Type::kPacket || r.type == Type::kPacketMeta) {
      r.id = NewId();
      r.range = 0;
    }
  }
  dst = r;
  return true;
}

// --- Memory. ---

bool Verifier::Load(State& s, uint32_t pc, const Insn& i) {
  if (!ReadReg(s, pc, i.src)) return false;
  const Reg base = Get(s, i.src);
  Reg out;
  if (!Access(s, pc, i.src, base, i.off, SizeBytes(i.opcode), false, nullptr, &out,
              Mode(i.opcode) == kModeMemsx, false))
    return false;
  s.top().regs[i.dst] = out;
  return true;
}

bool Verifier::Store(State& s, uint32_t pc, const Insn& i) {
  if (!ReadReg(s, pc, i.dst)) return false;
  const Reg base = Get(s, i.dst);
  Reg value;
  if (Class(i.opcode) == kClsStx) {
    if (!ReadReg(s, pc, i.src)) return false;
    value = Get(s, i.src);
  } else {
    value = Reg::Number(Scalar::Const(uint64_t(int64_t(i.imm))));
    if (SizeBytes(i.opcode) < 8) value.value.Truncate(SizeBytes(i.opcode));
  }
  return Access(s, pc, i.dst, base, i.off, SizeBytes(i.opcode), true, &value, nullptr, false,
                false);
}

bool Verifier::Atomic(State& s, uint32_t pc, const Insn& i) {
  if (!ReadReg(s, pc, i.dst) || !ReadReg(s, pc, i.src)) return false;
  const Reg base = Get(s, i.dst);
  const Reg value = Get(s, i.src);
  if (i.imm == kAtomicCmpxchg && !ReadReg(s, pc, 0)) return false;
  // The register that receives the old value may not be the address: the kernel refuses it
  // (its check of the write sees the address already replaced by the loaded number).
  const int loads_into = i.imm == kAtomicCmpxchg ? 0 : (i.imm & kAtomicFetch) ? int(i.src) : -1;
  if (loads_into == int(i.dst))
    return Fail(
        pc, fmt::format("atomic operation loads the old value into r{}, its own address", i.dst));
  if (i.imm == kAtomicCmpxchg) {
    const Reg& r0 = s.top().regs[0];
    if ((r0.type != Type::kScalar || r0.address) && o_.untrusted)
      return Fail(pc, fmt::format("cmpxchg compares memory with a pointer ({})", RegState(0, r0)));
  }
  if ((value.type != Type::kScalar || value.address) && o_.untrusted)
    return Fail(pc, fmt::format("atomic operation stores a pointer ({})", RegState(i.src, value)));
  const uint32_t size = SizeBytes(i.opcode);
  Reg out;
  if (!Access(s, pc, i.dst, base, i.off, size, true, &value, &out, false, true)) return false;
  Reg loaded = Reg::Number(size == 8 ? Scalar::Unknown() : Scalar::Range(0, 0xffffffff));
  if (i.imm == kAtomicCmpxchg)
    s.top().regs[0] = loaded;
  else if (i.imm & kAtomicFetch)
    s.top().regs[i.src] = loaded;
  return true;
}

bool Verifier::Access(State& s, uint32_t pc, int regno, const Reg& base, int32_t insn_off,
                      uint32_t size, bool write, const Reg* value, Reg* out, bool sign_extend,
                      bool atomic) {
  const char* verb = write ? "writes" : "reads";
  const std::string bytes = fmt::format("{} byte{}", size, size == 1 ? "" : "s");
  auto loaded = [&]() {
    Scalar v = Scalar::Range(0, size >= 8 ? ~0ull : (1ull << (size * 8)) - 1);
    if (sign_extend) v.SignExtend(size);
    return Reg::Number(v);
  };
  auto leak = [&](const char* where) {
    return Fail(pc, fmt::format("stores a pointer ({}) into {}: a tenant could read the address "
                                "back",
                                value ? Describe(*value) : "", where));
  };
  switch (base.type) {
    case Type::kNotInit:
      return Fail(pc, fmt::format("r{} is read before anything was written to it", regno));
    case Type::kScalar:
      return Fail(pc, fmt::format("r{} = {} is a number, not a pointer: the program {} {} "
                                  "through it",
                                  regno, Describe(base), verb, bytes));
    case Type::kMapValueOrNull:
      return Fail(pc, fmt::format("{} {} {} through it, but it may be NULL: compare it with 0 "
                                  "first (bpf_map_lookup_elem returns NULL for a missing key)",
                                  RegState(regno, base), verb, bytes));
    case Type::kRingbufMemOrNull:
      return Fail(pc, fmt::format("{} {} {} through it, but it may be NULL: compare it with 0 "
                                  "first (bpf_ringbuf_reserve returns NULL when the ring is full)",
                                  RegState(regno, base), verb, bytes));
    case Type::kRingbufMem: {
      if (atomic) {
        const uint64_t low = size - 1;
        const Tnum& t = base.value.bits();
        if (((uint64_t(int64_t(base.off) + insn_off) + t.value) & low) != 0 || (t.mask & low) != 0)
          return Fail(pc, fmt::format("misaligned atomic operation: {} + {} is not a multiple of "
                                      "{}",
                                      RegState(regno, base), insn_off, size));
      }
      const int64_t lo = int64_t(base.off) + insn_off + base.value.smin();
      if (base.value.smin() < 0 && !base.value.IsConst())
        return Fail(pc, fmt::format("{} {} {}: the variable offset may be negative",
                                    RegState(regno, base), verb, bytes));
      const uint64_t hi_var = base.value.umax();
      const int64_t hi = int64_t(base.off) + insn_off + int64_t(hi_var) + int64_t(size);
      if (lo < 0 || hi_var > uint64_t(kMaxVarOff) || hi > int64_t(base.range))
        return Fail(
            pc, fmt::format("{} {} {} at offset {}, outside the {}-byte record (bytes {} "
                            "to {} may be touched)",
                            RegState(regno, base), verb, bytes, insn_off, base.range, lo, hi - 1));
      if (write && value && (IsPointer(value->type) || value->address) && o_.untrusted)
        return leak("a ring buffer record");
      if (!write) *out = loaded();
      return true;
    }
    case Type::kPacketEnd:
      return Fail(pc, fmt::format("{} {} {}: data_end points past the packet and can only be "
                                  "compared with",
                                  RegState(regno, base), verb, bytes));
    case Type::kMapPtr:
      return Fail(pc, fmt::format("{} {} {}: a map is read and written only through helpers",
                                  RegState(regno, base), verb, bytes));
    case Type::kCtx: {
      if (write || atomic)
        return Fail(pc, fmt::format("{} writes {} to the context (struct xdp_md), which is "
                                    "read-only",
                                    RegState(regno, base), bytes));
      if (!base.value.IsConst())
        return Fail(pc, fmt::format("{}: variable offset into the context", RegState(regno, base)));
      const int64_t off = int64_t(base.off) + int64_t(base.value.ConstValue()) + insn_off;
      if (sign_extend || size != 4 || (off != 0 && off != 4 && off != 8 && off != 12 && off != 16))
        return Fail(pc, fmt::format("{} reads {} at offset {} of struct xdp_md, which is not one "
                                    "of its fields read whole (data, data_end, data_meta, "
                                    "ingress_ifindex, rx_queue_index: 4 bytes each)",
                                    RegState(regno, base), bytes, off));
      if (off == 0)
        *out = Reg::Pointer(Type::kPacket);
      else if (off == 4)
        *out = Reg::Pointer(Type::kPacketEnd);
      else if (off == 8)
        *out = Reg::Pointer(Type::kPacketMeta);
      else
        *out = Reg::Number(Scalar::Range(0, 0xffffffff));
      return true;
    }
    case Type::kPacket:
    case Type::kPacketMeta: {
      const char* what = base.type == Type::kPacket ? "data_end" : "data";
      if (atomic)
        return Fail(pc,
                    fmt::format("atomic operation on packet memory ({})", RegState(regno, base)));
      if (base.value.smin() < 0)
        return Fail(pc,
                    fmt::format("{}: the variable offset may be negative", RegState(regno, base)));
      if (base.value.umax() + uint64_t(std::max(0, base.off)) > kMaxPacketOff)
        return Fail(pc, fmt::format("{}: the offset may exceed {} bytes", RegState(regno, base),
                                    kMaxPacketOff));
      const int64_t off = int64_t(base.off) + insn_off;
      if (off < 0)
        return Fail(pc, fmt::format("{} {} {} at offset {}, before the start of the packet",
                                    RegState(regno, base), verb, bytes, insn_off));
      if (off + int64_t(size) > base.range) {
        const std::string at = insn_off ? fmt::format(" at offset {}", insn_off) : "";
        return Fail(pc,
                    fmt::format("{} {} {}{}, but only {} byte{} {} proven before {}{}",
                                RegState(regno, base), verb, bytes, at, base.range,
                                base.range == 1 ? "" : "s", base.range == 1 ? "is" : "are", what,
                                base.value.IsConst() && base.value.ConstValue() == 0
                                    ? fmt::format(" (compare data + {} with {} first)",
                                                  off + int64_t(size), what)
                                    : fmt::format(" (compare r{} + {} with {} first: a variable "
                                                  "offset needs its own check)",
                                                  regno, insn_off + int64_t(size), what)));
      }
      if (write && value && (IsPointer(value->type) || value->address) && o_.untrusted)
        return leak("the packet");
      if (!write) *out = loaded();
      return true;
    }
    case Type::kMapValue: {
      const MapSpec& spec = o_.maps[base.map];
      // Atomic operations need natural alignment (the kernel's strict check for them); values
      // start 8-byte aligned, so the offset decides.
      if (atomic) {
        const uint64_t low = size - 1;
        const Tnum& t = base.value.bits();
        if (((uint64_t(int64_t(base.off) + insn_off) + t.value) & low) != 0 || (t.mask & low) != 0)
          return Fail(pc, fmt::format("misaligned atomic operation: {} + {} is not a multiple of "
                                      "{}",
                                      RegState(regno, base), insn_off, size));
      }
      if (write && ReadOnlyForPrograms(spec))
        return Fail(pc, fmt::format("{} writes to map {}, which is read-only for programs",
                                    RegState(regno, base), MapName(base.map)));
      const int64_t lo = int64_t(base.off) + insn_off + base.value.smin();
      const uint64_t hi_var = base.value.umax();
      if (base.value.smin() < 0 && !base.value.IsConst())
        return Fail(pc, fmt::format("{} {} {}: the variable offset may be negative",
                                    RegState(regno, base), verb, bytes));
      const int64_t hi = int64_t(base.off) + insn_off + int64_t(hi_var) + int64_t(size);
      if (lo < 0 || hi_var > uint64_t(kMaxVarOff) || hi > int64_t(spec.value_size))
        return Fail(pc, fmt::format("{} {} {} at offset {}, outside the {}-byte value (bytes {} "
                                    "to {} may be touched)",
                                    RegState(regno, base), verb, bytes, insn_off, spec.value_size,
                                    lo, hi - 1));
      if (write && value && (IsPointer(value->type) || value->address) && o_.untrusted)
        return leak(fmt::format("map {}", MapName(base.map)).c_str());
      if (!write) *out = loaded();
      return true;
    }
    case Type::kStack:
      if (!StackAccess(s, pc, regno, base, insn_off, size, write, value, out, atomic)) return false;
      if (!write && out && sign_extend && out->type == Type::kScalar) out->value.SignExtend(size);
      return true;
  }
  return Fail(pc, "unknown pointer type");
}

bool Verifier::StackAccess(State& s, uint32_t pc, int regno, const Reg& base, int32_t insn_off,
                           uint32_t size, bool write, const Reg* value, Reg* out, bool atomic) {
  if (base.frame >= s.frames.size())
    return Fail(pc, fmt::format("{} points into the stack of a function that has returned",
                                RegState(regno, base)));
  Frame& f = s.frames[base.frame];
  const int64_t lo = int64_t(base.off) + insn_off + base.value.smin();
  const int64_t hi = int64_t(base.off) + insn_off + base.value.smax() + int64_t(size);  // excl.
  const char* verb = write ? "writes" : "reads";
  if (base.value.smin() == kSmin || lo < -int64_t(kStackSize) || hi > 0)
    return Fail(pc, fmt::format("{} {} {} byte{} at offset {}, outside the 512-byte stack",
                                RegState(regno, base), verb, size, size == 1 ? "" : "s", insn_off));
  const bool fixed = base.value.IsConst();
  if (atomic && !fixed)
    return Fail(
        pc, fmt::format("atomic operation at a variable stack offset ({})", RegState(regno, base)));
  if (fixed && (lo % int64_t(size)) != 0)
    return Fail(pc, fmt::format("misaligned stack access: {} {} bytes at fp{}",
                                RegState(regno, base), size, lo));
  f.depth = std::max<int32_t>(f.depth, int32_t(-lo));
  int64_t total = 0;
  for (const Frame& fr : s.frames) total += (std::max(fr.depth, 1) + 31) / 32 * 32;
  if (total > int64_t(kStackSize))
    return Fail(pc, fmt::format("the stacks of the {} active function calls take {} bytes, more "
                                "than 512",
                                s.frames.size(), total));
  auto byte = [&](int64_t off) { return int(off + int64_t(kStackSize)); };  // 0..511
  // Whether [b_lo, b_hi) overlaps the bytes a spill of `slot` describes.
  auto overlaps_spill = [&](int64_t b_lo, int64_t b_hi, const Spill& sp) {
    const int64_t s_lo = int64_t(sp.slot) * 8 - int64_t(kStackSize);
    return b_lo < s_lo + sp.size && s_lo < b_hi;
  };
  auto erase_spills = [&](int64_t b_lo, int64_t b_hi) {
    for (size_t k = 0; k < f.spills.size();) {
      if (overlaps_spill(b_lo, b_hi, f.spills[k]))
        f.spills.erase(f.spills.begin() + k);
      else
        ++k;
    }
  };
  auto mark_written = [&](int64_t b_lo, int64_t b_hi) {
    for (int64_t b = b_lo; b < b_hi; ++b) {
      const int k = byte(b);
      f.written[k / 8] |= uint8_t(1u << (k % 8));
    }
  };
  if (write) {
    const bool pointer = value && IsPointer(value->type);
    for (int64_t b = lo; b < hi; ++b) {  // whatever was known to be 0 may not be any more
      const int k = byte(b);
      f.zero[k / 8] &= uint8_t(~(1u << (k % 8)));
    }
    if (atomic) {
      for (int64_t b = lo; b < hi; ++b) {
        const int k = byte(b);
        if (!(f.written[k / 8] >> (k % 8) & 1) && o_.untrusted)
          return Fail(pc, fmt::format("atomic operation on fp{} before it is written", b));
        const Spill* sp = f.FindSpill(k / 8);
        if (sp && IsPointer(sp->reg.type) && overlaps_spill(b, b + 1, *sp))
          return Fail(pc, fmt::format("atomic operation on a spilled pointer at fp{}", b));
      }
      erase_spills(lo, hi);
      mark_written(lo, hi);
      return true;
    }
    if (value && value->type == Type::kStack && value->frame > base.frame)
      return Fail(pc, fmt::format("stores a pointer to the stack of a called function ({}) in "
                                  "its caller's stack, where it outlives the call",
                                  Describe(*value)));
    if (fixed && lo % 8 == 0 && (size == 8 || (value && value->type == Type::kScalar))) {
      const int slot = byte(lo) / 8;
      erase_spills(lo, hi);
      mark_written(lo, hi);
      Reg v = *value;
      if (size < 8) {
        v.value.Truncate(int(size));
        if (v.value.umax() != value->value.umax() || v.value.umin() != value->value.umin())
          v.id = 0;
      }
      f.SetSpill(slot, v, int(size));
      return true;
    }
    if (value && value->address)
      return Fail(pc, fmt::format("stores a number made from an address ({}) in part of a stack "
                                  "slot, where it could be read back as a plain number",
                                  Describe(*value)));
    if (pointer)
      return Fail(pc, fmt::format("stores {} of a pointer ({}) on the stack: a pointer is "
                                  "spilled whole, 8 bytes at an 8-byte aligned slot",
                                  fixed ? fmt::format("{} bytes", size) : "at a variable offset",
                                  Describe(*value)));
    // A partial write breaks any spilled register it touches; only bytes surely written count.
    erase_spills(lo, hi);
    const int64_t sure_lo = int64_t(base.off) + insn_off + base.value.smax();
    const int64_t sure_hi = lo + int64_t(size);
    mark_written(sure_lo, sure_hi);
    // A 0 stored off a slot boundary is remembered byte by byte (the kernel's STACK_ZERO): a map
    // key written so is known.
    if (fixed && value && value->type == Type::kScalar && value->value.IsConst() &&
        value->value.ConstValue() == 0) {
      for (int64_t b = lo; b < hi; ++b) {
        const int k = byte(b);
        f.zero[k / 8] |= uint8_t(1u << (k % 8));
      }
    }
    return true;
  }
  // Reads.
  if (fixed) {
    const int slot = byte(lo) / 8;
    if (const Spill* sp = f.FindSpill(slot); sp && overlaps_spill(lo, hi, *sp)) {
      if (lo % 8 == 0 && size == sp->size) {
        *out = sp->reg;
        return true;
      }
      if (IsPointer(sp->reg.type))
        return Fail(pc, fmt::format("reads {} bytes of a spilled pointer ({}) at fp{}", size,
                                    Describe(sp->reg), lo));
      if (lo % 8 == 0 && size < sp->size) {
        Scalar v = sp->reg.value;
        v.Truncate(int(size));
        *out = Reg::Number(v);
        out->address = sp->reg.address;
        return true;
      }
    }
  }
  for (int64_t b = lo; b < hi; ++b) {
    const int k = byte(b);
    const Spill* sp = f.FindSpill(k / 8);
    if (sp && (IsPointer(sp->reg.type) || sp->reg.address) && overlaps_spill(b, b + 1, *sp)) {
      if (o_.untrusted)
        return Fail(pc, fmt::format("reads part of a spilled pointer ({}) at fp{} as a number",
                                    Describe(sp->reg), b));
      continue;
    }
    if (!(f.written[k / 8] >> (k % 8) & 1) && o_.untrusted)
      return Fail(pc, fmt::format("{} reads {} byte{} at fp{}, but fp{} was never written on "
                                  "this path (uninitialized stack)",
                                  RegState(regno, base), size, size == 1 ? "" : "s", lo, b));
  }
  *out = Reg::Number(Scalar::Range(0, size >= 8 ? ~0ull : (1ull << (size * 8)) - 1));
  return true;
}

// The value of a map key on the stack when the verifier knows it: all zero bytes, or a number
// spilled whole at the key's address with the key's size (the kernel's get_constant_map_key).
std::optional<uint64_t> ConstStackKey(const State& s, const Reg& key, uint32_t key_size) {
  if (key.type != Type::kStack || !key.value.IsConst() || key.frame >= s.frames.size())
    return std::nullopt;
  const int64_t off = int64_t(key.off) + int64_t(key.value.ConstValue());
  if (off < -int64_t(kStackSize) || off + int64_t(key_size) > 0) return std::nullopt;
  const Frame& f = s.frames[key.frame];
  bool zero = true;
  for (int64_t b = off; b < off + int64_t(key_size) && zero; ++b) {
    const int k = int(b + int64_t(kStackSize));
    zero = f.zero[k / 8] >> (k % 8) & 1;
  }
  if (zero) return 0;
  const int k = int(off + int64_t(kStackSize));
  if (k % 8 != 0) return std::nullopt;
  const Spill* sp = f.FindSpill(k / 8);
  if (sp == nullptr || sp->size != key_size || sp->reg.type != Type::kScalar ||
      !sp->reg.value.IsConst())
    return std::nullopt;
  return sp->reg.value.ConstValue();
}

bool Verifier::HelperMemory(State& s, uint32_t pc, int regno, const Reg& base, uint64_t size,
                            const char* helper, const char* what, bool write) {
  if (size == 0) return true;
  switch (base.type) {
    case Type::kPacket:
    case Type::kPacketMeta:
    case Type::kMapValue:
    case Type::kRingbufMem:
      break;
    case Type::kStack: {
      // Every byte must be readable as a number: written, and not part of a spilled pointer.
      if (base.frame >= s.frames.size())
        return Fail(pc, fmt::format("{}: {} points into the stack of a function that has returned",
                                    helper, RegState(regno, base)));
      Frame& f = s.frames[base.frame];
      const int64_t lo = int64_t(base.off) + base.value.smin();
      const int64_t hi = int64_t(base.off) + base.value.smax() + int64_t(size);
      if (base.value.smin() == kSmin || lo < -int64_t(kStackSize) || hi > 0)
        return Fail(pc, fmt::format("{}: {} {} = {} with {} bytes leaves the 512-byte stack",
                                    helper, what, RegState(regno, base), Describe(base), size));
      f.depth = std::max<int32_t>(f.depth, int32_t(-lo));
      for (int64_t b = lo; b < hi; ++b) {
        const int k = int(b + int64_t(kStackSize));
        const Spill* sp = f.FindSpill(k / 8);
        if (sp && (IsPointer(sp->reg.type) || sp->reg.address) && o_.untrusted)
          return Fail(pc, fmt::format("{}: {} {} ({} bytes) holds a spilled pointer at fp{}",
                                      helper, what, RegState(regno, base), size, b));
        if (!(f.written[k / 8] >> (k % 8) & 1) && o_.untrusted)
          return Fail(pc, fmt::format("{}: {} {} ({} bytes) is not initialized: fp{} was never "
                                      "written on this path",
                                      helper, what, RegState(regno, base), size, b));
      }
      return true;
    }
    default:
      return Fail(pc, fmt::format("{}: {} must point to memory (stack, packet or map value), but "
                                  "{}",
                                  helper, what, RegState(regno, base)));
  }
  // Packet and map values: the ordinary access check, for the whole size at once.
  if (size > uint64_t(kMaxVarOff))
    return Fail(pc, fmt::format("{}: {} size {} is too large", helper, what, size));
  Reg out;
  if (!Access(s, pc, regno, base, 0, uint32_t(size), write, nullptr, &out, false, false)) {
    error_ = fmt::format("{}: {} ({} bytes): {}", helper, what, size, error_);
    return false;
  }
  return true;
}

// --- Calls. ---

void Verifier::HelperWroteStack(State& s, const Reg& base, uint64_t size) {
  if (base.type != Type::kStack || base.frame >= s.frames.size()) return;
  Frame& f = s.frames[base.frame];
  const int64_t lo = int64_t(base.off) + base.value.smin();
  const int64_t hi = int64_t(base.off) + base.value.smax() + int64_t(size);
  const bool fixed = base.value.IsConst();
  for (int64_t b = std::max<int64_t>(lo, -int64_t(kStackSize)); b < std::min<int64_t>(hi, 0); ++b) {
    const int k = int(b + int64_t(kStackSize));
    f.EraseSpill(k / 8);
    f.zero[k / 8] &= uint8_t(~(1u << (k % 8)));
    if (fixed) f.written[k / 8] |= uint8_t(1u << (k % 8));
  }
}

void Verifier::Release(State& s, uint32_t id) const {
  std::erase_if(s.refs, [&](const Reference& r) { return r.id == id; });
  s.ForEachReg([&](Reg& r) {
    if ((r.type == Type::kRingbufMem || r.type == Type::kRingbufMemOrNull) && r.id == id) {
      // As the kernel: no longer a pointer but an unknown number, which for a tenant is an
      // address it may not let out (Reg::address).
      r = Reg::Number(Scalar::Unknown());
      r.address = o_.untrusted;
    }
  });
}

bool Verifier::CallHelper(State& s, uint32_t pc, const Insn& i) {
  const Signature* sig = FindSignature(i.imm);
  if (sig == nullptr || helpers_.Find(i.imm) == nullptr)
    return Fail(
        pc, fmt::format(
                "call to helper {}{}, which XDP programs here cannot use", i.imm,
                helpers_.Name(i.imm).empty() ? "" : fmt::format(" ({})", helpers_.Name(i.imm))));
  if (sig->gpl_only && !o_.gpl)
    return Fail(pc, fmt::format("{} is only for GPL-compatible programs (the license section "
                                "says otherwise)",
                                sig->name));
  Frame& f = s.top();
  int map = -1;
  std::optional<uint64_t> const_key;
  uint64_t alloc_size = 0;
  uint32_t release_id = 0;
  if (sig->id == kHelperTailCall && !s.refs.empty())
    return Fail(pc, fmt::format("bpf_tail_call while the ring buffer record reserved at "
                                "instruction {} is neither submitted nor discarded: the tail call "
                                "would never release it",
                                s.refs.front().pc));
  // Helpers read packet memory only where the kernel's proto says pkt_access; of vigil's, all
  // but bpf_trace_printk.
  if (sig->id == kHelperTracePrintk &&
      (f.regs[1].type == Type::kPacket || f.regs[1].type == Type::kPacketMeta))
    return Fail(pc, fmt::format("{}: cannot read its format from the packet ({})", sig->name,
                                RegState(1, f.regs[1])));
  // The helpers whose kernel proto lacks pkt_access take no packet memory: the kernel refuses
  // "helper access to the packet", and so do we (copy the bytes to the stack first; the perf
  // event helper appends packet bytes itself, BPF_F_CTXLEN_MASK).
  const bool packet_access = sig->id != kHelperPerfEventOutput && sig->id != kHelperRingbufOutput &&
                             sig->id != kHelperFibLookup;
  for (int a = 0; a < 5; ++a) {
    const Arg kind = sig->args[a];
    if (kind == Arg::kNone) break;
    const int r = a + 1;
    const Reg& reg = f.regs[r];
    if (reg.type == Type::kNotInit)
      return Fail(pc, fmt::format("{}: argument r{} is not set", sig->name, r));
    if (!packet_access && (reg.type == Type::kPacket || reg.type == Type::kPacketMeta))
      return Fail(pc, fmt::format("{}: r{} = {}: this helper may not read or write the packet "
                                  "(copy the bytes to the stack first)",
                                  sig->name, r, Describe(reg)));
    switch (kind) {
      case Arg::kAnything:
        if ((IsPointer(reg.type) || reg.address) && o_.untrusted)
          return Fail(pc, fmt::format("{}: passes a pointer ({}) where a number is expected",
                                      sig->name, RegState(r, reg)));
        break;
      case Arg::kCtx:
        if (reg.type != Type::kCtx || reg.off != 0 || !reg.value.IsConst() ||
            reg.value.ConstValue() != 0)
          return Fail(pc, fmt::format("{}: r{} must be the context (the program's r1), but {}",
                                      sig->name, r, RegState(r, reg)));
        break;
      case Arg::kMapPtr: {
        if (reg.type != Type::kMapPtr)
          return Fail(pc,
                      fmt::format("{}: r{} must be a map, but {}", sig->name, r, RegState(r, reg)));
        map = reg.map;
        if (auto why = MapHelperMismatch(o_.maps[map].type, sig->id))
          return Fail(pc, fmt::format("{}: map {}: {}", sig->name, MapName(reg.map), *why));
        break;
      }
      case Arg::kMapKey:
      case Arg::kMapValue: {
        const MapSpec& spec = o_.maps[map];
        const uint32_t size = kind == Arg::kMapKey ? spec.key_size : spec.value_size;
        if (!HelperMemory(s, pc, r, reg, size, sig->name,
                          kind == Arg::kMapKey ? "the key" : "the value"))
          return false;
        if (kind == Arg::kMapKey) const_key = ConstStackKey(s, reg, size);
        break;
      }
      case Arg::kFixedMem:
        if (!HelperMemory(s, pc, r, reg, sig->fixed_size[a], sig->name, "the buffer")) return false;
        break;
      case Arg::kAllocSize:
        if (reg.type != Type::kScalar || reg.address || !reg.value.IsConst())
          return Fail(pc, fmt::format("{}: the size r{} must be a known constant, but {}",
                                      sig->name, r, RegState(r, reg)));
        alloc_size = reg.value.ConstValue();
        if (alloc_size > uint64_t(kMaxVarOff))
          return Fail(pc, fmt::format("{}: the size {} is too large", sig->name, alloc_size));
        break;
      case Arg::kRelease: {
        if (reg.type != Type::kRingbufMem)
          return Fail(pc, fmt::format("{}: r{} must be a record from bpf_ringbuf_reserve, checked "
                                      "for NULL, but {}",
                                      sig->name, r, RegState(r, reg)));
        if (reg.off != 0 || !reg.value.IsConst() || reg.value.ConstValue() != 0)
          return Fail(pc, fmt::format("{}: r{} = {} must point to the start of the record",
                                      sig->name, r, Describe(reg)));
        release_id = reg.id;
        break;
      }
      case Arg::kWritableMem: {
        const Reg& size = f.regs[r + 1];
        if (size.type != Type::kScalar || size.address)
          return Fail(pc, fmt::format("{}: the size r{} must be a number, but {}", sig->name, r + 1,
                                      RegState(r + 1, size)));
        if (size.value.smin() < 0 || size.value.umin() == 0 ||
            size.value.umax() >= uint64_t(kMaxVarOff))
          return Fail(pc, fmt::format("{}: the size {} must be positive and bounded", sig->name,
                                      RegState(r + 1, size)));
        if (!HelperMemory(s, pc, r, reg, size.value.umax(), sig->name, "the buffer", true))
          return false;
        HelperWroteStack(s, reg, size.value.umax());
        break;
      }
      case Arg::kMem:
      case Arg::kMemOrNull: {
        const Reg& size = f.regs[r + 1];
        const bool zero_ok = sig->args[a + 1] == Arg::kSizeOrZero;
        if (size.type != Type::kScalar || size.address)
          return Fail(pc, fmt::format("{}: the size r{} must be a number, but {}", sig->name, r + 1,
                                      RegState(r + 1, size)));
        if (size.value.smin() < 0)
          return Fail(
              pc, fmt::format("{}: the size {} may be negative", sig->name, RegState(r + 1, size)));
        if (size.value.umax() >= uint64_t(kMaxVarOff))
          return Fail(
              pc, fmt::format("{}: the size {} is not bounded", sig->name, RegState(r + 1, size)));
        if (!zero_ok && size.value.umin() == 0)
          return Fail(pc,
                      fmt::format("{}: the size {} may be zero", sig->name, RegState(r + 1, size)));
        if (kind == Arg::kMemOrNull && reg.type == Type::kScalar && reg.value.IsConst() &&
            reg.value.ConstValue() == 0) {
          if (size.value.umax() != 0)
            return Fail(pc, fmt::format("{}: r{} is NULL but its size {} may not be 0", sig->name,
                                        r, RegState(r + 1, size)));
          break;
        }
        if (!HelperMemory(s, pc, r, reg, size.value.umax(), sig->name, "the buffer")) return false;
        break;
      }
      case Arg::kSize:
      case Arg::kSizeOrZero:
      case Arg::kNone:
        break;
    }
  }
  // bpf_trace_printk's r3-r5 are printed with the format's conversions: a pointer there is an
  // address in the trace a tenant reads.
  if (sig->id == kHelperTracePrintk && o_.untrusted) {
    for (int r = 3; r <= 5; ++r)
      if (IsPointer(f.regs[r].type) || f.regs[r].address)
        return Fail(pc, fmt::format("{}: passes a pointer ({}) to be printed", sig->name,
                                    RegState(r, f.regs[r])));
  }
  Reg ret;
  switch (sig->ret) {
    case Ret::kScalar:
      ret = Reg::Number(Scalar::Unknown());
      break;
    case Ret::kAction:
      ret = Reg::Number(Scalar::Range(0, kXdpRedirect));
      break;
    case Ret::kCpu:
      ret = Reg::Number(Scalar::Range(0, std::max<uint32_t>(o_.num_cpus, 1) - 1));
      break;
    case Ret::kMapValueOrNull: {
      // An array lookup with a key known to be in range cannot miss (the kernel, since 6.14).
      const MapSpec& spec = o_.maps[map];
      const bool hit = (spec.type == kMapArray || spec.type == kMapPerCpuArray) && const_key &&
                       *const_key < spec.max_entries;
      ret = Reg::Pointer(hit ? Type::kMapValue : Type::kMapValueOrNull);
      ret.map = uint16_t(map);
      ret.id = hit ? 0 : NewId();
      break;
    }
    case Ret::kRingbufMemOrNull: {
      // A reference this path now holds until it submits or discards the record (or finds it
      // NULL).
      ret = Reg::Pointer(Type::kRingbufMemOrNull);
      ret.map = uint16_t(map);
      ret.range = int32_t(alloc_size);
      ret.id = NewId();
      s.refs.push_back({ret.id, pc});
      break;
    }
    case Ret::kVoid:
      break;
  }
  for (int r = 1; r <= 5; ++r) f.regs[r] = Reg();
  if (release_id != 0) Release(s, release_id);
  f.regs[0] = ret;
  if (sig->changes_packet) {
    s.ForEachReg([&](Reg& r) {
      if (r.type == Type::kPacket || r.type == Type::kPacketMeta || r.type == Type::kPacketEnd) {
        r = Reg::Number(Scalar::Unknown());
        r.invalidated_at = int32_t(pc);
      }
    });
  }
  return true;
}

bool Verifier::CallLocal(Path& p, const Insn& i) {
  State& s = p.state;
  const uint32_t pc = p.pc;
  const int32_t target = int32_t(pc) + 1 + i.imm;
  if (s.frames.size() >= kMaxCallDepth)
    return Fail(pc, fmt::format("calls nested deeper than {} functions", kMaxCallDepth));
  for (const Frame& fr : s.frames)
    if (fr.function == target)
      return Fail(pc, fmt::format("recursive call of the function at instruction {}", target));
  Frame callee;
  for (int r = 1; r <= 5; ++r) callee.regs[r] = s.top().regs[r];
  callee.callsite = int32_t(pc);
  callee.function = target;
  s.frames.push_back(std::move(callee));
  p.pc = uint32_t(target);
  return true;
}

bool Verifier::Exit(Path& p, bool* ended) {
  State& s = p.state;
  const uint32_t pc = p.pc;
  const Reg r0 = s.top().regs[0];
  if (r0.type == Type::kNotInit) return Fail(pc, "r0 (the return value) is not set at exit");
  if (s.frames.size() > 1) {
    const uint8_t me = uint8_t(s.frames.size() - 1);
    if (r0.type == Type::kStack && r0.frame >= me)
      return Fail(pc, fmt::format("returns a pointer to its own stack ({}), which ends with the "
                                  "call",
                                  RegState(0, r0)));
    const int32_t callsite = s.top().callsite;
    s.frames.pop_back();
    Frame& caller = s.top();
    for (int r = 1; r <= 5; ++r) caller.regs[r] = Reg();
    caller.regs[0] = r0;
    p.pc = uint32_t(callsite + 1);
    return true;
  }
  if (!s.refs.empty())
    return Fail(pc, fmt::format("the ring buffer record reserved at instruction {} is neither "
                                "submitted nor discarded on this path (call bpf_ringbuf_submit or "
                                "bpf_ringbuf_discard before returning)",
                                s.refs.front().pc));
  if (o_.untrusted) {
    if (r0.type != Type::kScalar || r0.address)
      return Fail(pc, fmt::format("returns a pointer ({}): an XDP program returns an action",
                                  RegState(0, r0)));
    if (r0.value.umax() > kXdpRedirect)
      return Fail(pc, fmt::format("r0 = {} at exit: an XDP program must return an XDP action (0 "
                                  "aborted, 1 drop, 2 pass, 3 tx, 4 redirect)",
                                  Describe(r0)));
  }
  *ended = true;
  return true;
}

// --- Branches. ---

// Whether `op` on (a, b) is always true (1), always false (0) or either (-1).
int Decide(uint8_t op, const Scalar& a, const Scalar& b) {
  switch (op) {
    case kJmpJeq:
    case kJmpJne: {
      int eq = -1;
      if (a.IsConst() && b.IsConst())
        eq = a.ConstValue() == b.ConstValue();
      else if (a.umin() > b.umax() || a.umax() < b.umin() || a.smin() > b.smax() ||
               a.smax() < b.smin() ||
               ((a.bits().value ^ b.bits().value) & ~a.bits().mask & ~b.bits().mask))
        eq = 0;
      if (eq < 0) return -1;
      return op == kJmpJeq ? eq : !eq;
    }
    case kJmpJgt:
      if (a.umin() > b.umax()) return 1;
      if (a.umax() <= b.umin()) return 0;
      return -1;
    case kJmpJge:
      if (a.umin() >= b.umax()) return 1;
      if (a.umax() < b.umin()) return 0;
      return -1;
    case kJmpJlt:
      if (a.umax() < b.umin()) return 1;
      if (a.umin() >= b.umax()) return 0;
      return -1;
    case kJmpJle:
      if (a.umax() <= b.umin()) return 1;
      if (a.umin() > b.umax()) return 0;
      return -1;
    case kJmpJsgt:
      if (a.smin() > b.smax()) return 1;
      if (a.smax() <= b.smin()) return 0;
      return -1;
    case kJmpJsge:
      if (a.smin() >= b.smax()) return 1;
      if (a.smax() < b.smin()) return 0;
      return -1;
    case kJmpJslt:
      if (a.smax() < b.smin()) return 1;
      if (a.smin() >= b.smax()) return 0;
      return -1;
    case kJmpJsle:
      if (a.smax() <= b.smin()) return 1;
      if (a.smin() > b.smax()) return 0;
      return -1;
    case kJmpJset:
      if (b.IsConst() && (a.bits().value & b.ConstValue())) return 1;
      if (((a.bits().value | a.bits().mask) & (b.bits().value | b.bits().mask)) == 0) return 0;
      return -1;
  }
  return -1;
}

// The relation that holds on a branch: `op` when taken, its negation otherwise.
uint8_t Relation(uint8_t op, bool taken) {
  if (taken) return op;
  switch (op) {
    case kJmpJeq:
      return kJmpJne;
    case kJmpJne:
      return kJmpJeq;
    case kJmpJgt:
      return kJmpJle;
    case kJmpJge:
      return kJmpJlt;
    case kJmpJlt:
      return kJmpJge;
    case kJmpJle:
      return kJmpJgt;
    case kJmpJsgt:
      return kJmpJsle;
    case kJmpJsge:
      return kJmpJslt;
    case kJmpJslt:
      return kJmpJsge;
    case kJmpJsle:
      return kJmpJsgt;
    default:
      return 0xff;  // "not jset"
  }
}

// Narrows a and b to the values where `rel` holds.
void Narrow(uint8_t rel, Scalar& a, Scalar& b) {
  const Scalar a0 = a, b0 = b;
  constexpr uint64_t kU = ~0ull;
  constexpr int64_t kSmax = std::numeric_limits<int64_t>::max();
  auto empty = [](Scalar& x) { x.SetUmax(0), x.SetUmin(1); };
  switch (rel) {
    case kJmpJeq:
      a.Intersect(b0);
      b = a;
      return;
    case kJmpJne:
      if (b0.IsConst()) {
        const uint64_t c = b0.ConstValue();
        if (a.umin() == c) c == kU ? empty(a) : a.SetUmin(c + 1);
        if (!a.Empty() && a.umax() == c) c == 0 ? empty(a) : a.SetUmax(c - 1);
        if (!a.Empty() && a.smin() == int64_t(c))
          int64_t(c) == kSmax ? empty(a) : a.SetSmin(int64_t(c) + 1);
        if (!a.Empty() && a.smax() == int64_t(c))
          int64_t(c) == kSmin ? empty(a) : a.SetSmax(int64_t(c) - 1);
      }
      if (a0.IsConst()) {
        const uint64_t c = a0.ConstValue();
        if (b.umin() == c) c == kU ? empty(b) : b.SetUmin(c + 1);
        if (!b.Empty() && b.umax() == c) c == 0 ? empty(b) : b.SetUmax(c - 1);
      }
      return;
    case kJmpJgt:  // a > b
      b0.umin() == kU ? empty(a) : a.SetUmin(b0.umin() + 1);
      a0.umax() == 0 ? empty(b) : b.SetUmax(a0.umax() - 1);
      return;
    case kJmpJge:
      a.SetUmin(b0.umin());
      b.SetUmax(a0.umax());
      return;
    case kJmpJlt:  // a < b
      b0.umax() == 0 ? empty(a) : a.SetUmax(b0.umax() - 1);
      a0.umin() == kU ? empty(b) : b.SetUmin(a0.umin() + 1);
      return;
    case kJmpJle:
      a.SetUmax(b0.umax());
      b.SetUmin(a0.umin());
      return;
    case kJmpJsgt:
      b0.smin() == kSmax ? empty(a) : a.SetSmin(b0.smin() + 1);
      a0.smax() == kSmin ? empty(b) : b.SetSmax(a0.smax() - 1);
      return;
    case kJmpJsge:
      a.SetSmin(b0.smin());
      b.SetSmax(a0.smax());
      return;
    case kJmpJslt:
      b0.smax() == kSmin ? empty(a) : a.SetSmax(b0.smax() - 1);
      a0.smin() == kSmax ? empty(b) : b.SetSmin(a0.smin() + 1);
      return;
    case kJmpJsle:
      a.SetSmax(b0.smax());
      b.SetSmin(a0.smin());
      return;
    case kJmpJset:
      if (b0.IsConst() && std::has_single_bit(b0.ConstValue()))
        a.SetBits({b0.ConstValue(), ~b0.ConstValue()});
      return;
    case 0xff:  // not jset: the tested bits are zero
      if (b0.IsConst()) a.SetBits({0, ~b0.ConstValue()});
      return;
  }
}

void Verifier::Propagate(State& s, uint32_t id, const Scalar& v) {
  if (id == 0) return;
  s.ForEachReg([&](Reg& r) {
    if (r.type == Type::kScalar && r.id == id) r.value = v;
  });
}

void Verifier::MarkNull(State& s, uint32_t id, bool is_null) {
  s.ForEachReg([&](Reg& r) {
    if (!MaybeNull(r.type) || r.id != id) return;
    if (is_null) {
      r = Reg::Number(Scalar::Const(0));
    } else if (r.type == Type::kRingbufMemOrNull) {
      r.type = Type::kRingbufMem;  // the id stays: it is the reference to release
    } else {
      r.type = Type::kMapValue;
      r.id = 0;
    }
  });
  // A NULL record was never reserved: nothing to release.
  if (is_null) std::erase_if(s.refs, [&](const Reference& r) { return r.id == id; });
}

void Verifier::SetPacketRange(State& s, const Reg& ptr, int32_t range) {
  if (ptr.off < 0 || range <= 0) return;
  if (ptr.value.umax() > kMaxPacketOff || ptr.value.umax() + uint64_t(ptr.off) > kMaxPacketOff)
    return;
  s.ForEachReg([&](Reg& r) {
    if (r.type == ptr.type && r.id == ptr.id && r.range < range) r.range = range;
  });
}

void Verifier::RefineScalars(State& s, uint8_t op, bool taken, bool is32, int dst_reg, int src_reg,
                             const Reg& src_value, bool* feasible) {
  Frame& f = s.top();
  Reg& dst = f.regs[dst_reg];
  const bool src_is_reg = src_reg >= 0 && src_reg != kFramePointer;
  Scalar a = dst.value, b = src_is_reg ? f.regs[src_reg].value : src_value.value;
  if (is32) {
    // Only a register known to fit in 32 bits (and, for signed tests, in 31) is narrowed by a
    // 32-bit comparison; the others keep what they had.
    const bool signed_op = op == kJmpJsgt || op == kJmpJsge || op == kJmpJslt || op == kJmpJsle;
    const uint64_t fits = signed_op ? 0x7fffffffull : 0xffffffffull;
    const bool a_ok = a.umax() <= fits, b_ok = b.umax() <= fits;
    if (!a_ok || !b_ok) {
      if (a_ok && b.IsConst()) {
        Scalar bt = b;
        bt.Truncate(4);
        if (signed_op && bt.umax() > fits) return;
        b = bt;
      } else {
        return;
      }
    }
  }
  Narrow(Relation(op, taken), a, b);
  if (a.Empty() || b.Empty()) {
    *feasible = false;
    return;
  }
  dst.value = a;
  Propagate(s, dst.id, a);
  if (src_is_reg && f.regs[src_reg].type == Type::kScalar) {
    f.regs[src_reg].value = b;
    Propagate(s, f.regs[src_reg].id, b);
  }
}

bool Verifier::Cond(Path& p, const Insn& i) {
  State& s = p.state;
  const uint32_t pc = p.pc;
  const bool is32 = Class(i.opcode) == kClsJmp32;
  const bool reg = Source(i.opcode) == kSrcX;
  const uint8_t op = AluOp(i.opcode);
  const uint32_t target = uint32_t(int64_t(pc) + 1 + i.off);
  if (!ReadReg(s, pc, i.dst)) return false;
  if (reg && !ReadReg(s, pc, i.src)) return false;
  const Reg dst = Get(s, i.dst);
  Reg src =
      reg ? Get(s, i.src)
          : Reg::Number(Scalar::Const(is32 ? uint64_t(uint32_t(i.imm)) : uint64_t(int64_t(i.imm))));
  if (dst.address || src.address)
    return Fail(pc, fmt::format("branches on a number made from an address ({}), which would let "
                                "its bits decide the verdict",
                                dst.address ? RegState(i.dst, dst) : RegState(i.src, src)));
  int decided = -1;
  // Whether a comparison involving a pointer has an outcome that does not depend on the address:
  // a NULL check, a packet bounds check, or any pointer (never NULL) against 0.
  bool kernel_shape = false;
  std::optional<State> taken_state;
  auto both = [&]() { taken_state = s; };

  if (dst.type == Type::kScalar && src.type == Type::kScalar) {
    Scalar a = dst.value, b = src.value;
    if (is32) {
      const bool signed_op = op == kJmpJsgt || op == kJmpJsge || op == kJmpJslt || op == kJmpJsle;
      a.Truncate(4);
      b.Truncate(4);
      if (signed_op) {
        a.SignExtend(4);
        b.SignExtend(4);
      }
    }
    decided = Decide(op, a, b);
    if (decided < 0) {
      taken_state = s;
      bool ok_taken = true, ok_fall = true;
      RefineScalars(*taken_state, op, true, is32, i.dst, reg ? i.src : -1, src, &ok_taken);
      RefineScalars(s, op, false, is32, i.dst, reg ? i.src : -1, src, &ok_fall);
      if (!ok_taken) taken_state.reset();
      if (!ok_fall) {
        if (!taken_state) return Fail(pc, "internal: no branch is feasible");
        s = std::move(*taken_state);
        taken_state.reset();
        p.pc = target;
        return true;
      }
    }
  } else if ((MaybeNull(dst.type) || MaybeNull(src.type)) && (op == kJmpJeq || op == kJmpJne) &&
             !is32) {
    // The NULL check the kernel recognizes: `if rX == 0` / `if rX != 0` with the immediate 0. A
    // comparison with a register that holds 0 proves the same, but the kernel does not take it,
    // and neither do we, or we would accept programs it refuses.
    const Reg& ptr = MaybeNull(dst.type) ? dst : src;
    if (!reg && MaybeNull(dst.type) && i.imm == 0) {
      kernel_shape = true;
      both();
      MarkNull(*taken_state, ptr.id, op == kJmpJeq);
      MarkNull(s, ptr.id, op != kJmpJeq);
    } else {
      both();
    }
  } else if (IsPointer(dst.type) != IsPointer(src.type) && (op == kJmpJeq || op == kJmpJne) &&
             !MaybeNull(dst.type) && !MaybeNull(src.type)) {
    // A map value pointer (a checked lookup result) compared with 0: the kernel knows the outcome
    // (reg_not_null) and so do we. For the context, the stack and the packet it explores both
    // branches, and so must we to reach its verdicts on the code behind them.
    const Reg& ptr = IsPointer(dst.type) ? dst : src;
    const Reg& other = IsPointer(dst.type) ? src : dst;
    // No pointer here is NULL, so against 0 the outcome does not depend on where it points.
    kernel_shape = other.value.IsConst() && other.value.ConstValue() == 0;
    if ((ptr.type == Type::kMapValue || ptr.type == Type::kRingbufMem) && other.value.IsConst() &&
        other.value.ConstValue() == 0)
      decided = op == kJmpJne;
    else
      both();
  } else if (!is32 && (op == kJmpJgt || op == kJmpJge || op == kJmpJlt || op == kJmpJle) &&
             ((dst.type == Type::kPacket && src.type == Type::kPacketEnd) ||
              (dst.type == Type::kPacketEnd && src.type == Type::kPacket) ||
              (dst.type == Type::kPacketMeta && src.type == Type::kPacket) ||
              (dst.type == Type::kPacket && src.type == Type::kPacketMeta))) {
    // Which side is the pointer being proven, and which the end it is compared with.
    const bool dst_is_ptr = dst.type == Type::kPacketMeta ||
                            (dst.type == Type::kPacket && src.type == Type::kPacketEnd);
    const Reg& ptr = dst_is_ptr ? dst : src;
    const Reg& end = dst_is_ptr ? src : dst;
    const bool end_ok = end.type == Type::kPacketEnd ||
                        (end.off == 0 && end.value.IsConst() && end.value.ConstValue() == 0);
    // Normalize to "ptr REL end" on the taken branch.
    uint8_t rel = op;
    if (!dst_is_ptr) {
      rel = op == kJmpJgt ? kJmpJlt : op == kJmpJge ? kJmpJle : op == kJmpJlt ? kJmpJgt : kJmpJge;
    }
    // Both branches are explored even where the proven range already settles the comparison:
    // the kernel does (its is_pkt_ptr_branch_taken decides only from marks this verifier does
    // not keep), and a branch it explores may hold the error that decides its verdict.
    const int64_t off = ptr.off;
    kernel_shape = true;
    if (decided < 0) {
      both();
      if (end_ok) {
        // Taken: ptr REL end. Fallthrough: the negation.
        auto apply = [&](State& st, uint8_t r) {
          if (r == kJmpJle) SetPacketRange(st, ptr, int32_t(off));
          if (r == kJmpJlt) SetPacketRange(st, ptr, int32_t(off + 1));
        };
        apply(*taken_state, rel);
        apply(s, Relation(rel, false));
      }
    }
  } else {
    both();  // comparisons that teach nothing: pointers of other kinds, pointer and number
  }
  // Any other comparison involving a pointer, left undecided, lets the pointer's value choose the
  // path: `if r10 & 64` runs different code depending on where the stack lies, which leaks the
  // address and makes the verdict differ between engines whose stacks lie apart.
  if (o_.untrusted && decided < 0 && !kernel_shape &&
      (dst.type != Type::kScalar || src.type != Type::kScalar))
    return Fail(pc, fmt::format("compares {} with {}: a tenant's program may compare a pointer "
                                "only with 0, a lookup's result for NULL or a packet position with "
                                "the packet's end",
                                RegState(i.dst, dst),
                                reg ? RegState(i.src, src) : fmt::format("{}", i.imm)));

  if (decided == 1) {
    p.pc = target;
    return true;
  }
  if (decided == 0) {
    p.pc = pc + 1;
    return true;
  }
  ++p.jumps;
  if (taken_state) {
    pending_.push_back(Path{std::move(*taken_state), target, p.parent, p.insns_at_checkpoint,
                            p.jumps_at_checkpoint, p.jumps});
    if (p.parent >= 0) ++branches_[p.parent];
  }
  p.pc = pc + 1;
  return true;
}

// --- Exploration and pruning. ---

bool Verifier::Step(Path& p, bool* ended) {
  const uint32_t pc = p.pc;
  const Insn& i = insns_[pc];
  State& s = p.state;
  switch (Class(i.opcode)) {
    case kClsAlu:
    case kClsAlu64:
      if (!Alu(s, pc, i)) return false;
      p.pc = pc + 1;
      return true;
    case kClsLd: {
      Reg r;
      if (i.src == 0) {
        r = Reg::Number(Scalar::Const(uint64_t(uint32_t(i.imm)) |
                                      uint64_t(uint32_t(insns_[pc + 1].imm)) << 32));
      } else if (i.src == kPseudoMapFd) {
        r = Reg::Pointer(Type::kMapPtr);
        r.map = uint16_t(i.imm);
      } else {
        const MapSpec& spec = o_.maps[i.imm];
        if (spec.type != kMapArray)
          return Fail(pc, fmt::format("direct value access to map {}, which is not an array",
                                      MapName(uint16_t(i.imm))));
        const int32_t off = insns_[pc + 1].imm;
        if (off < 0 || uint32_t(off) >= spec.value_size)
          return Fail(pc, fmt::format("offset {} is outside the value of map {}", off,
                                      MapName(uint16_t(i.imm))));
        r = Reg::Pointer(Type::kMapValue, off);
        r.map = uint16_t(i.imm);
      }
      s.top().regs[i.dst] = r;
      p.pc = pc + 2;
      return true;
    }
    case kClsLdx:
      if (!Load(s, pc, i)) return false;
      p.pc = pc + 1;
      return true;
    case kClsSt:
      if (!Store(s, pc, i)) return false;
      p.pc = pc + 1;
      return true;
    case kClsStx:
      if (!(Mode(i.opcode) == kModeAtomic ? Atomic(s, pc, i) : Store(s, pc, i))) return false;
      p.pc = pc + 1;
      return true;
    default:
      break;
  }
  const uint8_t op = AluOp(i.opcode);
  if (op == kJmpJa) {
    p.pc = uint32_t(int64_t(pc) + 1 + (Class(i.opcode) == kClsJmp32 ? i.imm : i.off));
    return true;
  }
  if (op == kJmpExit) return Exit(p, ended);
  if (op == kJmpCall) {
    if (Source(i.opcode) == kSrcX)
      return Fail(pc, "indirect call (callx): the verifier cannot know its target");
    if (i.src == kPseudoCall) return CallLocal(p, i);
    if (!CallHelper(s, pc, i)) return false;
    p.pc = pc + 1;
    return true;
  }
  return Cond(p, i);
}

bool Verifier::Subsumes(const State& old, const State& cur, uint32_t pc, bool exact) const {
  if (old.frames.size() != cur.frames.size()) return false;
  // Id correspondence: an id of the old state must always meet the same id of the current one.
  std::vector<std::pair<uint32_t, uint32_t>> ids;
  uint32_t fresh = 0x80000000u;
  auto same_id = [&](uint32_t o, uint32_t c) {
    if (o == 0) return exact ? c == 0 : true;
    if (c == 0) c = fresh++;
    for (auto& [a, b] : ids)
      if (a == o) return b == c;
    ids.emplace_back(o, c);
    return true;
  };
  auto reg_ok = [&](const Reg& o, const Reg& c) {
    if (exact) {
      if (o.type != c.type) return false;
      if (o.type == Type::kNotInit) return true;
      return o.off == c.off && o.map == c.map && o.frame == c.frame && o.range == c.range &&
             o.value == c.value && o.address == c.address && same_id(o.id, c.id);
    }
    if (o.type == Type::kNotInit) return true;
    if (o.type != c.type) return false;
    if (o.type == Type::kScalar)
      return o.address == c.address && o.value.Contains(c.value) && same_id(o.id, c.id);
    if (o.off != c.off || o.map != c.map || o.frame != c.frame) return false;
    if (!o.value.Contains(c.value)) return false;
    switch (o.type) {
      case Type::kPacket:
      case Type::kPacketMeta:
        return o.range <= c.range && same_id(o.id, c.id);
      case Type::kMapValueOrNull:
        return same_id(o.id, c.id);
      case Type::kRingbufMem:
      case Type::kRingbufMemOrNull:
        return o.range == c.range && same_id(o.id, c.id);
      default:
        return true;
    }
  };
  // The same records held, reserved at the same places (the kernel's refsafe).
  if (old.refs.size() != cur.refs.size()) return false;
  for (size_t k = 0; k < old.refs.size(); ++k)
    if (old.refs[k].pc != cur.refs[k].pc || !same_id(old.refs[k].id, cur.refs[k].id)) return false;
  const size_t nf = old.frames.size();
  for (size_t k = 0; k < nf; ++k) {
    const Frame& of = old.frames[k];
    const Frame& cf = cur.frames[k];
    if (of.callsite != cf.callsite) return false;
    const bool top = k + 1 == nf;
    for (int r = 0; r < kFramePointer; ++r) {
      if (top ? !(live_[pc] >> r & 1) : r < 6) continue;
      if (!reg_ok(of.regs[r], cf.regs[r])) return false;
    }
    for (int slot = 0; slot < kSlots; ++slot) {
      if (exact ? of.zero[slot] != cf.zero[slot] : (of.zero[slot] & ~cf.zero[slot]) != 0)
        return false;
      const uint8_t ow = of.written[slot], cw = cf.written[slot];
      if (exact ? ow != cw : (ow & ~cw) != 0) return false;
    }
    // Spills: every old spill must be matched; a current pointer spill where the old state had
    // plain bytes would read back as something else.
    for (const Spill& os : of.spills) {
      const Spill* cs = cf.FindSpill(os.slot);
      if (cs == nullptr || cs->size != os.size) {
        if (exact) return false;
        if (os.reg.type == Type::kScalar && os.reg.value.IsUnknown() && os.reg.id == 0 &&
            (cs == nullptr || !IsPointer(cs->reg.type)))
          continue;
        return false;
      }
      if (!reg_ok(os.reg, cs->reg)) return false;
    }
    for (const Spill& cs : cf.spills) {
      if (of.FindSpill(cs.slot) != nullptr) continue;
      if (exact || IsPointer(cs.reg.type)) return false;
    }
  }
  return true;
}

uint64_t Verifier::Hash(const State& s, uint32_t pc) const {
  uint64_t h = (s.frames.size() + 8 * s.refs.size()) * 0x9e3779b97f4a7c15ull;
  auto mix = [&](uint64_t v) { h = (h ^ v) * 0x100000001b3ull; };
  const Frame& f = s.top();
  for (int r = 0; r < kFramePointer; ++r) {
    if (!(live_[pc] >> r & 1)) continue;
    const Reg& reg = f.regs[r];
    mix(uint64_t(reg.type) | uint64_t(uint32_t(reg.off)) << 8);
    if (reg.type == Type::kNotInit) continue;
    mix(reg.value.umin());
    mix(reg.value.umax());
    mix(reg.value.bits().value);
    mix(reg.value.bits().mask);
    mix(uint64_t(uint32_t(reg.range)));
  }
  for (const Spill& sp : f.spills) {
    mix(sp.slot);
    mix(sp.reg.value.umin());
    mix(sp.reg.value.umax());
  }
  return h;
}

Verifier::Visit Verifier::VisitState(Path& p) {
  const uint32_t pc = p.pc;
  bool looping = false;
  uint64_t hash = 0;
  bool hashed = false;
  for (const Kept& k : at_[pc]) {
    const uint32_t idx = k.index;
    if (branches_[idx] == 0) {
      if (Subsumes(checkpoints_[idx].state, p.state, pc, false)) return Visit::kPrune;
      continue;
    }
    looping = true;
    if (!hashed) {
      hash = Hash(p.state, pc);
      hashed = true;
    }
    if (k.hash == hash && Subsumes(checkpoints_[idx].state, p.state, pc, true)) {
      // The same state again: an ancestor means a loop that can repeat forever; a sibling still
      // being explored covers this path.
      for (int32_t a = p.parent; a >= 0; a = checkpoints_[a].parent)
        if (uint32_t(a) == idx) return Visit::kLoop;
      return Visit::kPrune;
    }
  }
  // Inside a loop, keep a state only every so often, as the kernel does, to bound memory.
  if (looping && p.jumps - p.jumps_at_checkpoint < 20 && explored_ - p.insns_at_checkpoint < 100)
    return Visit::kContinue;
  if (at_[pc].size() >= kMaxStatesPerInsn || checkpoints_.size() >= kMaxStates)
    return Visit::kContinue;
  checkpoints_.push_back(Checkpoint{p.state, p.parent, pc});
  branches_.push_back(1);
  p.parent = int32_t(checkpoints_.size() - 1);
  at_[pc].push_back({uint32_t(checkpoints_.size() - 1), hashed ? hash : Hash(p.state, pc)});
  p.insns_at_checkpoint = explored_;
  p.jumps_at_checkpoint = p.jumps;
  return Visit::kContinue;
}

void Verifier::FinishPath(int32_t parent) {
  for (int32_t c = parent; c >= 0; c = checkpoints_[c].parent) {
    if (--branches_[c] > 0) break;
  }
}

base::Result<Stats> Verifier::Run() {
  const auto start = std::chrono::steady_clock::now();
  // Structural check first: what it refuses, the abstract interpreter need not handle.
  if (auto st = CheckStructure(insns_, {.helpers = &helpers_, .num_maps = o_.maps.size()}); !st) {
    base::Error e = st.error();
    return e;
  }
  second_half_.assign(n_, 0);
  prune_point_.assign(n_, 0);
  reached_.assign(n_, 0);
  for (size_t pc = 0; pc < n_; ++pc) {
    const Insn& i = insns_[pc];
    if (i.opcode == kOpLddw) {
      second_half_[++pc] = 1;
      continue;
    }
    const uint8_t cls = Class(i.opcode);
    if (cls != kClsJmp && cls != kClsJmp32) continue;
    const uint8_t op = AluOp(i.opcode);
    if (op == kJmpExit) continue;
    if (op == kJmpCall) {
      if (i.src == kPseudoCall) prune_point_[pc + 1] = 1;
      continue;
    }
    const int64_t t = int64_t(pc) + 1 + (op == kJmpJa && cls == kClsJmp32 ? i.imm : i.off);
    prune_point_[t] = 1;
    if (op != kJmpJa && pc + 1 < n_) prune_point_[pc + 1] = 1;
  }
  // Instructions no path reaches, whatever the values: refused, as by the kernel's check_cfg.
  {
    std::vector<uint8_t> seen(n_, 0);
    std::vector<size_t> work{0};
    seen[0] = 1;
    auto go = [&](int64_t t) {
      if (t >= 0 && size_t(t) < n_ && !seen[t]) {
        seen[t] = 1;
        work.push_back(size_t(t));
      }
    };
    while (!work.empty()) {
      const size_t pc = work.back();
      work.pop_back();
      const Insn& i = insns_[pc];
      const uint8_t cls = Class(i.opcode);
      if (i.opcode == kOpLddw) {
        go(int64_t(pc) + 2);
        continue;
      }
      if (cls != kClsJmp && cls != kClsJmp32) {
        go(int64_t(pc) + 1);
        continue;
      }
      const uint8_t op = AluOp(i.opcode);
      if (op == kJmpExit) continue;
      if (op == kJmpCall) {
        if (i.src == kPseudoCall && Source(i.opcode) == kSrcK) go(int64_t(pc) + 1 + i.imm);
        go(int64_t(pc) + 1);
        continue;
      }
      go(int64_t(pc) + 1 + (op == kJmpJa && cls == kClsJmp32 ? i.imm : i.off));
      if (op != kJmpJa) go(int64_t(pc) + 1);
    }
    for (size_t pc = 0; pc < n_; ++pc) {
      if (seen[pc] || second_half_[pc]) continue;
      error_pc_ = uint32_t(pc);
      error_ = "unreachable instruction: no path from the entry leads here";
      std::string where = SourceLocation(o_.lines, pc);
      base::Error e{
          fmt::format("instruction {}{}: {}", pc, where.empty() ? "" : " (" + where + ")", error_)};
      e.offset = int64_t(pc) * int64_t(sizeof(Insn));
      return e;
    }
  }
  live_ = Liveness(insns_, second_half_);
  at_.assign(n_, {});
  for (uint8_t k = 0; k < kMaxCallDepth; ++k) {
    fp_[k] = Reg::Pointer(Type::kStack);
    fp_[k].frame = k;
  }

  Path cur;
  cur.state.frames.emplace_back();
  cur.state.top().regs[1] = Reg::Pointer(Type::kCtx);
  cur.pc = 0;
  cur.parent = -1;
  auto fail = [&]() {
    std::string where = SourceLocation(o_.lines, error_pc_);
    base::Error e{fmt::format("instruction {}{}: {}", error_pc_,
                              where.empty() ? "" : " (" + where + ")", error_)};
    e.offset = int64_t(error_pc_) * int64_t(sizeof(Insn));
    return e;
  };
  while (true) {
    bool ended = false;
    while (!ended) {
      if (++explored_ > o_.complexity_limit) {
        error_pc_ = cur.pc;
        error_ = fmt::format(
            "the program is too complex to verify: more than {} instructions explored over all "
            "paths (a loop whose bound the verifier cannot see, or too many branches)",
            o_.complexity_limit);
        return fail();
      }
      if (prune_point_[cur.pc]) {
        const Visit v = VisitState(cur);
        if (v == Visit::kPrune) {
          ++pruned_;
          break;
        }
        if (v == Visit::kLoop) {
          error_pc_ = cur.pc;
          error_ = "infinite loop: this instruction is reached again in exactly the same state";
          return fail();
        }
      }
      reached_[cur.pc] = 1;
      if (!Step(cur, &ended)) return fail();
    }
    FinishPath(cur.parent);
    if (pending_.empty()) break;
    cur = std::move(pending_.back());
    pending_.pop_back();
  }
  Stats st;
  st.instructions = n_;
  st.explored = explored_;
  st.states = checkpoints_.size();
  st.pruned = pruned_;
  st.reached = std::move(reached_);
  st.milliseconds =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  return st;
}

}  // namespace

uint32_t DefaultNumCpus() {
  const long n = sysconf(_SC_NPROCESSORS_CONF);
  return n > 0 ? uint32_t(n) : 1;
}

std::string SourceLocation(const std::vector<SourceLine>* lines, size_t pc) {
  if (lines == nullptr || lines->empty()) return "";
  auto it = std::upper_bound(lines->begin(), lines->end(), pc,
                             [](size_t v, const SourceLine& l) { return v < l.insn; });
  if (it == lines->begin()) return "";
  --it;
  if (it->line == 0) return "";
  return it->text.empty() ? fmt::format("{}:{}", it->file, it->line)
                          : fmt::format("{}:{}: `{}`", it->file, it->line, it->text);
}

base::Result<Stats> Verify(std::span<const Insn> insns, const Options& options) {
  auto st = Verifier(insns, options).Run();
  if (st || !options.untrusted) return st;
  // Say so when only vigil's own rules refuse the program: its author has likely loaded it into
  // a kernel as root, which accepted it. (Not for the complexity budget: those rules do not
  // change the number of paths.)
  if (st.error().message.find("too complex to verify") != std::string::npos) return st;
  Options root = options;
  root.untrusted = false;
  if (Verifier(insns, root).Run()) {
    base::Error e = st.error();
    e.message +=
        " (root's kernel would load this program; vigil does not, as tenants are not trusted)";
    return e;
  }
  return st;
}

}  // namespace vigil::ebpf::verifier

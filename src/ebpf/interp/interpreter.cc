#include "ebpf/interp/interpreter.h"

#include <cstring>
#include <limits>
#include <type_traits>

#include "fmt/format.h"

namespace vigil::ebpf {
namespace {

// --- Operation semantics, one template per operation for both widths (U = uint64_t/uint32_t). ---

template <class U>
using S = std::make_signed_t<U>;
template <class U>
constexpr U kShiftMask = sizeof(U) * 8 - 1;

template <class U>
U Add(U d, U s) {
  return d + s;
}
template <class U>
U Sub(U d, U s) {
  return d - s;
}
template <class U>
U Mul(U d, U s) {
  return U(d * s);
}
template <class U>
U Div(U d, U s) {
  return s ? d / s : 0;
}
template <class U>
U Mod(U d, U s) {
  return s ? d % s : d;
}
template <class U>
U Sdiv(U d, U s) {
  if (s == 0) return 0;
  if (S<U>(d) == std::numeric_limits<S<U>>::min() && S<U>(s) == -1) return d;  // overflow wraps
  return U(S<U>(d) / S<U>(s));
}
template <class U>
U Smod(U d, U s) {
  if (s == 0) return d;
  if (S<U>(s) == -1) return 0;
  return U(S<U>(d) % S<U>(s));
}
template <class U>
U Or(U d, U s) {
  return d | s;
}
template <class U>
U And(U d, U s) {
  return d & s;
}
template <class U>
U Xor(U d, U s) {
  return d ^ s;
}
template <class U>
U Lsh(U d, U s) {
  return U(d << (s & kShiftMask<U>));
}
template <class U>
U Rsh(U d, U s) {
  return U(d >> (s & kShiftMask<U>));
}
template <class U>
U Arsh(U d, U s) {
  return U(S<U>(d) >> (s & kShiftMask<U>));
}
template <class U>
U Mov(U, U s) {
  return s;
}

template <class U>
bool Jeq(U d, U s) {
  return d == s;
}
template <class U>
bool Jne(U d, U s) {
  return d != s;
}
template <class U>
bool Jgt(U d, U s) {
  return d > s;
}
template <class U>
bool Jge(U d, U s) {
  return d >= s;
}
template <class U>
bool Jlt(U d, U s) {
  return d < s;
}
template <class U>
bool Jle(U d, U s) {
  return d <= s;
}
template <class U>
bool Jset(U d, U s) {
  return (d & s) != 0;
}
template <class U>
bool Jsgt(U d, U s) {
  return S<U>(d) > S<U>(s);
}
template <class U>
bool Jsge(U d, U s) {
  return S<U>(d) >= S<U>(s);
}
template <class U>
bool Jslt(U d, U s) {
  return S<U>(d) < S<U>(s);
}
template <class U>
bool Jsle(U d, U s) {
  return S<U>(d) <= S<U>(s);
}

template <class T>
T LoadAt(uint64_t addr) {
  T v;
  std::memcpy(&v, reinterpret_cast<const void*>(addr), sizeof(T));
  return v;
}
template <class T>
void StoreAt(uint64_t addr, T v) {
  std::memcpy(reinterpret_cast<void*>(addr), &v, sizeof(T));
}

// A caller's state saved across a bpf-to-bpf call.
struct Frame {
  const Op* ret;
  const Op* base;
  const Program* program;
  uint64_t saved[5];  // r6-r9, r10
};

struct Fault {
  uint64_t addr = 0;
  uint32_t size = 0;
  bool write = false;
};

// The fast instantiation never jumps to the checked-mode error labels.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-label"
template <bool kChecked>
base::Result<uint64_t> Execute(const Program& program, Scratch& s, uint64_t r1, uint64_t r2) {
#define VIGIL_LABEL_ONE(N) &&L_##N,
#define VIGIL_LABEL_FOUR(N) &&L_##N##64K, &&L_##N##64X, &&L_##N##32K, &&L_##N##32X,
  static const void* const kLabels[kNumHandlers] = {VIGIL_EBPF_ALU_BINOPS(
      VIGIL_LABEL_FOUR) VIGIL_EBPF_JUMPS(VIGIL_LABEL_FOUR) VIGIL_EBPF_SINGLE_OPS(VIGIL_LABEL_ONE)};
#undef VIGIL_LABEL_ONE
#undef VIGIL_LABEL_FOUR

  uint64_t R[kNumRegisters] = {0, r1, r2, 0, 0, 0, 0, 0, 0, 0, uint64_t(s.stack_top())};
  Frame frames[kMaxCallDepth];
  const Op* base = program.ops().data();
  const Op* op = base;
  uint64_t steps = 0;
  const uint64_t step_limit = s.config().step_limit;
  Fault fault;

  s.BeginRun(program);

#define DISPATCH()                           \
  do {                                       \
    if constexpr (kChecked) {                \
      if (++steps > step_limit) [[unlikely]] \
        goto step_limit_hit;                 \
    }                                        \
    goto* kLabels[op->handler];              \
  } while (0)
#define NEXT()  \
  do {          \
    ++op;       \
    DISPATCH(); \
  } while (0)
#define JUMP()           \
  do {                   \
    op = base + op->off; \
    DISPATCH();          \
  } while (0)
#define CHECK_ACCESS(ADDR, SIZE, WRITE)                                             \
  if constexpr (kChecked) {                                                         \
    if (!((WRITE) ? s.CanWrite(ADDR, SIZE) : s.CanRead(ADDR, SIZE))) [[unlikely]] { \
      fault = {ADDR, SIZE, WRITE};                                                  \
      goto bad_access;                                                              \
    }                                                                               \
  }
#define CHECK_ALIGNED(ADDR, SIZE)           \
  if constexpr (kChecked) {                 \
    if ((ADDR) & ((SIZE)-1)) [[unlikely]] { \
      fault = {ADDR, SIZE, true};           \
      goto misaligned;                      \
    }                                       \
  }

  DISPATCH();

#define VIGIL_ALU(N)                                                                 \
  L_##N##64K : R[op->dst] = N<uint64_t>(R[op->dst], op->imm);                        \
  NEXT();                                                                            \
  L_##N##64X : R[op->dst] = N<uint64_t>(R[op->dst], R[op->src]);                     \
  NEXT();                                                                            \
  L_##N##32K : R[op->dst] = N<uint32_t>(uint32_t(R[op->dst]), uint32_t(op->imm));    \
  NEXT();                                                                            \
  L_##N##32X : R[op->dst] = N<uint32_t>(uint32_t(R[op->dst]), uint32_t(R[op->src])); \
  NEXT();
  VIGIL_EBPF_ALU_BINOPS(VIGIL_ALU)
#undef VIGIL_ALU

#define VIGIL_JUMP(N)                                                               \
  L_##N##64K : if (N<uint64_t>(R[op->dst], op->imm)) JUMP();                        \
  NEXT();                                                                           \
  L_##N##64X : if (N<uint64_t>(R[op->dst], R[op->src])) JUMP();                     \
  NEXT();                                                                           \
  L_##N##32K : if (N<uint32_t>(uint32_t(R[op->dst]), uint32_t(op->imm))) JUMP();    \
  NEXT();                                                                           \
  L_##N##32X : if (N<uint32_t>(uint32_t(R[op->dst]), uint32_t(R[op->src]))) JUMP(); \
  NEXT();
  VIGIL_EBPF_JUMPS(VIGIL_JUMP)
#undef VIGIL_JUMP

L_Neg64:
  R[op->dst] = -R[op->dst];
  NEXT();
L_Neg32:
  R[op->dst] = uint32_t(-uint32_t(R[op->dst]));
  NEXT();
L_Movsx8To64:
  R[op->dst] = uint64_t(int64_t(int8_t(R[op->src])));
  NEXT();
L_Movsx16To64:
  R[op->dst] = uint64_t(int64_t(int16_t(R[op->src])));
  NEXT();
L_Movsx32To64:
  R[op->dst] = uint64_t(int64_t(int32_t(R[op->src])));
  NEXT();
L_Movsx8To32:
  R[op->dst] = uint32_t(int32_t(int8_t(R[op->src])));
  NEXT();
L_Movsx16To32:
  R[op->dst] = uint32_t(int32_t(int16_t(R[op->src])));
  NEXT();
// Byte order: the host is little-endian, so "to little-endian" truncates and "to big-endian" (or
// an unconditional bswap) swaps.
L_Le16:
  R[op->dst] = uint16_t(R[op->dst]);
  NEXT();
L_Le32:
  R[op->dst] = uint32_t(R[op->dst]);
  NEXT();
L_Le64:
  NEXT();
L_Be16:
  R[op->dst] = __builtin_bswap16(uint16_t(R[op->dst]));
  NEXT();
L_Be32:
  R[op->dst] = __builtin_bswap32(uint32_t(R[op->dst]));
  NEXT();
L_Be64:
  R[op->dst] = __builtin_bswap64(R[op->dst]);
  NEXT();
L_Ja:
  JUMP();
L_Lddw:
  R[op->dst] = op->imm;
  op += 2;
  DISPATCH();

#define VIGIL_LOAD(N, T, WIDE)                        \
  L_##N : {                                           \
    const uint64_t a = R[op->src] + int64_t(op->off); \
    CHECK_ACCESS(a, sizeof(T), false);                \
    R[op->dst] = uint64_t(WIDE(LoadAt<T>(a)));        \
    NEXT();                                           \
  }
  VIGIL_LOAD(LdxB, uint8_t, uint64_t)
  VIGIL_LOAD(LdxH, uint16_t, uint64_t)
  VIGIL_LOAD(LdxW, uint32_t, uint64_t)
  VIGIL_LOAD(LdxDw, uint64_t, uint64_t)
  VIGIL_LOAD(LdxsB, int8_t, int64_t)
  VIGIL_LOAD(LdxsH, int16_t, int64_t)
  VIGIL_LOAD(LdxsW, int32_t, int64_t)
#undef VIGIL_LOAD

#define VIGIL_STORE(N, T, VALUE)                      \
  L_##N : {                                           \
    const uint64_t a = R[op->dst] + int64_t(op->off); \
    CHECK_ACCESS(a, sizeof(T), true);                 \
    StoreAt<T>(a, T(VALUE));                          \
    NEXT();                                           \
  }
  VIGIL_STORE(StB, uint8_t, op->imm)
  VIGIL_STORE(StH, uint16_t, op->imm)
  VIGIL_STORE(StW, uint32_t, op->imm)
  VIGIL_STORE(StDw, uint64_t, op->imm)
  VIGIL_STORE(StxB, uint8_t, R[op->src])
  VIGIL_STORE(StxH, uint16_t, R[op->src])
  VIGIL_STORE(StxW, uint32_t, R[op->src])
  VIGIL_STORE(StxDw, uint64_t, R[op->src])
#undef VIGIL_STORE

// Atomic read-modify-write; FETCH forms return the old value in src (zero-extended for 32 bits).
#define VIGIL_ATOMIC(N, T, BUILTIN, FETCH)                                           \
  L_##N : {                                                                          \
    const uint64_t a = R[op->dst] + int64_t(op->off);                                \
    CHECK_ACCESS(a, sizeof(T), true);                                                \
    CHECK_ALIGNED(a, sizeof(T));                                                     \
    const T old = BUILTIN(reinterpret_cast<T*>(a), T(R[op->src]), __ATOMIC_SEQ_CST); \
    if (FETCH) R[op->src] = old;                                                     \
    NEXT();                                                                          \
  }
  VIGIL_ATOMIC(AtomicAdd32, uint32_t, __atomic_fetch_add, false)
  VIGIL_ATOMIC(AtomicOr32, uint32_t, __atomic_fetch_or, false)
  VIGIL_ATOMIC(AtomicAnd32, uint32_t, __atomic_fetch_and, false)
  VIGIL_ATOMIC(AtomicXor32, uint32_t, __atomic_fetch_xor, false)
  VIGIL_ATOMIC(AtomicFetchAdd32, uint32_t, __atomic_fetch_add, true)
  VIGIL_ATOMIC(AtomicFetchOr32, uint32_t, __atomic_fetch_or, true)
  VIGIL_ATOMIC(AtomicFetchAnd32, uint32_t, __atomic_fetch_and, true)
  VIGIL_ATOMIC(AtomicFetchXor32, uint32_t, __atomic_fetch_xor, true)
  VIGIL_ATOMIC(AtomicXchg32, uint32_t, __atomic_exchange_n, true)
  VIGIL_ATOMIC(AtomicAdd64, uint64_t, __atomic_fetch_add, false)
  VIGIL_ATOMIC(AtomicOr64, uint64_t, __atomic_fetch_or, false)
  VIGIL_ATOMIC(AtomicAnd64, uint64_t, __atomic_fetch_and, false)
  VIGIL_ATOMIC(AtomicXor64, uint64_t, __atomic_fetch_xor, false)
  VIGIL_ATOMIC(AtomicFetchAdd64, uint64_t, __atomic_fetch_add, true)
  VIGIL_ATOMIC(AtomicFetchOr64, uint64_t, __atomic_fetch_or, true)
  VIGIL_ATOMIC(AtomicFetchAnd64, uint64_t, __atomic_fetch_and, true)
  VIGIL_ATOMIC(AtomicFetchXor64, uint64_t, __atomic_fetch_xor, true)
  VIGIL_ATOMIC(AtomicXchg64, uint64_t, __atomic_exchange_n, true)
#undef VIGIL_ATOMIC

// Compare r0 with memory; if equal store src. r0 gets the old value either way.
#define VIGIL_CMPXCHG(N, T)                                                               \
  L_##N : {                                                                               \
    const uint64_t a = R[op->dst] + int64_t(op->off);                                     \
    CHECK_ACCESS(a, sizeof(T), true);                                                     \
    CHECK_ALIGNED(a, sizeof(T));                                                          \
    T expected = T(R[0]);                                                                 \
    __atomic_compare_exchange_n(reinterpret_cast<T*>(a), &expected, T(R[op->src]), false, \
                                __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);                      \
    R[0] = expected;                                                                      \
    NEXT();                                                                               \
  }
  VIGIL_CMPXCHG(AtomicCmpxchg32, uint32_t)
  VIGIL_CMPXCHG(AtomicCmpxchg64, uint64_t)
#undef VIGIL_CMPXCHG

L_CallHelper:
  R[0] = reinterpret_cast<HelperFn>(op->imm)(s, R[1], R[2], R[3], R[4], R[5]);
  if (s.pending) [[unlikely]]
    goto helper_pending;
  NEXT();

L_CallIndirect : {
  const HelperFn fn = s.program->helpers().Find(int64_t(R[op->dst]));
  if (fn == nullptr) [[unlikely]] {
    s.error = fmt::format("pc {}: indirect call to unknown helper {}", op - base, R[op->dst]);
    goto failed;
  }
  R[0] = fn(s, R[1], R[2], R[3], R[4], R[5]);
  if (s.pending) [[unlikely]]
    goto helper_pending;
  NEXT();
}

L_CallLocal : {
  if (s.depth + 1 >= kMaxCallDepth) [[unlikely]] {
    s.error = fmt::format("pc {}: call depth over {} frames", op - base, kMaxCallDepth);
    goto failed;
  }
  Frame& f = frames[s.depth++];
  f = {op + 1, base, s.program, {R[6], R[7], R[8], R[9], R[10]}};
  R[10] -= kStackSize;
  JUMP();
}

L_Exit:
  if (s.depth == 0) {
    if constexpr (kChecked) s.steps = steps;
    return R[0];
  }
  {
    const Frame& f = frames[--s.depth];
    R[6] = f.saved[0];
    R[7] = f.saved[1];
    R[8] = f.saved[2];
    R[9] = f.saved[3];
    R[10] = f.saved[4];
    op = f.ret;
    base = f.base;
    s.program = f.program;
  }
  DISPATCH();

L_Invalid:
  s.error = fmt::format("pc {}: executed an invalid operation", op - base);
  goto failed;

helper_pending:
  s.pending = false;
  if (!s.error.empty()) goto failed;
  if (s.stop_requested) return R[0];
  if (s.tail_target != nullptr) {
    // The tail-called program replaces the current function: same frame, r1 = the context the
    // helper was given (it returns it), everything else starts afresh.
    s.program = s.tail_target;
    s.tail_target = nullptr;
    R[1] = R[0];
    base = s.program->ops().data();
    op = base;
    DISPATCH();
  }
  NEXT();

bad_access:
  s.error = fmt::format("pc {}: out-of-bounds {} of {} byte{} at {:#x}", op - base,
                        fault.write ? "store" : "load", fault.size, fault.size == 1 ? "" : "s",
                        fault.addr);
  goto failed;
misaligned:
  s.error = fmt::format("pc {}: misaligned atomic access of {} bytes at {:#x}", op - base,
                        fault.size, fault.addr);
  goto failed;
step_limit_hit:
  s.error = fmt::format("pc {}: step limit of {} instructions reached (infinite loop?)", op - base,
                        step_limit);
  goto failed;
failed:
  return base::MakeError(s.error);

#undef DISPATCH
#undef NEXT
#undef JUMP
#undef CHECK_ACCESS
#undef CHECK_ALIGNED
}
#pragma GCC diagnostic pop

}  // namespace

base::Result<uint64_t> Interpret(const Program& program, Scratch& scratch, uint64_t r1,
                                 uint64_t r2) {
  return scratch.config().checked ? Execute<true>(program, scratch, r1, r2)
                                  : Execute<false>(program, scratch, r1, r2);
}

}  // namespace vigil::ebpf

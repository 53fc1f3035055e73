// The interpreter's operation set: one handler per decoded operation. The list is an X-macro so
// that the decoder's enum (program.cc) and the interpreter's dispatch table (interpreter.cc) are
// generated from the same text and cannot drift apart.
//
// Naming: <op><width><source>, width 64 or 32, source K (immediate) or X (register).
#pragma once

#include <cstdint>

// The tables are laid out by meaning, which clang-format cannot keep.
// clang-format off

// Binary ALU operations, each in four forms.
#define VIGIL_EBPF_ALU_BINOPS(X) \
  X(Add) X(Sub) X(Mul) X(Div) X(Sdiv) X(Mod) X(Smod) X(Or) X(And) X(Lsh) X(Rsh) X(Arsh) X(Xor) \
  X(Mov)

// Conditional jumps, each in four forms.
#define VIGIL_EBPF_JUMPS(X) \
  X(Jeq) X(Jgt) X(Jge) X(Jset) X(Jne) X(Jsgt) X(Jsge) X(Jlt) X(Jle) X(Jslt) X(Jsle)

// Everything else, one form each.
#define VIGIL_EBPF_SINGLE_OPS(X)                                                               \
  X(Neg64) X(Neg32)                                                                            \
  X(Movsx8To64) X(Movsx16To64) X(Movsx32To64) X(Movsx8To32) X(Movsx16To32)                     \
  X(Le16) X(Le32) X(Le64) X(Be16) X(Be32) X(Be64)                                              \
  X(Ja) X(CallHelper) X(CallIndirect) X(CallLocal) X(Exit) X(Lddw)                             \
  X(LdxB) X(LdxH) X(LdxW) X(LdxDw) X(LdxsB) X(LdxsH) X(LdxsW)                                  \
  X(StB) X(StH) X(StW) X(StDw) X(StxB) X(StxH) X(StxW) X(StxDw)                                \
  X(AtomicAdd32) X(AtomicOr32) X(AtomicAnd32) X(AtomicXor32)                                   \
  X(AtomicFetchAdd32) X(AtomicFetchOr32) X(AtomicFetchAnd32) X(AtomicFetchXor32)               \
  X(AtomicXchg32) X(AtomicCmpxchg32)                                                           \
  X(AtomicAdd64) X(AtomicOr64) X(AtomicAnd64) X(AtomicXor64)                                   \
  X(AtomicFetchAdd64) X(AtomicFetchOr64) X(AtomicFetchAnd64) X(AtomicFetchXor64)               \
  X(AtomicXchg64) X(AtomicCmpxchg64) X(Invalid)

// clang-format on

namespace vigil::ebpf {

#define VIGIL_EBPF_ENUM_ONE(N) k##N,
#define VIGIL_EBPF_ENUM_FOUR(N) k##N##64K, k##N##64X, k##N##32K, k##N##32X,
enum Handler : uint8_t {
  VIGIL_EBPF_ALU_BINOPS(VIGIL_EBPF_ENUM_FOUR) VIGIL_EBPF_JUMPS(VIGIL_EBPF_ENUM_FOUR)
      VIGIL_EBPF_SINGLE_OPS(VIGIL_EBPF_ENUM_ONE) kNumHandlers
};
#undef VIGIL_EBPF_ENUM_ONE
#undef VIGIL_EBPF_ENUM_FOUR

}  // namespace vigil::ebpf

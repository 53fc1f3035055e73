// The verifier's numeric domain: what is known about a 64-bit value on every path that reaches an
// instruction. Two views are kept and sharpened against each other after every operation, as the
// Linux verifier does:
//
//   - known bits (a "tnum", tristate number): `value` holds the bits known to be 1, `mask` the
//     bits that are unknown; a bit in neither is known to be 0;
//   - intervals: [umin, umax] as unsigned and [smin, smax] as signed 64-bit numbers.
//
//   Scalar x = Scalar::Range(0, 255);          // a byte loaded from the packet
//   Scalar y = x.Add(Scalar::Const(14));       // [14, 269]
//   y.Lsh(Scalar::Const(2));                   // [56, 1076], low two bits known zero
//
// Every operation is a sound over-approximation: the concrete result on any pair of inputs inside
// the operands' sets lies inside the result's set.
#pragma once

#include <cstdint>
#include <limits>
#include <string>

namespace vigil::ebpf::verifier {

struct Tnum {
  uint64_t value = 0;
  uint64_t mask = ~0ull;

  [[nodiscard]] static constexpr Tnum Const(uint64_t v) { return {v, 0}; }
  [[nodiscard]] static constexpr Tnum Unknown() { return {0, ~0ull}; }
  // The smallest tnum holding every value of [lo, hi].
  [[nodiscard]] static Tnum Range(uint64_t lo, uint64_t hi);

  [[nodiscard]] bool IsConst() const { return mask == 0; }
  // Whether every value of `other` is a value of this.
  [[nodiscard]] bool Contains(const Tnum& other) const {
    if (other.mask & ~mask) return false;
    return (other.value & ~mask) == value;
  }
  bool operator==(const Tnum&) const = default;
};

[[nodiscard]] Tnum TnumAdd(Tnum a, Tnum b);
[[nodiscard]] Tnum TnumSub(Tnum a, Tnum b);
[[nodiscard]] Tnum TnumAnd(Tnum a, Tnum b);
[[nodiscard]] Tnum TnumOr(Tnum a, Tnum b);
[[nodiscard]] Tnum TnumXor(Tnum a, Tnum b);
[[nodiscard]] Tnum TnumMul(Tnum a, Tnum b);
[[nodiscard]] Tnum TnumIntersect(Tnum a, Tnum b);
// The low `bytes` bytes of `a`, zero-extended.
[[nodiscard]] Tnum TnumCast(Tnum a, int bytes);

class Scalar {
 public:
  [[nodiscard]] static Scalar Unknown() { return Scalar(); }
  [[nodiscard]] static Scalar Const(uint64_t v);
  // Unsigned [lo, hi].
  [[nodiscard]] static Scalar Range(uint64_t lo, uint64_t hi);
  // Signed [lo, hi].
  [[nodiscard]] static Scalar SignedRange(int64_t lo, int64_t hi);

  [[nodiscard]] bool IsConst() const { return t_.IsConst(); }
  [[nodiscard]] uint64_t ConstValue() const { return t_.value; }
  [[nodiscard]] uint64_t umin() const { return umin_; }
  [[nodiscard]] uint64_t umax() const { return umax_; }
  [[nodiscard]] int64_t smin() const { return smin_; }
  [[nodiscard]] int64_t smax() const { return smax_; }
  [[nodiscard]] const Tnum& bits() const { return t_; }
  // No concrete value satisfies all the constraints (a branch that cannot be taken).
  [[nodiscard]] bool Empty() const { return empty_; }
  [[nodiscard]] bool IsUnknown() const {
    return t_.mask == ~0ull && umin_ == 0 && umax_ == ~0ull &&
           smin_ == std::numeric_limits<int64_t>::min() &&
           smax_ == std::numeric_limits<int64_t>::max();
  }
  // Whether every value of `other` is a value of this.
  [[nodiscard]] bool Contains(const Scalar& other) const;
  bool operator==(const Scalar&) const = default;

  // 64-bit arithmetic, in place. Shifts take the count already masked by the caller where the
  // instruction masks it; division and modulo follow RFC 9669 (x / 0 = 0, x % 0 = x).
  void Add(const Scalar& o);
  void Sub(const Scalar& o);
  void Mul(const Scalar& o);
  void Div(const Scalar& o);
  void Mod(const Scalar& o);
  void And(const Scalar& o);
  void Or(const Scalar& o);
  void Xor(const Scalar& o);
  void Lsh(const Scalar& o, int width);
  void Rsh(const Scalar& o, int width);
  void Arsh(const Scalar& o, int width);
  void Neg();
  // Keeps the low `bytes` bytes, zero-extended (32-bit results, narrow loads, le16/le32).
  void Truncate(int bytes);
  // Sign-extends the low `bytes` bytes.
  void SignExtend(int bytes);
  // Byte swap of the low `bytes` bytes (be16/be32/be64 on a little-endian host).
  void Swap(int bytes);

  // Refinements from a comparison that is known to hold; may leave the scalar Empty().
  void SetUmin(uint64_t v);
  void SetUmax(uint64_t v);
  void SetSmin(int64_t v);
  void SetSmax(int64_t v);
  void SetBits(Tnum t);
  void Intersect(const Scalar& o);

  // "42", "[0, 255]", "[-8, 7]", with the known bits when they say more.
  [[nodiscard]] std::string ToString() const;

 private:
  // Brings the three views into agreement (tnum <-> unsigned <-> signed) and detects emptiness.
  void Sync();

  Tnum t_ = Tnum::Unknown();
  uint64_t umin_ = 0, umax_ = ~0ull;
  int64_t smin_ = std::numeric_limits<int64_t>::min();
  int64_t smax_ = std::numeric_limits<int64_t>::max();
  bool empty_ = false;
};

}  // namespace vigil::ebpf::verifier

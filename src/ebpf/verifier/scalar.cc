#include "ebpf/verifier/scalar.h"

#include <algorithm>
#include <bit>

#include "fmt/format.h"

namespace vigil::ebpf::verifier {
namespace {

constexpr int64_t kSmin = std::numeric_limits<int64_t>::min();
constexpr int64_t kSmax = std::numeric_limits<int64_t>::max();

}  // namespace

Tnum Tnum::Range(uint64_t lo, uint64_t hi) {
  const uint64_t chi = lo ^ hi;
  if (chi == 0) return Const(lo);
  const int bits = 64 - std::countl_zero(chi);
  if (bits >= 64) return Unknown();
  const uint64_t delta = (1ull << bits) - 1;
  return {lo & ~delta, delta};
}

Tnum TnumAdd(Tnum a, Tnum b) {
  const uint64_t sm = a.mask + b.mask, sv = a.value + b.value;
  const uint64_t sigma = sm + sv, chi = sigma ^ sv;
  const uint64_t mu = chi | a.mask | b.mask;
  return {sv & ~mu, mu};
}

Tnum TnumSub(Tnum a, Tnum b) {
  const uint64_t dv = a.value - b.value;
  const uint64_t alpha = dv + a.mask, beta = dv - b.mask;
  const uint64_t mu = (alpha ^ beta) | a.mask | b.mask;
  return {dv & ~mu, mu};
}

Tnum TnumAnd(Tnum a, Tnum b) {
  const uint64_t alpha = a.value | a.mask, beta = b.value | b.mask;
  const uint64_t v = a.value & b.value;
  return {v, alpha & beta & ~v};
}

Tnum TnumOr(Tnum a, Tnum b) {
  const uint64_t v = a.value | b.value, mu = a.mask | b.mask;
  return {v, mu & ~v};
}

Tnum TnumXor(Tnum a, Tnum b) {
  const uint64_t v = a.value ^ b.value, mu = a.mask | b.mask;
  return {v & ~mu, mu};
}

// Long multiplication: each known-1 bit of `a` adds `b` shifted, each unknown bit adds `b` or 0.
Tnum TnumMul(Tnum a, Tnum b) {
  const uint64_t acc_v = a.value * b.value;
  Tnum acc_m = Tnum::Const(0);
  while (a.value || a.mask) {
    if (a.value & 1)
      acc_m = TnumAdd(acc_m, Tnum{0, b.mask});
    else if (a.mask & 1)
      acc_m = TnumAdd(acc_m, Tnum{0, b.value | b.mask});
    a = {a.value >> 1, a.mask >> 1};
    b = {b.value << 1, b.mask << 1};
  }
  return TnumAdd(Tnum::Const(acc_v), acc_m);
}

Tnum TnumIntersect(Tnum a, Tnum b) {
  const uint64_t v = a.value | b.value, mu = a.mask & b.mask;
  return {v & ~mu, mu};
}

Tnum TnumCast(Tnum a, int bytes) {
  if (bytes >= 8) return a;
  const uint64_t keep = (1ull << (bytes * 8)) - 1;
  return {a.value & keep, a.mask & keep};
}

Scalar Scalar::Const(uint64_t v) {
  Scalar s;
  s.t_ = Tnum::Const(v);
  s.umin_ = s.umax_ = v;
  s.smin_ = s.smax_ = int64_t(v);
  return s;
}

Scalar Scalar::Range(uint64_t lo, uint64_t hi) {
  Scalar s;
  s.umin_ = lo;
  s.umax_ = hi;
  s.Sync();
  return s;
}

Scalar Scalar::SignedRange(int64_t lo, int64_t hi) {
  Scalar s;
  s.smin_ = lo;
  s.smax_ = hi;
  s.Sync();
  return s;
}

bool Scalar::Contains(const Scalar& o) const {
  if (o.empty_) return true;
  if (empty_) return false;
  return umin_ <= o.umin_ && o.umax_ <= umax_ && smin_ <= o.smin_ && o.smax_ <= smax_ &&
         t_.Contains(o.t_);
}

void Scalar::Sync() {
  if (empty_) return;
  for (int round = 0; round < 2; ++round) {
    // Known bits bound both interval views.
    umin_ = std::max(umin_, t_.value);
    umax_ = std::min(umax_, t_.value | t_.mask);
    smin_ = std::max(smin_, int64_t(t_.value | (t_.mask & uint64_t(kSmin))));
    smax_ = std::min(smax_, int64_t(t_.value | (t_.mask & uint64_t(kSmax))));
    // Signed and unsigned agree where the sign is known.
    if (smin_ >= 0 || smax_ < 0) {
      const uint64_t lo = std::max(uint64_t(smin_), umin_);
      const uint64_t hi = std::min(uint64_t(smax_), umax_);
      umin_ = lo;
      umax_ = hi;
      smin_ = int64_t(lo);
      smax_ = int64_t(hi);
    } else if (int64_t(umax_) >= 0) {  // all unsigned values are below 2^63
      smin_ = int64_t(umin_);
      umax_ = std::min(uint64_t(smax_), umax_);
      smax_ = int64_t(umax_);
    } else if (int64_t(umin_) < 0) {  // all unsigned values are at least 2^63
      umin_ = std::max(uint64_t(smin_), umin_);
      smin_ = int64_t(umin_);
      smax_ = int64_t(umax_);
    }
    if (umin_ > umax_ || smin_ > smax_) {
      empty_ = true;
      return;
    }
    const Tnum r = Tnum::Range(umin_, umax_);
    // A conflict between the known bits and the interval: no value has both.
    if ((t_.value ^ r.value) & ~t_.mask & ~r.mask) {
      empty_ = true;
      return;
    }
    t_ = TnumIntersect(t_, r);
  }
  if (t_.value > umax_ || (t_.value | t_.mask) < umin_) empty_ = true;
}

void Scalar::SetUmin(uint64_t v) {
  umin_ = std::max(umin_, v);
  Sync();
}
void Scalar::SetUmax(uint64_t v) {
  umax_ = std::min(umax_, v);
  Sync();
}
void Scalar::SetSmin(int64_t v) {
  smin_ = std::max(smin_, v);
  Sync();
}
void Scalar::SetSmax(int64_t v) {
  smax_ = std::min(smax_, v);
  Sync();
}
void Scalar::SetBits(Tnum t) {
  if ((t.value ^ t_.value) & ~t.mask & ~t_.mask) {
    empty_ = true;
    return;
  }
  t_ = TnumIntersect(t_, t);
  Sync();
}
void Scalar::Intersect(const Scalar& o) {
  if (o.empty_) {
    empty_ = true;
    return;
  }
  umin_ = std::max(umin_, o.umin_);
  umax_ = std::min(umax_, o.umax_);
  smin_ = std::max(smin_, o.smin_);
  smax_ = std::min(smax_, o.smax_);
  SetBits(o.t_);
}

void Scalar::Add(const Scalar& o) {
  int64_t lo, hi;
  if (__builtin_add_overflow(smin_, o.smin_, &lo) || __builtin_add_overflow(smax_, o.smax_, &hi)) {
    smin_ = kSmin;
    smax_ = kSmax;
  } else {
    smin_ = lo;
    smax_ = hi;
  }
  uint64_t ulo, uhi;
  if (__builtin_add_overflow(umin_, o.umin_, &ulo) ||
      __builtin_add_overflow(umax_, o.umax_, &uhi)) {
    umin_ = 0;
    umax_ = ~0ull;
  } else {
    umin_ = ulo;
    umax_ = uhi;
  }
  t_ = TnumAdd(t_, o.t_);
  Sync();
}

void Scalar::Sub(const Scalar& o) {
  int64_t lo, hi;
  if (__builtin_sub_overflow(smin_, o.smax_, &lo) || __builtin_sub_overflow(smax_, o.smin_, &hi)) {
    smin_ = kSmin;
    smax_ = kSmax;
  } else {
    smin_ = lo;
    smax_ = hi;
  }
  if (umin_ < o.umax_) {
    umin_ = 0;
    umax_ = ~0ull;
  } else {
    umin_ -= o.umax_;
    umax_ -= o.umin_;
  }
  t_ = TnumSub(t_, o.t_);
  Sync();
}

void Scalar::Mul(const Scalar& o) {
  const Tnum t = TnumMul(t_, o.t_);
  uint64_t hi;
  if (smin_ < 0 || o.smin_ < 0 || __builtin_mul_overflow(umax_, o.umax_, &hi)) {
    *this = Unknown();
  } else {
    umin_ = umin_ * o.umin_;
    umax_ = hi;
    smin_ = kSmin;
    smax_ = kSmax;
  }
  t_ = t;  // the product's known bits (not this operand's)
  Sync();
}

// The kernel does not track division or remainders at all, not even of constants, and explores
// the branches that follow as if the result could be anything: doing the same keeps its verdicts
// (an error on such a branch refuses the program in both).
void Scalar::Div(const Scalar&) { *this = Unknown(); }

void Scalar::Mod(const Scalar&) { *this = Unknown(); }

void Scalar::And(const Scalar& o) {
  t_ = TnumAnd(t_, o.t_);
  umin_ = t_.value;
  umax_ = std::min(umax_, o.umax_);
  smin_ = kSmin;
  smax_ = kSmax;
  Sync();
}

void Scalar::Or(const Scalar& o) {
  t_ = TnumOr(t_, o.t_);
  umin_ = std::max(umin_, o.umin_);
  umax_ = t_.value | t_.mask;
  smin_ = kSmin;
  smax_ = kSmax;
  Sync();
}

void Scalar::Xor(const Scalar& o) {
  t_ = TnumXor(t_, o.t_);
  umin_ = t_.value;
  umax_ = t_.value | t_.mask;
  smin_ = kSmin;
  smax_ = kSmax;
  Sync();
}

void Scalar::Lsh(const Scalar& o, int width) {
  if (o.umax_ >= uint64_t(width)) {
    *this = Unknown();
    return;
  }
  const uint64_t lo = o.umin_, hi = o.umax_;
  Tnum t = o.IsConst() ? Tnum{t_.value << lo, t_.mask << lo} : Tnum::Unknown();
  if (hi > 0 && (umax_ >> (64 - hi)) != 0) {
    umin_ = 0;
    umax_ = ~0ull;
  } else {
    umin_ <<= lo;
    umax_ <<= hi;
  }
  smin_ = kSmin;
  smax_ = kSmax;
  t_ = t;
  Sync();
}

void Scalar::Rsh(const Scalar& o, int width) {
  if (o.umax_ >= uint64_t(width)) {
    *this = Unknown();
    return;
  }
  const uint64_t lo = o.umin_, hi = o.umax_;
  Tnum t = o.IsConst() ? Tnum{t_.value >> lo, t_.mask >> lo} : Tnum::Unknown();
  umin_ >>= hi;
  umax_ >>= lo;
  smin_ = kSmin;
  smax_ = kSmax;
  t_ = t;
  Sync();
}

void Scalar::Arsh(const Scalar& o, int width) {
  if (o.umax_ >= uint64_t(width) || !o.IsConst()) {
    *this = Unknown();
    return;
  }
  const int s = int(o.ConstValue());
  t_ = {uint64_t(int64_t(t_.value) >> s), uint64_t(int64_t(t_.mask) >> s)};
  smin_ >>= s;
  smax_ >>= s;
  umin_ = 0;
  umax_ = ~0ull;
  Sync();
}

void Scalar::Neg() {
  if (IsConst()) {
    *this = Const(0 - ConstValue());
    return;
  }
  *this = Unknown();
}

void Scalar::Truncate(int bytes) {
  if (bytes >= 8) return;
  const uint64_t max = (1ull << (bytes * 8)) - 1;
  Tnum t = TnumCast(t_, bytes);
  if (umax_ <= max) {  // nothing to cut off
    t_ = t;
    Sync();
    return;
  }
  // Unsigned range wraps unless high bits of both ends agree.
  if ((umin_ >> (bytes * 8)) == (umax_ >> (bytes * 8))) {
    const uint64_t lo = umin_ & max, hi = umax_ & max;
    *this = Range(lo, hi);
  } else {
    *this = Range(0, max);
  }
  SetBits(t);
}

void Scalar::SignExtend(int bytes) {
  if (bytes >= 8) return;
  const int bits = bytes * 8;
  const uint64_t half = 1ull << (bits - 1);
  if (umax_ < half) {  // the sign bit is 0: the value is unchanged
    return;
  }
  if (IsConst()) {
    const uint64_t v = ConstValue() & ((half << 1) - 1);
    *this = Const(uint64_t(int64_t(v << (64 - bits)) >> (64 - bits)));
    return;
  }
  *this = SignedRange(-int64_t(half), int64_t(half - 1));
}

void Scalar::Swap(int bytes) {
  if (IsConst()) {
    uint64_t v = ConstValue();
    uint64_t r = 0;
    for (int i = 0; i < bytes; ++i) r |= ((v >> (8 * i)) & 0xff) << (8 * (bytes - 1 - i));
    *this = Const(r);
    return;
  }
  *this = bytes >= 8 ? Unknown() : Range(0, (1ull << (bytes * 8)) - 1);
}

std::string Scalar::ToString() const {
  if (empty_) return "(impossible)";
  if (IsConst()) {
    const int64_t v = int64_t(ConstValue());
    return v < 0 && v > -4096 ? fmt::format("{}", v) : fmt::format("{}", ConstValue());
  }
  if (IsUnknown()) return "any value";
  if (int64_t(umax_) >= 0 || smin_ >= 0) return fmt::format("[{}, {}]", umin_, umax_);
  if (smin_ != kSmin || smax_ != kSmax) return fmt::format("[{}, {}]", smin_, smax_);
  return fmt::format("[{:#x}, {:#x}]", umin_, umax_);
}

}  // namespace vigil::ebpf::verifier

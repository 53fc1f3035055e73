#include "detect/byte_ops.h"

#include <bit>

namespace vigil::detect {
namespace {

bool IsSpace(uint8_t c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

// The value of digit `c` in `base`, or -1.
int DigitValue(uint8_t c, int base) {
  int d = -1;
  if (c >= '0' && c <= '9') {
    d = c - '0';
  } else if (c >= 'a' && c <= 'f') {
    d = c - 'a' + 10;
  } else if (c >= 'A' && c <= 'F') {
    d = c - 'A' + 10;
  }
  return d < base ? d : -1;
}

std::optional<NumberRead> ReadString(const uint8_t* p, int64_t n, int base) {
  int64_t i = 0;
  while (i < n && IsSpace(p[i])) ++i;
  if (i < n && p[i] == '+') ++i;
  // strtoull takes "0x" before hex digits only; "0xg" reads as 0.
  if (base == 16 && i + 2 < n && p[i] == '0' && (p[i + 1] | 0x20) == 'x' &&
      DigitValue(p[i + 2], 16) >= 0) {
    i += 2;
  }
  uint64_t value = 0;
  int64_t digits = 0;
  for (; i < n; ++i, ++digits) {
    int d = DigitValue(p[i], base);
    if (d < 0) break;
    if (value > (UINT64_MAX - uint64_t(d)) / uint64_t(base)) return std::nullopt;
    value = value * uint64_t(base) + uint64_t(d);
  }
  if (digits == 0) return std::nullopt;
  return NumberRead{.value = value, .consumed = uint32_t(i), .examined = 0};
}

}  // namespace

std::optional<NumberRead> ReadNumber(const uint8_t* data, int64_t len, int64_t pos,
                                     const NumberFormat& f) {
  if (pos < 0 || pos > len) return std::nullopt;
  if (f.base == 0) {
    if (f.bytes > 8 || pos + f.bytes > len) return std::nullopt;
    uint64_t v = 0;
    for (int k = 0; k < f.bytes; ++k) {
      uint64_t b = data[pos + (f.little ? f.bytes - 1 - k : k)];
      v = (v << 8) | b;
    }
    return NumberRead{.value = v, .consumed = f.bytes, .examined = f.bytes};
  }
  int64_t n = f.bytes == 0 ? len - pos : int64_t(f.bytes);
  if (pos + n > len) return std::nullopt;
  auto r = ReadString(data + pos, n, f.base);
  if (r) r->examined = f.bytes == 0 ? r->consumed : uint32_t(n);
  return r;
}

NumberFormat FormatOf(uint8_t bytes, rules::Endian endian, rules::ByteString string) {
  NumberFormat f;
  f.bytes = bytes;
  f.little = endian == rules::Endian::kLittle || endian == rules::Endian::kDce;
  switch (string) {
    case rules::ByteString::kNone:
      f.base = 0;
      break;
    case rules::ByteString::kHex:
      f.base = 16;
      break;
    case rules::ByteString::kDec:
      f.base = 10;
      break;
    case rules::ByteString::kOct:
      f.base = 8;
      break;
  }
  return f;
}

uint64_t ApplyBitmask(uint64_t value, uint64_t mask) {
  if (mask == 0) return value;
  return (value & mask) >> std::countr_zero(mask);
}

bool ByteTestHolds(rules::ByteTestOption::Op op, bool negated, uint64_t value, uint64_t operand) {
  using Op = rules::ByteTestOption::Op;
  bool holds = false;
  switch (op) {
    case Op::kLt:
      holds = value < operand;
      break;
    case Op::kGt:
      holds = value > operand;
      break;
    case Op::kLe:
      holds = value <= operand;
      break;
    case Op::kGe:
      holds = value >= operand;
      break;
    case Op::kEq:
      holds = value == operand;
      break;
    case Op::kAnd:
      holds = (value & operand) != 0;
      break;
    case Op::kXor:
      holds = (value ^ operand) != 0;
      break;
  }
  return holds != negated;
}

std::optional<uint64_t> ByteMathResult(rules::ByteMathOption::Op op, uint64_t value,
                                       uint64_t rvalue) {
  using Op = rules::ByteMathOption::Op;
  switch (op) {
    case Op::kAdd:
      return value + rvalue;
    case Op::kSub:
      return value - rvalue;
    case Op::kMul:
      return value * rvalue;
    case Op::kDiv:
      if (rvalue == 0) return std::nullopt;
      return value / rvalue;
    case Op::kShl:
      return rvalue >= 64 ? 0 : value << rvalue;
    case Op::kShr:
      return rvalue >= 64 ? 0 : value >> rvalue;
  }
  return std::nullopt;
}

uint64_t AlignUp(uint64_t value, uint32_t to) {
  if (to <= 1 || value % to == 0) return value;
  return value + (to - value % to);
}

}  // namespace vigil::detect

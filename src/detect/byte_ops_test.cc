// byte_ops.h: reading numbers, bitmasks, byte_test comparisons, byte_math, alignment.
#include "detect/byte_ops.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <cstdlib>
#include <random>
#include <string>

namespace vigil::detect {
namespace {

using rules::ByteMathOption;
using rules::ByteTestOption;

std::optional<NumberRead> Read(std::string_view buf, int64_t pos, NumberFormat f) {
  return ReadNumber(reinterpret_cast<const uint8_t*>(buf.data()), int64_t(buf.size()), pos, f);
}

TEST(ReadNumberTest, Binary) {
  struct Case {
    std::string buf;
    int64_t pos;
    uint8_t bytes;
    bool little;
    std::optional<uint64_t> want;
  };
  const Case cases[] = {
      {"\x12\x34\x56\x78", 0, 1, false, 0x12},
      {"\x12\x34\x56\x78", 0, 2, false, 0x1234},
      {"\x12\x34\x56\x78", 0, 2, true, 0x3412},
      {"\x12\x34\x56\x78", 1, 3, false, 0x345678},
      {"\x12\x34\x56\x78", 1, 3, true, 0x785634},
      {"\x12\x34\x56\x78", 0, 4, false, 0x12345678},
      {"\x12\x34\x56\x78", 0, 4, true, 0x78563412},
      {std::string("\x01\x02\x03\x04\x05\x06\x07\x08", 8), 0, 8, false, 0x0102030405060708ull},
      {std::string("\x01\x02\x03\x04\x05\x06\x07\x08", 8), 0, 8, true, 0x0807060504030201ull},
      {std::string("\xff\xff\xff\xff\xff\xff\xff\xff", 8), 0, 8, false, ~0ull},
      // Boundaries: the last bytes of the buffer read; one more does not.
      {"\x12\x34\x56\x78", 2, 2, false, 0x5678},
      {"\x12\x34\x56\x78", 3, 2, false, std::nullopt},
      {"\x12\x34\x56\x78", 4, 1, false, std::nullopt},
      {"\x12\x34\x56\x78", -1, 1, false, std::nullopt},
      {"", 0, 1, false, std::nullopt},
      {std::string(9, 'a'), 0, 9, false, std::nullopt},  // more than 8 bytes is not a binary read
      // 0 bytes (byte_jump:0,...) read nothing, anywhere in the buffer up to its end.
      {"\x12\x34", 0, 0, false, 0},
      {"\x12\x34", 2, 0, false, 0},
      {"", 0, 0, false, 0},
      {"\x12\x34", 3, 0, false, std::nullopt},
  };
  for (const Case& c : cases) {
    auto r = Read(c.buf, c.pos, {.bytes = c.bytes, .little = c.little});
    ASSERT_EQ(r.has_value(), c.want.has_value()) << c.pos << " " << int(c.bytes);
    if (r) {
      EXPECT_EQ(r->value, *c.want);
      EXPECT_EQ(r->consumed, c.bytes);
      EXPECT_EQ(r->examined, c.bytes);
    }
  }
}

TEST(ReadNumberTest, Strings) {
  struct Case {
    std::string buf;
    int64_t pos;
    uint8_t bytes;
    uint8_t base;
    std::optional<uint64_t> want;
    uint32_t consumed = 0;
  };
  const Case cases[] = {
      // Snort's byte_test documentation: "1234" read as 4, 3, 2 decimal digits.
      {"1234567890", 0, 4, 10, 1234, 4},
      {"1234567890", 0, 3, 10, 123, 3},
      {"1234567890", 0, 2, 10, 12, 2},
      {"1234567890", 0, 10, 10, 1234567890, 10},
      {"deadbeef", 0, 8, 16, 0xdeadbeef, 8},
      {"DEADBEEF", 0, 8, 16, 0xdeadbeef, 8},
      {"0x1f!", 0, 5, 16, 0x1f, 4},  // strtoull's 0x prefix
      {"0xg", 0, 3, 16, 0, 1},       // "0x" without a hex digit is the number 0
      {"777", 0, 3, 8, 0777, 3},
      {"789", 0, 3, 8, 07, 1},  // 8 is not an octal digit: the number stops
      {"12ab", 0, 4, 10, 12, 2},
      {"  42", 0, 4, 10, 42, 4},  // leading white space, as strtoull
      {"+42", 0, 3, 10, 42, 3},
      {"-42", 0, 3, 10, std::nullopt},  // a negative number fails (Snort)
      {"abc", 0, 3, 10, std::nullopt},  // no digit fails (Suricata)
      {"   ", 0, 3, 10, std::nullopt},
      {"12", 0, 3, 10, std::nullopt},  // three characters do not fit
      {"x12", 1, 2, 10, 12, 2},
      {"99999999999999999999", 0, 20, 10, std::nullopt},  // over 64 bits
      {"18446744073709551615", 0, 20, 10, 18446744073709551615ull, 20},
      // bytes 0: digits up to the end of the buffer.
      {"ab1234", 2, 0, 10, 1234, 4},
      {"ab12cd", 2, 0, 10, 12, 2},
      {"ab", 2, 0, 10, std::nullopt},
  };
  for (const Case& c : cases) {
    auto r = Read(c.buf, c.pos, {.bytes = c.bytes, .base = c.base});
    ASSERT_EQ(r.has_value(), c.want.has_value()) << c.buf;
    if (r) {
      EXPECT_EQ(r->value, *c.want) << c.buf;
      EXPECT_EQ(r->consumed, c.consumed) << c.buf;
      EXPECT_EQ(r->examined, c.bytes == 0 ? c.consumed : c.bytes) << c.buf;
    }
  }
}

// The string reading agrees with strtoull on a copy of the bytes, except that a '-' sign, no
// digit at all and overflow fail.
TEST(ReadNumberTest, StringsAgreeWithStrtoull) {
  std::mt19937 rng(7);
  const char kChars[] = "0123456789abcdefxX +-\t8g";
  const uint8_t kBases[] = {8, 10, 16};
  for (int i = 0; i < 20000; ++i) {
    std::string buf(size_t(1 + rng() % 12), ' ');
    for (char& ch : buf) ch = kChars[rng() % (sizeof(kChars) - 1)];
    uint8_t base = kBases[rng() % 3];
    uint8_t bytes = uint8_t(1 + rng() % buf.size());
    auto r = Read(buf, 0, {.bytes = bytes, .base = base});
    std::string copy = buf.substr(0, bytes);
    size_t first = copy.find_first_not_of(" \t");
    char* end = nullptr;
    errno = 0;
    unsigned long long v = std::strtoull(copy.c_str(), &end, base);
    bool ok = end != copy.c_str() && errno != ERANGE &&
              !(first != std::string::npos && copy[first] == '-');
    ASSERT_EQ(r.has_value(), ok) << copy << " base " << int(base);
    if (ok) {
      EXPECT_EQ(r->value, v) << copy;
      EXPECT_EQ(r->consumed, uint32_t(end - copy.c_str())) << copy;
    }
  }
}

TEST(FormatOfTest, EndianAndBase) {
  EXPECT_FALSE(FormatOf(2, rules::Endian::kDefault, rules::ByteString::kNone).little);
  EXPECT_FALSE(FormatOf(2, rules::Endian::kBig, rules::ByteString::kNone).little);
  EXPECT_TRUE(FormatOf(2, rules::Endian::kLittle, rules::ByteString::kNone).little);
  EXPECT_TRUE(FormatOf(2, rules::Endian::kDce, rules::ByteString::kNone).little);
  EXPECT_EQ(FormatOf(2, rules::Endian::kDefault, rules::ByteString::kNone).base, 0);
  EXPECT_EQ(FormatOf(2, rules::Endian::kDefault, rules::ByteString::kHex).base, 16);
  EXPECT_EQ(FormatOf(2, rules::Endian::kDefault, rules::ByteString::kDec).base, 10);
  EXPECT_EQ(FormatOf(2, rules::Endian::kDefault, rules::ByteString::kOct).base, 8);
}

TEST(ApplyBitmaskTest, MasksThenShiftsByTrailingZeros) {
  EXPECT_EQ(ApplyBitmask(0x2380, 0x3ff0), 0x238u);  // Snort 3's example: 568
  EXPECT_EQ(ApplyBitmask(0xabcd, 0), 0xabcdu);
  EXPECT_EQ(ApplyBitmask(0xabcd, 0x00ff), 0xcdu);
  EXPECT_EQ(ApplyBitmask(0xabcd, 0xff00), 0xabu);
  EXPECT_EQ(ApplyBitmask(0x80, 0x80), 1u);
  EXPECT_EQ(ApplyBitmask(0x7f, 0x80), 0u);
  EXPECT_EQ(ApplyBitmask(0x1234, 0x0ff0), 0x23u);
}

TEST(ByteTestHoldsTest, EveryOperatorAndNegation) {
  using Op = ByteTestOption::Op;
  struct Case {
    Op op;
    uint64_t value, operand;
    bool holds;
  };
  const Case cases[] = {
      {Op::kLt, 3, 4, true},         {Op::kLt, 4, 4, false},       {Op::kGt, 5, 4, true},
      {Op::kGt, 4, 4, false},        {Op::kLe, 4, 4, true},        {Op::kLe, 5, 4, false},
      {Op::kGe, 4, 4, true},         {Op::kGe, 3, 4, false},       {Op::kEq, 7, 7, true},
      {Op::kEq, 7, 8, false},        {Op::kAnd, 0x10, 0x30, true}, {Op::kAnd, 0x40, 0x30, false},
      {Op::kXor, 0x30, 0x30, false}, {Op::kXor, 0x31, 0x30, true},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(ByteTestHolds(c.op, false, c.value, c.operand), c.holds) << int(c.op);
    EXPECT_EQ(ByteTestHolds(c.op, true, c.value, c.operand), !c.holds) << int(c.op);
  }
}

TEST(ByteMathResultTest, Operators) {
  using Op = ByteMathOption::Op;
  EXPECT_EQ(ByteMathResult(Op::kAdd, 5, 248), 253u);
  EXPECT_EQ(ByteMathResult(Op::kSub, 5, 3), 2u);
  EXPECT_EQ(ByteMathResult(Op::kSub, 3, 5), uint64_t(-2));  // wraps
  EXPECT_EQ(ByteMathResult(Op::kMul, 0x1234, 10), 0x1234u * 10);
  EXPECT_EQ(ByteMathResult(Op::kDiv, 100, 7), 14u);
  EXPECT_EQ(ByteMathResult(Op::kDiv, 100, 0), std::nullopt);
  EXPECT_EQ(ByteMathResult(Op::kShl, 3, 4), 48u);
  EXPECT_EQ(ByteMathResult(Op::kShr, 48, 4), 3u);
  EXPECT_EQ(ByteMathResult(Op::kShl, 3, 64), 0u);
  EXPECT_EQ(ByteMathResult(Op::kShr, ~0ull, 70), 0u);
}

TEST(AlignUpTest, RoundsUpToTheMultiple) {
  EXPECT_EQ(AlignUp(0, 4), 0u);
  EXPECT_EQ(AlignUp(1, 4), 4u);
  EXPECT_EQ(AlignUp(4, 4), 4u);
  EXPECT_EQ(AlignUp(5, 4), 8u);
  EXPECT_EQ(AlignUp(5, 2), 6u);
  EXPECT_EQ(AlignUp(6, 2), 6u);
  EXPECT_EQ(AlignUp(5, 0), 5u);
}

}  // namespace
}  // namespace vigil::detect

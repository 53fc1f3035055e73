// Byte operations: how byte_test, byte_jump, byte_extract and byte_math read a number from the
// payload and what they do with it, as pure functions over a buffer (the option walk in
// option_program.h supplies positions and the cursor).
//
//   detect::NumberFormat f{.bytes = 2, .little = true};
//   if (auto n = detect::ReadNumber(data, len, pos, f)) Use(n->value, n->consumed);
//
// Semantics are Snort 3's and Suricata's where they agree; where they differ the choice is named:
//   - binary numbers of 1 to 8 bytes, big endian unless `little`; `dce` (the byte order of a
//     DCE/RPC session, unknown to vigil) reads little endian; 0 bytes read nothing and give 0
//     (byte_jump:0,... jumps by its post_offset alone, as in both engines);
//   - strings in base 8, 10 or 16 as strtoull reads them (leading white space, an optional '+',
//     an optional 0x for hex) but a '-' sign, no digit at all, or a value over 64 bits fails
//     (Snort 3 refuses '-'; Suricata refuses "no digit"); `bytes` 0 reads digits up to the end of
//     the buffer (Suricata). `consumed` counts the characters parsed, which is how far byte_jump
//     and byte_extract move the cursor (both engines);
//   - values are 64-bit (Suricata; Snort 3 keeps 32 bits);
//   - a bitmask ANDs the value, then shifts it right by the mask's trailing zero bits;
//   - reading outside the buffer fails: the option does not match.
#pragma once

#include <cstdint>
#include <optional>

#include "rules/options.h"

namespace vigil::detect {

struct NumberFormat {
  uint8_t bytes = 1;    // 0..8 binary; 0..23 as a string (0: up to the end of the buffer)
  bool little = false;  // binary only
  uint8_t base = 0;     // 0: binary; 8, 10 or 16: a string of digits
};

struct NumberRead {
  uint64_t value = 0;
  uint32_t consumed = 0;  // bytes (binary) or characters parsed (string)
  uint32_t examined = 0;  // bytes looked at: data[pos, pos + examined)
};

// Reads a number at data[pos, ...) of data[0, len); nullopt when it does not fit in the buffer, or
// a string has no digit, a '-' sign or more than 64 bits.
[[nodiscard]] std::optional<NumberRead> ReadNumber(const uint8_t* data, int64_t len, int64_t pos,
                                                   const NumberFormat& format);

// The format of a byte_* option's number (its bytes, byte order and string base).
[[nodiscard]] NumberFormat FormatOf(uint8_t bytes, rules::Endian endian, rules::ByteString string);

// value & mask, shifted right by the trailing zero bits of mask; value itself when mask is 0.
[[nodiscard]] uint64_t ApplyBitmask(uint64_t value, uint64_t mask);

// byte_test's comparison `value OP operand`, negated by '!': & is "some bit in common", ^ is
// "differs".
[[nodiscard]] bool ByteTestHolds(rules::ByteTestOption::Op op, bool negated, uint64_t value,
                                 uint64_t operand);

// byte_math's `value OP rvalue` on 64 bits (wrapping); nullopt for a division by zero. Shifts by
// 64 or more give 0.
[[nodiscard]] std::optional<uint64_t> ByteMathResult(rules::ByteMathOption::Op op, uint64_t value,
                                                     uint64_t rvalue);

// value rounded up to a multiple of `to` (2 or 4); value when `to` is 0 or 1.
[[nodiscard]] uint64_t AlignUp(uint64_t value, uint32_t to);

}  // namespace vigil::detect

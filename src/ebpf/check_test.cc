#include "ebpf/check.h"

#include <gtest/gtest.h>

#include "ebpf/asm.h"

namespace vigil::ebpf {
namespace {

struct Case {
  const char* source;
  const char* why;  // a substring of the expected message; nullptr when the program is valid
};

TEST(CheckStructure, AcceptsValidAndRefusesInvalidPrograms) {
  const Case cases[] = {
      {"mov %r0, 0\nexit", nullptr},
      {"mov %r0, 0\ncall local f\nexit\nf:\nmov %r0, 1\nexit", nullptr},
      {"ja32 +0\nmov %r0, 0\nexit", nullptr},
      {"mov %r10, 1\nexit", "write to r10"},
      {"ldxdw %r10, [%r1+0]\nexit", "write to r10"},
      {"or %r0, %r10\nexit", "arithmetic on r10"},
      {"mov32 %r0, %r10\nexit", "arithmetic on r10"},
      {"mov %r1, %r10\nadd %r1, %r10\nsub %r1, %r10\nmov %r0, 0\nexit", nullptr},
      {"mov %r11, 1\nexit", "invalid destination register"},
      {"mov %r0, %r11\nexit", "invalid source register"},
      {"div %r0, 0\nexit", "division by zero"},
      {"mod32 %r0, 0\nexit", "division by zero"},
      {"ja +2\nexit", "out of range"},
      {"ja -1\nexit", "infinite loop"},
      {"ja +1\nlddw %r0, 1\nexit", "middle of a 64-bit"},
      {"mov %r0, 0", "does not end"},
      {"mov %r0, 0\ncall local f\nf:\nexit", "does not end"},
      {"b:\nmov %r1, 1\ncall local n\nexit\nn:\nja b\nexit", "out of its function"},
      {"call 9999\nexit", "unknown helper"},
      {"lddw %r1, 0\nexit", nullptr},
  };
  for (const Case& c : cases) {
    auto insns = Assemble(c.source);
    ASSERT_TRUE(insns) << c.source;
    auto st = CheckStructure(*insns);
    if (c.why == nullptr) {
      EXPECT_TRUE(st) << c.source << ": " << st.error().message;
    } else {
      ASSERT_FALSE(st) << c.source;
      EXPECT_NE(st.error().message.find(c.why), std::string::npos)
          << c.source << ": " << st.error().message;
    }
  }
}

TEST(CheckStructure, RefusesRawEncodingErrors) {
  auto check = [](std::vector<Insn> insns) { return CheckStructure(insns); };
  EXPECT_FALSE(check({}));  // empty
  // lddw missing its second half, and a second half with a non-zero opcode.
  EXPECT_FALSE(check({Insn::Make(kOpLddw, 0, 0, 0, 1)}));
  EXPECT_FALSE(check({Insn::Make(kOpLddw, 0, 0, 0, 1), Insn::Make(kOpExit, 0, 0, 0, 0)}));
  // Map loads need a map at that index.
  EXPECT_FALSE(
      check({Insn::Make(kOpLddw, 1, kPseudoMapFd, 0, 0), Insn{}, Insn::Make(kOpExit, 0, 0, 0, 0)}));
  EXPECT_TRUE(CheckStructure(std::vector<Insn>{Insn::Make(kOpLddw, 1, kPseudoMapFd, 0, 0), Insn{},
                                               Insn::Make(kOpExit, 0, 0, 0, 0)},
                             {.num_maps = 1}));
  // Byte swap widths, legacy packet loads, unknown atomics, too many instructions.
  EXPECT_FALSE(check({Insn::Make(0xdc, 1, 0, 0, 48), Insn::Make(kOpExit, 0, 0, 0, 0)}));
  EXPECT_FALSE(check({Insn::Make(0x30, 0, 0, 0, 0), Insn::Make(kOpExit, 0, 0, 0, 0)}));
  EXPECT_FALSE(check({Insn::Make(0xdb, 10, 1, -8, 0x31), Insn::Make(kOpExit, 0, 0, 0, 0)}));
  std::vector<Insn> big(70000, Insn::Make(0xb7, 0, 0, 0, 0));
  big.back() = Insn::Make(kOpExit, 0, 0, 0, 0);
  auto st = CheckStructure(big);
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find("too many"), std::string::npos);
}

TEST(CheckStructure, ErrorNamesTheInstructionAndItsByteOffset) {
  auto insns = Assemble("mov %r0, 0\nmov %r0, 1\nmov %r10, 1\nexit");
  ASSERT_TRUE(insns);
  auto st = CheckStructure(*insns);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().offset, 16);
  EXPECT_EQ(st.error().message.rfind("instruction 2:", 0), 0u) << st.error().message;
}

}  // namespace
}  // namespace vigil::ebpf

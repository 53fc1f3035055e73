#include "ebpf/asm.h"

#include <gtest/gtest.h>

namespace vigil::ebpf {
namespace {

struct Case {
  const char* source;
  uint64_t word;  // the expected first instruction word, little-endian
};

uint64_t Word(const Insn& i) {
  uint64_t w;
  std::memcpy(&w, &i, 8);
  return w;
}

TEST(Assemble, EncodesEachFormLikeTheReferenceEncoding) {
  // Words as uBPF's jmp/alu/ldx vectors write them (0x<imm><off><src:dst><opcode>).
  const Case cases[] = {
      {"mov %r0, 1", 0x00000001000000b7},
      {"mov32 %r1, %r2", 0x00000000000021bc},
      {"sdiv %r1, %r2", 0x000000000001213f},
      {"smod32 %r1, 3", 0x0000000300010194},
      {"movsx1664 %r8, %r7", 0x00000000001078bf},
      {"ldxh %r3, [%r1+12]", 0x00000000000c1369},
      {"ldxsb %r0, [%r10-1]", 0x00000000ffffa091},
      {"stxdw [%r10-8], %r3", 0x00000000fff83a7b},
      {"stw [%r1+4], -1", 0xffffffff00040162},
      {"be16 %r1", 0x00000010000001dc},
      {"le32 %r1", 0x00000020000001d4},
      {"bswap64 %r0", 0x00000040000000d7},
      {"jne %r1, 0x33, +1", 0x0000003300010155},
      {"jsge32 %r1, %r2, -2", 0x00000000fffe217e},
      {"ja32 +5", 0x0000000500000006},
      {"call 12", 0x0000000c00000085},
      {"call %r2", 0x000000000000028d},
      {"lock fetch add [%r10-8], %r1", 0x00000001fff81adb},
      {"lock cmpxchg32 [%r2+0], %r3", 0x000000f1000032c3},
      {"exit", 0x0000000000000095},
  };
  for (const Case& c : cases) {
    auto insns = Assemble(c.source);
    ASSERT_TRUE(insns) << c.source << ": " << insns.error().ToString();
    EXPECT_EQ(Word((*insns)[0]), c.word) << c.source;
  }
}

TEST(Assemble, LddwTakesTwoWordsAndLabelsResolve) {
  auto insns = Assemble("lddw %r0, 0x1122334455667788\njeq %r0, 0, done\nmov %r0, 1\ndone:\nexit");
  ASSERT_TRUE(insns);
  ASSERT_EQ(insns->size(), 5u);
  EXPECT_EQ((*insns)[0].imm, 0x55667788);
  EXPECT_EQ((*insns)[1].imm, 0x11223344);
  EXPECT_EQ((*insns)[2].off, 1);
}

TEST(Assemble, RefusesBadInputWithTheLine) {
  const char* bad[] = {
      "mov %r0, 1\nfoo %r1",       // unknown mnemonic
      "mov %r0, 1\nor %r0, %r50",  // bad register
      "mov32 %r0, 2147483648",     // decimal out of signed 32-bit range
      "mov32 %r0, 0x100000000",    // hex out of 32 bits
      "ldxb %r0, [%r1+0x10000]",   // offset out of 16 bits
      "ldxb %r0, %r1",             // not a memory operand
      "lddw %r0",                  // operand count
      "ja nowhere",                // undefined label
      "lock or [%r10-8]",          // atomic without a source
  };
  for (const char* s : bad) {
    auto insns = Assemble(s);
    EXPECT_FALSE(insns) << s;
    if (!insns) {
      EXPECT_GE(insns.error().line, 1u) << s;
    }
  }
}

}  // namespace
}  // namespace vigil::ebpf

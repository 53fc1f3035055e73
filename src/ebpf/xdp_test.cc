#include "ebpf/xdp.h"

#include <gtest/gtest.h>

#include <cstring>

#include "ebpf/asm.h"
#include "ebpf/program.h"
#include "ebpf/scratch.h"

namespace vigil::ebpf {
namespace {

// These tests exercise the XDP runtime itself — the context rewrite, checked mode, the helpers'
// own refusals, out-of-range return codes — on programs the verifier refuses by design (reads
// past data_end, return values that are no XDP action), so they load without it.
base::Result<std::shared_ptr<const Program>> LoadXdp(const char* source,
                                                     std::vector<std::shared_ptr<Map>> maps = {}) {
  auto insns = Assemble(source);
  if (!insns) return insns.error();
  return Program::Load(*insns,
                       {.type = ProgramType::kXdp, .maps = std::move(maps), .verify = false});
}

std::vector<uint8_t> Frame(uint16_t ethertype_be, size_t size = 60) {
  std::vector<uint8_t> f(size, 0xab);
  f[12] = uint8_t(ethertype_be >> 8);
  f[13] = uint8_t(ethertype_be);
  return f;
}

// Drops IPv4, passes the rest: the shape clang emits (ctx copied to r6, data/data_end loaded as
// 32-bit fields and used as pointers).
constexpr const char* kDropIpv4 =
    "mov %r6, %r1\n"
    "ldxw %r2, [%r6+0]\n"
    "ldxw %r3, [%r6+4]\n"
    "mov %r4, %r2\n"
    "add %r4, 14\n"
    "jgt %r4, %r3, pass\n"
    "ldxh %r5, [%r2+12]\n"
    "jne %r5, 0x0008, pass\n"
    "mov %r0, 1\n"
    "exit\n"
    "pass:\n"
    "mov %r0, 2\n"
    "exit\n";

TEST(Xdp, ContextLoadsAreRewrittenToPointers) {
  auto p = LoadXdp(kDropIpv4);
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ((*p)->insns()[1].opcode, kClsLdx | kModeMem | kSizeDw);
  EXPECT_EQ((*p)->insns()[2].off, int16_t(offsetof(XdpContext, data_end)));
  for (bool checked : {true, false}) {
    Scratch s({.checked = checked});
    XdpBuffer buf;
    buf.Assign(Frame(0x0800));
    auto v = RunXdp(**p, s, buf);
    ASSERT_TRUE(v) << v.error().message;
    EXPECT_EQ(v->action, kXdpDrop);
    buf.Assign(Frame(0x86dd));
    EXPECT_EQ(RunXdp(**p, s, buf)->action, kXdpPass);
    buf.Assign(std::vector<uint8_t>(10, 0));  // shorter than Ethernet: the bounds check passes it
    EXPECT_EQ(RunXdp(**p, s, buf)->action, kXdpPass);
  }
}

TEST(Xdp, ContextSpilledToTheStackIsTracked) {
  auto p =
      LoadXdp("stxdw [%r10-8], %r1\nmov %r1, 0\nldxdw %r7, [%r10-8]\nldxw %r0, [%r7+12]\nexit");
  ASSERT_TRUE(p) << p.error().message;
  Scratch s({.checked = true});
  XdpBuffer buf;
  buf.Assign(Frame(0x0800));
  auto v = RunXdp(**p, s, buf, {.ingress_ifindex = 3});
  ASSERT_TRUE(v) << v.error().message;
  EXPECT_EQ(v->action, kXdpTx);  // r0 = ingress_ifindex = 3 = XDP_TX
}

TEST(Xdp, RefusesContextAccessesItCannotRewrite) {
  struct Case {
    const char* source;
    const char* why;
  } cases[] = {
      {"stw [%r1+0], 0\nmov %r0, 2\nexit", "read-only"},
      {"ldxw %r0, [%r1+24]\nexit", "invalid xdp_md access"},
      {"ldxdw %r0, [%r1+0]\nexit", "invalid xdp_md access"},
      {"ldxb %r0, [%r1+12]\nexit", "invalid xdp_md access"},
      {"ldxw %r2, [%r1+4]\njeq %r2, 0, l\nmov %r1, %r10\nadd %r1, -8\nl:\nldxw %r0, [%r1+0]\nexit",
       "some paths only"},
  };
  for (const auto& c : cases) {
    auto p = LoadXdp(c.source);
    ASSERT_FALSE(p) << c.source;
    EXPECT_NE(p.error().message.find(c.why), std::string::npos)
        << c.source << ": " << p.error().message;
  }
}

TEST(Xdp, CheckedModeStopsReadsPastDataEnd) {
  auto p = LoadXdp("ldxw %r2, [%r1+0]\nldxb %r0, [%r2+60]\nexit");
  ASSERT_TRUE(p);
  Scratch s({.checked = true});
  XdpBuffer buf;
  buf.Assign(Frame(0x0800, 60));
  auto v = RunXdp(**p, s, buf);
  ASSERT_FALSE(v);
  EXPECT_NE(v.error().message.find("out-of-bounds load"), std::string::npos);
}

TEST(Xdp, AdjustHeadTailAndMeta) {
  // Push 4 bytes in front (bpf_xdp_adjust_head(ctx, -4)), write them, shrink the tail by 10,
  // reserve 8 bytes of metadata; return the new length.
  auto p = LoadXdp(
      "mov %r6, %r1\n"
      "mov %r2, -4\ncall 44\njne %r0, 0, fail\n"
      "ldxw %r2, [%r6+0]\nldxw %r3, [%r6+4]\nmov %r4, %r2\nadd %r4, 4\njgt %r4, %r3, fail\n"
      "stw [%r2+0], 0x44332211\n"
      "mov %r1, %r6\nmov %r2, -10\ncall 65\njne %r0, 0, fail\n"
      "mov %r1, %r6\nmov %r2, -8\ncall 54\njne %r0, 0, fail\n"
      "ldxw %r2, [%r6+0]\nldxw %r3, [%r6+4]\nsub %r3, %r2\nmov %r0, %r3\nexit\n"
      "fail:\nmov %r0, 0\nexit");
  ASSERT_TRUE(p) << p.error().message;
  Scratch s({.checked = true});
  XdpBuffer buf;
  buf.Assign(Frame(0x0800, 60));
  auto v = RunXdp(**p, s, buf);
  ASSERT_TRUE(v) << v.error().message;
  EXPECT_EQ(v->raw, 60u + 4 - 10);
  ASSERT_EQ(buf.data().size(), 54u);
  EXPECT_EQ(buf.data()[0], 0x11);
  EXPECT_EQ(buf.data()[3], 0x44);
  EXPECT_EQ(buf.data()[4 + 12], 0x08);  // the original frame follows
  EXPECT_EQ(buf.meta().size(), 8u);
}

TEST(Xdp, AdjustHelpersRefuseToLeaveTheBuffer) {
  auto head = LoadXdp("mov %r2, -300\ncall 44\nexit");   // more than the headroom
  auto shrink = LoadXdp("mov %r2, -50\ncall 65\nexit");  // below an Ethernet header
  auto grow = LoadXdp("mov %r2, 4096\ncall 65\nexit");   // past the tailroom
  auto meta = LoadXdp("mov %r2, -6\ncall 54\nexit");     // metadata must be 4-byte multiples
  Scratch s({.checked = true});
  XdpBuffer buf;
  for (auto* p : {&head, &shrink, &grow, &meta}) {
    ASSERT_TRUE(*p);
    buf.Assign(Frame(0x0800, 60));
    auto v = RunXdp(***p, s, buf);
    ASSERT_TRUE(v);
    EXPECT_LT(int64_t(v->raw), 0);
    EXPECT_EQ(buf.data().size(), 60u);
  }
}

TEST(Xdp, RedirectAndRedirectMap) {
  auto devmap = Map::Create({.type = kMapDevmap, .key_size = 4, .value_size = 4, .max_entries = 4});
  ASSERT_TRUE(devmap);
  uint8_t key[4] = {1, 0, 0, 0}, ifindex[4] = {9, 0, 0, 0};
  ASSERT_TRUE((*devmap)->HostUpdate(key, ifindex));
  auto direct = LoadXdp("mov %r1, 5\nmov %r2, 0\ncall 23\nexit");
  auto hit = LoadXdp("lddw %r1, map:0\nmov %r2, 1\nmov %r3, 0\ncall 51\nexit", {*devmap});
  auto miss = LoadXdp("lddw %r1, map:0\nmov %r2, 2\nmov %r3, 2\ncall 51\nexit", {*devmap});
  ASSERT_TRUE(direct && hit && miss);
  Scratch s({.checked = true});
  XdpBuffer buf;
  buf.Assign(Frame(0x0800));
  auto v = RunXdp(**direct, s, buf);
  EXPECT_EQ(v->action, kXdpRedirect);
  EXPECT_EQ(v->redirect_ifindex, 5u);
  v = RunXdp(**hit, s, buf);
  EXPECT_EQ(v->action, kXdpRedirect);
  EXPECT_EQ(v->redirect_ifindex, 9u);
  v = RunXdp(**miss, s, buf);
  EXPECT_EQ(v->action, kXdpPass);  // the flags' low bits are the fallback action
}

TEST(Xdp, UnknownReturnCodesAreAborted) {
  auto p = LoadXdp("mov %r0, 77\nexit");
  ASSERT_TRUE(p);
  Scratch s;
  XdpBuffer buf;
  buf.Assign(Frame(0x0800));
  auto v = RunXdp(**p, s, buf);
  EXPECT_EQ(v->action, kXdpAborted);
  EXPECT_EQ(v->raw, 77u);
}

}  // namespace
}  // namespace vigil::ebpf

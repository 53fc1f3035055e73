#include "ebpf/xdp.h"

#include <gtest/gtest.h>

#include <cstring>

#include "ebpf/asm.h"
#include "ebpf/fib.h"
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

// bpf_redirect_map's target as RunXdp reports it, for each redirect map type: the interface of a
// device map or device hash map entry, the processor a CPU map entry stands for, the queue of an
// AF_XDP socket map entry; an empty entry gives the fallback action and no target.
TEST(Xdp, RedirectTargetsOfEveryRedirectMap) {
  struct Case {
    MapSpec spec;
    uint32_t key, value;
    RedirectKind kind;
    uint32_t target;
  };
  const Case cases[] = {
      {{.type = kMapDevmap, .key_size = 4, .value_size = 4, .max_entries = 8},
       3,
       7,
       RedirectKind::kIfindex,
       7},
      {{.type = kMapDevmapHash, .key_size = 4, .value_size = 4, .max_entries = 8},
       3,
       12,
       RedirectKind::kIfindex,
       12},
      {{.type = kMapCpumap, .key_size = 4, .value_size = 8, .max_entries = 8},
       3,
       2048,
       RedirectKind::kCpu,
       3},
      {{.type = kMapXskmap, .key_size = 4, .value_size = 4, .max_entries = 8},
       3,
       0,
       RedirectKind::kXskQueue,
       0},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.spec.type);
    auto m = Map::Create(c.spec);
    ASSERT_TRUE(m) << m.error().message;
    std::vector<uint8_t> key(4), value(c.spec.value_size);
    std::memcpy(key.data(), &c.key, 4);
    std::memcpy(value.data(), &c.value, 4);
    auto p = LoadXdp("lddw %r1, map:0\nmov %r2, 3\nmov %r3, 2\ncall 51\nexit", {*m});
    ASSERT_TRUE(p);
    Scratch s({.checked = true});
    XdpBuffer buf;
    buf.Assign(Frame(0x0800));
    auto v = RunXdp(**p, s, buf);
    ASSERT_TRUE(v) << v.error().message;
    EXPECT_EQ(v->action, kXdpPass) << "an empty entry falls back";
    EXPECT_EQ(v->redirect.kind, RedirectKind::kNone);
    ASSERT_TRUE((*m)->HostUpdate(key, value));
    v = RunXdp(**p, s, buf);
    ASSERT_TRUE(v) << v.error().message;
    EXPECT_EQ(v->action, kXdpRedirect);
    EXPECT_EQ(v->redirect.kind, c.kind);
    EXPECT_EQ(v->redirect.value, c.target);
    EXPECT_EQ(v->redirect.key, 3u);
    EXPECT_EQ(v->redirect_ifindex, c.kind == RedirectKind::kIfindex ? c.target : 0u);
    ASSERT_TRUE((*m)->HostDelete(key));
    v = RunXdp(**p, s, buf);
    EXPECT_EQ(v->action, kXdpPass) << "a deleted entry falls back";
  }
}

// Records a program writes into a ring buffer (reserve then submit, or bpf_ringbuf_output) and a
// perf event array (with packet bytes appended) reach the host through DrainEvents, in order;
// a discarded record never does.
TEST(Xdp, RingBufferAndPerfEventsReachTheHost) {
  auto rb = Map::Create({.type = kMapRingbuf, .key_size = 0, .value_size = 0, .max_entries = 4096});
  auto perf =
      Map::Create({.type = kMapPerfEventArray, .key_size = 4, .value_size = 4, .max_entries = 4});
  ASSERT_TRUE(rb && perf);
  // r6 = ctx; reserve 8 bytes, write 0x11223344 and the frame length, submit; reserve again and
  // discard; output 4 bytes from the stack; perf-output the same 4 bytes with 2 packet bytes.
  auto insns = Assemble(R"(
    mov %r6, %r1
    lddw %r1, map:0
    mov %r2, 8
    mov %r3, 0
    call 131
    jeq %r0, 0, out
    stw [%r0+0], 0x11223344
    stw [%r0+4], 60
    mov %r1, %r0
    mov %r2, 0
    call 132
    lddw %r1, map:0
    mov %r2, 16
    mov %r3, 0
    call 131
    jeq %r0, 0, out
    mov %r1, %r0
    mov %r2, 0
    call 133
    stw [%r10-8], 0x55
    lddw %r1, map:0
    mov %r2, %r10
    add %r2, -8
    mov %r3, 4
    mov %r4, 0
    call 130
    mov %r1, %r6
    lddw %r2, map:1
    lddw %r3, 0x2ffffffff
    mov %r4, %r10
    add %r4, -8
    mov %r5, 4
    call 25
  out:
    mov %r0, 2
    exit)");
  ASSERT_TRUE(insns) << insns.error().message;
  // Verified (the reference to each record is released on every path) and compiled.
  auto p = Program::Load(*insns, {.type = ProgramType::kXdp, .maps = {*rb, *perf}});
  ASSERT_TRUE(p) << p.error().message;
  for (Engine engine : {Engine::kChecked, Engine::kInterpreter, Engine::kJit}) {
    SCOPED_TRACE(int(engine));
    Scratch s(EngineConfig(engine));
    XdpBuffer buf;
    std::vector<uint8_t> frame = Frame(0x0800);
    buf.Assign(frame);
    auto v = RunXdp(**p, s, buf);
    ASSERT_TRUE(v) << v.error().message;
    std::vector<MapEvent> events;
    EXPECT_EQ((*rb)->DrainEvents(events, 10), 2u);
    ASSERT_EQ(events.size(), 2u);
    EXPECT_EQ(events[0].data, (std::vector<uint8_t>{0x44, 0x33, 0x22, 0x11, 60, 0, 0, 0}));
    EXPECT_EQ(events[1].data, (std::vector<uint8_t>{0x55, 0, 0, 0}));
    events.clear();
    EXPECT_EQ((*perf)->DrainEvents(events, 10), 1u);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].cpu, 0u);
    EXPECT_EQ(events[0].data, (std::vector<uint8_t>{0x55, 0, 0, 0, frame[0], frame[1]}));
  }
}

// bpf_fib_lookup's answers on a table of our own, one per BPF_FIB_LKUP_RET code it can give.
TEST(Xdp, FibLookupAnswersAsTheKernel) {
  FibTable t;
  t.links[1] = {.mac = {2, 0, 0, 0, 0, 1}, .mtu = 1500, .forward_v4 = true, .forward_v6 = true};
  t.links[2] = {.mac = {2, 0, 0, 0, 0, 2}, .mtu = 1500, .forward_v4 = false};
  auto v4 = [](uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
    return std::array<uint8_t, 16>{a, b, c, d};
  };
  auto route = [&](uint8_t table, uint8_t type, std::array<uint8_t, 16> dst, uint8_t len) {
    FibTable::Route r;
    r.family = 2;
    r.table = table;
    r.type = type;
    r.dst = dst;
    r.prefix_len = len;
    r.oif = 2;
    return r;
  };
  FibTable::Route via = route(254, 1, v4(10, 0, 0, 0), 8);
  via.gateway = v4(192, 168, 1, 1);
  via.has_gateway = true;
  via.metric = 20;
  t.routes = {via, route(254, 6, v4(10, 1, 0, 0), 16), route(255, 2, v4(10, 9, 9, 9), 32),
              route(254, 1, v4(172, 16, 0, 0), 12)};
  t.neighbours = {
      {.family = 2, .ifindex = 2, .addr = v4(192, 168, 1, 1), .mac = {9, 9, 9, 9, 9, 9}}};
  auto lookup = [&](std::array<uint8_t, 16> dst, uint32_t ifindex = 1, uint16_t len = 100,
                    uint8_t family = 2) {
    FibParams p{};
    p.family = family;
    p.ifindex = ifindex;
    p.tot_len = len;
    std::memcpy(p.dst, dst.data(), 4);
    const int64_t rc = t.Lookup(p, 0);
    return std::pair{rc, p};
  };
  auto [rc, p] = lookup(v4(10, 2, 3, 4));
  EXPECT_EQ(rc, kFibSuccess);
  EXPECT_EQ(p.ifindex, 2u);
  EXPECT_EQ(p.tos_flowinfo_metric, 20u);
  EXPECT_EQ(p.tot_len, 1500u) << "mtu_result, on success too";
  EXPECT_EQ(p.dmac[0], 9);
  EXPECT_EQ(p.smac[5], 2);
  EXPECT_EQ(std::memcmp(p.dst, v4(192, 168, 1, 1).data(), 4), 0) << "dst becomes the gateway";
  EXPECT_EQ(lookup(v4(10, 1, 2, 3)).first, kFibBlackhole) << "the longer prefix wins";
  EXPECT_EQ(lookup(v4(10, 9, 9, 9)).first, kFibNotForwarded) << "local, from the local table";
  EXPECT_EQ(lookup(v4(11, 0, 0, 1)).first, kFibNotForwarded) << "no route";
  EXPECT_EQ(lookup(v4(172, 16, 0, 5)).first, kFibNoNeighbour);
  auto [frag, fp] = lookup(v4(10, 2, 3, 4), 1, 9000);
  EXPECT_EQ(frag, kFibFragNeeded);
  EXPECT_EQ(fp.tot_len, 1500u) << "mtu_result";
  EXPECT_EQ(lookup(v4(10, 2, 3, 4), 2).first, kFibForwardingDisabled);
  EXPECT_EQ(lookup(v4(10, 2, 3, 4), 7).first, -19) << "-ENODEV";
  EXPECT_EQ(lookup(v4(10, 2, 3, 4), 1, 100, 3).first, -kEAFNOSUPPORT);
  FibParams flags{};
  flags.family = 2;
  flags.ifindex = 1;
  EXPECT_EQ(t.Lookup(flags, 1), -kEINVAL);
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

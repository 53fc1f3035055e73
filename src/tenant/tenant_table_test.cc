#include "tenant/tenant_table.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

#include "decode/decoder.h"

namespace vigil::tenant {
namespace {

packet::Packet Ip(const char* src, const char* dst, std::vector<uint16_t> vlans = {}) {
  packet::Packet p;
  p.src_ip = *base::IpAddress::Parse(src);
  p.dst_ip = *base::IpAddress::Parse(dst);
  p.ip_version = p.src_ip.is_v4() ? 4 : 6;
  p.vlan_count = uint8_t(std::min<size_t>(vlans.size(), 2));
  for (size_t i = 0; i < p.vlan_count; ++i) p.vlan_ids[i] = vlans[i];
  return p;
}

TEST(TenantTable, FirstMatchWinsAndTheRestIsTheDefault) {
  auto t = TenantTable::Build({{.name = "web", .prefixes = {"10.0.1.0/24", "2001:db8::/32"}},
                               {.name = "dns", .prefixes = {"10.0.2.53"}},
                               {.name = "wide", .prefixes = {"10.0.0.0/8"}}},
                              {});
  ASSERT_TRUE(t) << t.error().ToString();
  ASSERT_EQ(t->size(), 4u);
  EXPECT_EQ(t->spec(t->default_tenant()).name, "default");
  EXPECT_EQ(t->Classify(Ip("192.0.2.1", "10.0.1.7"), 0), 0u);
  EXPECT_EQ(t->Classify(Ip("192.0.2.1", "2001:db8::9"), 0), 0u);
  EXPECT_EQ(t->Classify(Ip("192.0.2.1", "10.0.2.53"), 0), 1u);
  EXPECT_EQ(t->Classify(Ip("192.0.2.1", "10.0.2.54"), 0), 2u) << "the /32 does not cover it";
  EXPECT_EQ(t->Classify(Ip("192.0.2.1", "192.0.2.2"), 0), 3u);
  packet::Packet arp;  // no IP layer: only a tenant without prefixes could claim it
  EXPECT_EQ(t->Classify(arp, 0), 3u);
}

TEST(TenantTable, RepliesBelongToTheTenantTheyComeFrom) {
  auto t = TenantTable::Build(
      {{.name = "web", .prefixes = {"10.0.1.0/24"}}, {.name = "dns", .prefixes = {"10.0.2.0/24"}}},
      {});
  ASSERT_TRUE(t);
  EXPECT_EQ(t->Classify(Ip("10.0.1.5", "192.0.2.1"), 0), 0u) << "web's reply to a client";
  // Between two tenants the destination decides: each direction is its receiver's.
  EXPECT_EQ(t->Classify(Ip("10.0.1.5", "10.0.2.5"), 0), 1u);
  EXPECT_EQ(t->Classify(Ip("10.0.2.5", "10.0.1.5"), 0), 0u);
}

TEST(TenantTable, EverySelectorKindMustMatch) {
  auto t = TenantTable::Build({{.name = "vlan100-on-vb",
                                .prefixes = {"10.0.0.0/8"},
                                .vlans = {100, 101},
                                .interfaces = {"vb"}}},
                              {"va", "vb"});
  ASSERT_TRUE(t) << t.error().ToString();
  EXPECT_EQ(t->Classify(Ip("192.0.2.1", "10.1.1.1", {101}), 1), 0u);
  EXPECT_EQ(t->Classify(Ip("192.0.2.1", "10.1.1.1", {101}), 0), 1u) << "wrong interface";
  EXPECT_EQ(t->Classify(Ip("192.0.2.1", "10.1.1.1", {102}), 1), 1u) << "wrong VLAN";
  EXPECT_EQ(t->Classify(Ip("192.0.2.1", "10.1.1.1"), 1), 1u) << "no VLAN";
  EXPECT_EQ(t->Classify(Ip("192.0.2.1", "11.1.1.1", {100}), 1), 1u) << "wrong prefix";
}

// Classify's own prefix match against base::IpAddress::InPrefix, the reference, at every prefix
// length of both families, for addresses that differ from the network in one bit at a time.
TEST(TenantTable, PrefixMatchAgreesWithIpAddressAtEveryLength) {
  for (const char* net : {"10.20.30.40", "2001:db8:1234:5678:9abc:def0:1357:2468"}) {
    const base::IpAddress network = *base::IpAddress::Parse(net);
    for (int length = 0; length <= network.bit_width(); ++length) {
      const std::string prefix = std::string(net) + "/" + std::to_string(length);
      auto t = TenantTable::Build({{.name = "t", .prefixes = {prefix}}}, {});
      ASSERT_TRUE(t) << prefix << ": " << t.error().ToString();
      for (int bit = -1; bit < network.bit_width(); ++bit) {
        base::IpAddress a = network;
        if (bit >= 0) a.bytes[size_t(bit / 8)] ^= uint8_t(0x80 >> (bit % 8));
        // The source differs from the network in its first bit: only the destination can match.
        packet::Packet p = Ip(network.is_v4() ? "192.0.2.1" : "ffff::1", net);
        p.dst_ip = a;
        const uint32_t expected = a.InPrefix(network, length) ? 0u : 1u;
        ASSERT_EQ(t->Classify(p, 0), expected) << prefix << ", bit " << bit;
      }
    }
  }
  // Another family never matches.
  auto t = TenantTable::Build({{.name = "all-v4", .prefixes = {"0.0.0.0/0"}}}, {});
  ASSERT_TRUE(t);
  EXPECT_EQ(t->Classify(Ip("2001:db8::1", "2001:db8::2"), 0), 1u);
  EXPECT_EQ(t->Classify(Ip("192.0.2.1", "198.51.100.1"), 0), 0u);
}

TEST(TenantTable, ANamedDefaultKeepsItsWeightAndGoesLast) {
  auto t = TenantTable::Build({{.name = "default", .weight = 5}, {.name = "a", .vlans = {7}}}, {});
  ASSERT_TRUE(t);
  EXPECT_EQ(t->spec(0).name, "a");
  EXPECT_EQ(t->default_tenant(), 1u);
  EXPECT_EQ(t->spec(1).weight, 5u);
}

TEST(TenantTable, RefusesBadSpecsNamingTheTenant) {
  struct Case {
    TenantSpec spec;
    const char* message;
  };
  for (const Case& c : std::vector<Case>{
           {{.name = "a", .prefixes = {"10.0.0.0/33"}},
            "tenant 'a': '10.0.0.0/33': bad prefix length"},
           {{.name = "b", .prefixes = {"ten.0.0.0/8"}},
            "tenant 'b': 'ten.0.0.0/8' is not an address"},
           {{.name = "c", .weight = 0}, "tenant 'c': weight must be at least 1"},
           {{.name = "d", .cap = 1.5}, "tenant 'd': cap must be in (0, 1]"},
           {{.name = "e", .interfaces = {"eth9"}}, "tenant 'e': interface 'eth9' is not one"},
           {{.name = ""}, "a tenant needs a name"}}) {
    auto t = TenantTable::Build({c.spec}, {"va"});
    ASSERT_FALSE(t) << c.message;
    EXPECT_NE(t.error().message.find(c.message), std::string::npos) << t.error().message;
  }
  auto twice = TenantTable::Build({{.name = "x"}, {.name = "x"}}, {});
  ASSERT_FALSE(twice);
  EXPECT_NE(twice.error().message.find("tenant 'x': named twice"), std::string::npos);
}

// A random Ethernet frame built around the cases the decoder tells apart: VLAN stacks up to too
// deep, truncation at every point, IPv4 header and total lengths, versions, ARP. Addresses are
// often in 10.1/16, 192.0.2/24 and 2001:db8::/32.
void RandomFrame(std::mt19937_64& rng, std::vector<uint8_t>& frame) {
  auto pick = [&](uint32_t n) { return uint32_t(rng() % n); };
  frame.assign(12, 0x02);
  auto put16 = [&](uint16_t v) {
    frame.push_back(uint8_t(v >> 8));
    frame.push_back(uint8_t(v));
  };
  const int tags = pick(4) == 0 ? int(pick(11)) : 0;
  for (int k = 0; k < tags; ++k) {
    put16(std::array<uint16_t, 3>{0x8100, 0x88a8, 0x9100}[pick(3)]);
    put16(uint16_t(pick(4) == 0 ? 7 : pick(3) == 0 ? 9 : pick(4096)) | uint16_t(pick(8) << 13));
  }
  const uint32_t kind = pick(10);
  if (kind < 5) {  // IPv4
    put16(0x0800);
    const uint32_t ihl = pick(6) == 0 ? pick(16) : 5 + pick(2);
    frame.push_back(uint8_t((pick(20) == 0 ? pick(16) : 4) << 4 | ihl));
    frame.push_back(0);
    const uint32_t total = pick(8) == 0 ? pick(80) : ihl * 4 + pick(1400);
    put16(uint16_t(total));
    for (int k = 0; k < 8; ++k) frame.push_back(uint8_t(rng()));
    for (int side = 0; side < 2; ++side) {
      const uint32_t which = pick(3);
      const uint8_t a = which == 0 ? 10 : which == 1 ? 192 : uint8_t(rng());
      const uint8_t b = which == 0 ? 1 : which == 1 ? 0 : uint8_t(rng());
      const uint8_t c = which == 1 ? 2 : uint8_t(rng());
      for (uint8_t byte : {a, b, c, uint8_t(rng())}) frame.push_back(byte);
    }
    for (uint32_t k = 20; k < ihl * 4 && k < 60; ++k) frame.push_back(1);
  } else if (kind < 8) {  // IPv6
    put16(0x86dd);
    frame.push_back(uint8_t((pick(20) == 0 ? pick(16) : 6) << 4));
    for (int k = 0; k < 7; ++k) frame.push_back(uint8_t(rng()));
    for (int side = 0; side < 2; ++side) {
      const bool ours = pick(2) == 0;
      for (uint8_t byte : {uint8_t(ours ? 0x20 : rng()), uint8_t(ours ? 0x01 : rng()),
                           uint8_t(ours ? 0x0d : rng()), uint8_t(ours ? 0xb8 : rng())}) {
        frame.push_back(byte);
      }
      for (int k = 0; k < 12; ++k) frame.push_back(uint8_t(rng()));
    }
  } else {  // ARP, or anything
    put16(kind == 8 ? 0x0806 : uint16_t(rng()));
    for (int k = 0; k < 28; ++k) frame.push_back(uint8_t(rng()));
  }
  for (uint32_t k = pick(64); k > 0; --k) frame.push_back(uint8_t(rng()));
  if (pick(3) == 0) frame.resize(pick(uint32_t(frame.size()) + 1));  // truncated anywhere
}

packet::Packet Decoded(decode::Decoder& decoder, const std::vector<uint8_t>& frame) {
  packet::Packet p;
  p.data = frame.data();
  p.caplen = p.wirelen = uint32_t(frame.size());
  p.linktype = packet::LinkType::kEthernet;
  decoder.Decode(p);
  return p;
}

// ClassifyFrame, before decoding, against Classify of the decoded frame, on one million random
// frames (RandomFrame).
TEST(TenantTable, ClassifyFrameAgreesWithTheDecodedPacket) {
  auto t = TenantTable::Build({{.name = "vlan7", .vlans = {7}},
                               {.name = "v4", .prefixes = {"10.1.0.0/16"}},
                               {.name = "v6", .prefixes = {"2001:db8::/32"}},
                               {.name = "v4vlan", .prefixes = {"192.0.2.0/24"}, .vlans = {9}},
                               {.name = "if1", .interfaces = {"b"}}},
                              {"a", "b"});
  ASSERT_TRUE(t) << t.error().ToString();
  std::mt19937_64 rng(20261207);
  decode::Decoder decoder;
  std::vector<uint8_t> frame;
  uint64_t compared = 0, per_tenant[6] = {};
  for (int round = 0; round < 1'000'000; ++round) {
    RandomFrame(rng, frame);
    const packet::Packet p = Decoded(decoder, frame);
    const uint32_t ingress = uint32_t(rng() % 2);
    const uint32_t want = t->Classify(p, ingress);
    ASSERT_EQ(t->ClassifyFrame(frame, ingress), want)
        << "round " << round << ", " << frame.size() << " bytes";
    ++compared;
    ++per_tenant[want];
  }
  EXPECT_EQ(compared, 1'000'000u);
  for (uint64_t n : per_tenant) EXPECT_GT(n, 1000u) << "every tenant is reached";
}

// The IPv4 fast path (every tenant selects by prefixes alone) against the general scan: the same
// tenants, and a last one that never matches (an interface no frame comes in on) but turns the
// fast path off. Overlapping prefixes, a host, IPv6 beside IPv4, /0 and /1; both entry points.
TEST(TenantTable, Ipv4FastPathAgreesWithTheGeneralScan) {
  const std::vector<TenantSpec> specs = {
      {.name = "host", .prefixes = {"10.1.0.7"}},
      {.name = "narrow", .prefixes = {"2001:db8::/32", "10.1.0.0/24"}},
      {.name = "wide", .prefixes = {"10.1.0.0/16", "192.0.2.128/25"}},
      {.name = "docs", .prefixes = {"192.0.2.0/24"}},
      {.name = "v6only", .prefixes = {"2001:db8:1::/48"}},
      {.name = "half", .prefixes = {"128.0.0.0/1"}}};
  auto fast = TenantTable::Build(specs, {"a", "b"});
  std::vector<TenantSpec> slow_specs = specs;
  slow_specs.push_back({.name = "never", .interfaces = {"b"}});
  auto slow = TenantTable::Build(slow_specs, {"a", "b"});
  auto everything = TenantTable::Build({{.name = "all", .prefixes = {"0.0.0.0/0"}}}, {});
  ASSERT_TRUE(fast && slow && everything);
  const uint32_t slow_default = slow->default_tenant();
  std::mt19937_64 rng(7);
  decode::Decoder decoder;
  std::vector<uint8_t> frame;
  std::vector<uint64_t> per_tenant(fast->size());
  for (int round = 0; round < 1'000'000; ++round) {
    RandomFrame(rng, frame);
    const packet::Packet p = Decoded(decoder, frame);
    uint32_t want = slow->Classify(p, 0);
    ASSERT_EQ(slow->ClassifyFrame(frame, 0), want) << "round " << round;
    if (want == slow_default) want = fast->default_tenant();
    ASSERT_EQ(fast->Classify(p, 0), want) << "round " << round;
    ASSERT_EQ(fast->ClassifyFrame(frame, 0), want) << "round " << round;
    ASSERT_EQ(everything->ClassifyFrame(frame, 0), p.ip_version == 4 ? 0u : 1u)
        << "round " << round;
    ++per_tenant[want];
  }
  for (uint32_t t = 0; t < fast->size(); ++t) {
    const std::string& name = fast->spec(t).name;
    if (name == "v6only") continue;  // RandomFrame's IPv6 is 2001:db8::/32 at most
    EXPECT_GT(per_tenant[t], name == "host" ? 0u : 500u) << name << " is reached";
  }
}

}  // namespace
}  // namespace vigil::tenant

#include "tenant/tenant_table.h"

#include <gtest/gtest.h>

#include <string>

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

}  // namespace
}  // namespace vigil::tenant

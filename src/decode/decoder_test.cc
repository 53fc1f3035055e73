#include "decode/decoder.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "packet/batch.h"
#include "packet/packet.h"

namespace vigil::decode {
namespace {

using packet::LinkType;
using packet::Packet;
using Bytes = std::vector<uint8_t>;

// ---- Frames are built by hand from these few header writers. ----

// IPv6 next-header values.
constexpr uint8_t kHbh = 0;  // hop-by-hop options
constexpr uint8_t kRouting = 43;
constexpr uint8_t kFrag = 44;
constexpr uint8_t kEsp = 50;  // encapsulating security payload
constexpr uint8_t kAh = 51;   // authentication header
constexpr uint8_t kNone = 59;
constexpr uint8_t kDest = 60;  // destination options

Bytes Cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& part : parts) out.insert(out.end(), part.begin(), part.end());
  return out;
}

void Put16(Bytes& b, uint16_t v) {
  b.push_back(uint8_t(v >> 8));
  b.push_back(uint8_t(v));
}

void Put32(Bytes& b, uint32_t v) {
  Put16(b, uint16_t(v >> 16));
  Put16(b, uint16_t(v));
}

Bytes Zeros(size_t n) { return Bytes(n, 0); }

Bytes Text(std::string_view s) { return Bytes(s.begin(), s.end()); }

uint16_t InternetChecksum(const Bytes& b, size_t begin, size_t len) {
  uint32_t sum = 0;
  for (size_t i = 0; i < len; i += 2) {
    sum += uint32_t(b[begin + i]) << 8 | (i + 1 < len ? b[begin + i + 1] : 0);
  }
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
  return uint16_t(~sum);
}

Bytes Eth(uint16_t type) {
  Bytes b = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb};
  Put16(b, type);
  return b;
}

Bytes VlanTag(uint16_t tci, uint16_t type) {
  Bytes b;
  Put16(b, tci);
  Put16(b, type);
  return b;
}

struct Ip4 {
  uint8_t version = 4;
  int ihl = -1;    // -1: 5 + options/4
  int total = -1;  // -1: header + payload
  uint8_t tos = 0;
  uint16_t id = 0x1234;
  uint16_t flags_fragment = 0;
  uint8_t ttl = 64;
  uint8_t proto = packet::kProtoTcp;
  Bytes options;
  bool good_checksum = true;
};

// An IPv4 header (192.0.2.1 -> 198.51.100.2) followed by `payload`.
Bytes Ipv4(const Ip4& h, const Bytes& payload) {
  const int ihl = h.ihl >= 0 ? h.ihl : 5 + int(h.options.size() / 4);
  const size_t header_len = 20 + h.options.size();
  const int total = h.total >= 0 ? h.total : int(header_len + payload.size());
  Bytes b;
  b.push_back(uint8_t(h.version << 4 | (ihl & 0x0f)));
  b.push_back(h.tos);
  Put16(b, uint16_t(total));
  Put16(b, h.id);
  Put16(b, h.flags_fragment);
  b.push_back(h.ttl);
  b.push_back(h.proto);
  Put16(b, 0);
  b.insert(b.end(), {192, 0, 2, 1, 198, 51, 100, 2});
  b.insert(b.end(), h.options.begin(), h.options.end());
  uint16_t sum = InternetChecksum(b, 0, b.size());
  if (!h.good_checksum) sum ^= 0x0101;
  b[10] = uint8_t(sum >> 8);
  b[11] = uint8_t(sum);
  b.insert(b.end(), payload.begin(), payload.end());
  return b;
}

Bytes Ipv4(const Bytes& payload, uint8_t proto) {
  Ip4 h;
  h.proto = proto;
  return Ipv4(h, payload);
}

// An IPv6 header (2001:db8::1 -> 2001:db8::2) whose payload length is payload.size() unless
// `payload_len` says otherwise, followed by `payload`.
Bytes Ipv6(uint8_t next, const Bytes& payload, int payload_len = -1, uint8_t traffic_class = 0,
           uint8_t hop_limit = 64) {
  Bytes b;
  Put32(b, 0x60000000u | uint32_t(traffic_class) << 20 | 0x12345);
  Put16(b, uint16_t(payload_len >= 0 ? payload_len : int(payload.size())));
  b.push_back(next);
  b.push_back(hop_limit);
  Bytes src = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  Bytes dst = src;
  dst[15] = 2;
  b.insert(b.end(), src.begin(), src.end());
  b.insert(b.end(), dst.begin(), dst.end());
  b.insert(b.end(), payload.begin(), payload.end());
  return b;
}

// A generic extension header (hop-by-hop, routing, destination options) of `len` bytes, a
// multiple of 8, padded with a PadN option.
Bytes Ext(uint8_t next, size_t len) {
  Bytes b = {next, uint8_t(len / 8 - 1), 0x01, uint8_t(len - 4)};
  b.resize(len, 0);
  return b;
}

Bytes FragmentHeader(uint8_t next, uint16_t offset_bytes, bool more, uint32_t id) {
  Bytes b = {next, 0};
  Put16(b, uint16_t(offset_bytes | (more ? 1 : 0)));
  Put32(b, id);
  return b;
}

// Authentication header of `len` bytes (a multiple of 4, at least 12).
Bytes Ah(uint8_t next, size_t len) {
  Bytes b = {next, uint8_t(len / 4 - 2)};
  b.resize(len, 0xa5);
  return b;
}

struct TcpH {
  uint16_t src_port = 1234;
  uint16_t dst_port = 80;
  uint32_t seq = 0x01020304;
  uint32_t ack = 0x0a0b0c0d;
  uint8_t flags = packet::kTcpAck;
  uint16_t window = 0x7210;
  Bytes options;         // padded by the caller to a multiple of 4
  int data_offset = -1;  // -1: 5 + options/4
};

Bytes Tcp(const TcpH& h, const Bytes& payload = {}) {
  Bytes b;
  Put16(b, h.src_port);
  Put16(b, h.dst_port);
  Put32(b, h.seq);
  Put32(b, h.ack);
  const int data_offset = h.data_offset >= 0 ? h.data_offset : 5 + int(h.options.size() / 4);
  b.push_back(uint8_t(data_offset << 4));
  b.push_back(h.flags);
  Put16(b, h.window);
  Put32(b, 0xdead0000);  // checksum and urgent pointer: never checked
  b.insert(b.end(), h.options.begin(), h.options.end());
  b.insert(b.end(), payload.begin(), payload.end());
  return b;
}

Bytes Tcp(const Bytes& payload = {}) { return Tcp(TcpH{}, payload); }

Bytes TcpWithOptions(const Bytes& options, const Bytes& payload = {}) {
  TcpH h;
  h.options = options;
  return Tcp(h, payload);
}

// A UDP header whose length field is 8 + payload.size() unless `length` says otherwise.
Bytes Udp(const Bytes& payload, int length = -1, uint16_t src = 1000, uint16_t dst = 53) {
  Bytes b;
  Put16(b, src);
  Put16(b, dst);
  Put16(b, uint16_t(length >= 0 ? length : int(8 + payload.size())));
  Put16(b, 0xbeef);
  b.insert(b.end(), payload.begin(), payload.end());
  return b;
}

Bytes Icmp(uint8_t type, uint8_t code, const Bytes& payload = {}) {
  Bytes b = {type, code, 0x12, 0x34, 0, 1, 0, 2};
  b.insert(b.end(), payload.begin(), payload.end());
  return b;
}

Bytes Truncate(Bytes b, size_t len) {
  b.resize(len);
  return b;
}

// ---- Running a frame through a fresh decoder ----

std::vector<std::string> MovedAnomalies(const DecodeStats& s) {
  std::vector<std::string> names;
  for (size_t i = 0; i < kAnomalyCount; ++i) {
    if (s.anomalies[i] != 0) names.emplace_back(AnomalyName(static_cast<Anomaly>(i)));
  }
  return names;
}

// What must hold for any input: later stages rely on it without re-checking.
void ExpectInvariants(const Packet& p) {
  const uint8_t* begin = p.data;
  const uint8_t* end = p.data + p.caplen;
  if (p.payload != nullptr) {
    EXPECT_GE(p.payload, begin);
    EXPECT_LE(p.payload, end);
    EXPECT_LE(p.payload_len, uint32_t(end - p.payload));
  } else {
    EXPECT_EQ(p.payload_len, 0u);
  }
  EXPECT_LE(p.vlan_count, 2);
  EXPECT_LE(int(p.has_tcp) + int(p.has_udp) + int(p.has_icmp), 1);
  if (p.ip_version == 0) {
    EXPECT_EQ(p.l4_offset, 0);
    EXPECT_FALSE(p.has_tcp || p.has_udp || p.has_icmp);
    EXPECT_EQ(p.payload_len, 0u);
    EXPECT_EQ(p.src_ip.family, 0);
  } else {
    ASSERT_TRUE(p.ip_version == 4 || p.ip_version == 6);
    EXPECT_LE(p.l3_offset + (p.ip_version == 4 ? 20u : 40u), p.caplen);
    EXPECT_EQ(p.src_ip.family, p.ip_version);
  }
  if (p.l4_offset != 0) {
    EXPECT_GT(p.l4_offset, p.l3_offset);
  }
  EXPECT_LE(p.l4_offset, p.caplen);
  if (p.has_tcp) {
    EXPECT_LE(p.l4_offset + 20u, p.caplen);
    EXPECT_GE(p.payload, p.data + p.l4_offset + 20);
  }
  if (p.has_udp || p.has_icmp) {
    EXPECT_EQ(p.payload, p.data + p.l4_offset + 8);
  }
  if (p.fragment_offset != 0) {
    EXPECT_TRUE(p.is_fragment);
    EXPECT_FALSE(p.has_tcp || p.has_udp || p.has_icmp);
  }
}

struct Case {
  std::string name;
  LinkType link;
  Bytes frame;
  std::vector<std::string> anomalies;  // exactly the anomaly counters that must move
  std::function<void(const Packet&, const DecodeStats&)> check;
  size_t caplen = SIZE_MAX;  // bytes handed to the decoder; default all of `frame`
};

// Decodes the case from a buffer of exactly caplen bytes (so a sanitizer sees any overread).
void RunCase(const Case& c) {
  SCOPED_TRACE(c.name);
  Bytes buf = c.frame;
  if (c.caplen != SIZE_MAX) buf.resize(c.caplen);
  Packet p;
  p.data = buf.data();
  p.caplen = uint32_t(buf.size());
  p.wirelen = uint32_t(c.frame.size());
  p.linktype = c.link;
  Decoder decoder;
  decoder.Decode(p);
  ExpectInvariants(p);
  std::vector<std::string> want = c.anomalies;
  std::sort(want.begin(), want.end());
  std::vector<std::string> got = MovedAnomalies(decoder.stats());
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, want);
  EXPECT_EQ(decoder.stats().packets, 1u);
  EXPECT_EQ(decoder.stats().bytes, buf.size());
  if (c.check) c.check(p, decoder.stats());
}

void RunTable(const std::vector<Case>& cases) {
  for (const Case& c : cases) RunCase(c);
}

std::string Ip(const base::IpAddress& a) { return a.ToString(); }

// ---- Link layers ----

TEST(DecoderTest, LinkLayers) {
  const Bytes udp = Udp({1, 2, 3, 4});
  const Bytes ip4 = Ipv4(udp, packet::kProtoUdp);
  const Bytes ip6 = Ipv6(packet::kProtoUdp, udp);
  auto v4_at = [](uint16_t l3) {
    return [l3](const Packet& p, const DecodeStats& s) {
      EXPECT_EQ(p.ip_version, 4);
      EXPECT_EQ(p.l3_offset, l3);
      EXPECT_TRUE(p.has_udp);
      EXPECT_EQ(p.l4_offset, l3 + 20);
      EXPECT_EQ(p.payload_len, 4u);
      EXPECT_EQ(p.payload, p.data + l3 + 28);
      EXPECT_EQ(Ip(p.dst_ip), "198.51.100.2");
      EXPECT_EQ(s.ipv4, 1u);
      EXPECT_EQ(s.udp, 1u);
      EXPECT_EQ(s.other, 0u);
    };
  };
  auto v6_at = [](uint16_t l3) {
    return [l3](const Packet& p, const DecodeStats& s) {
      EXPECT_EQ(p.ip_version, 6);
      EXPECT_EQ(p.l3_offset, l3);
      EXPECT_TRUE(p.has_udp);
      EXPECT_EQ(p.l4_offset, l3 + 40);
      EXPECT_EQ(p.payload_len, 4u);
      EXPECT_EQ(Ip(p.src_ip), "2001:db8::1");
      EXPECT_EQ(s.ipv6, 1u);
    };
  };
  auto non_ip = [](uint64_t arp, uint64_t llc) {
    return [arp, llc](const Packet& p, const DecodeStats& s) {
      EXPECT_EQ(p.ip_version, 0);
      EXPECT_EQ(s.other, 1u);
      EXPECT_EQ(s.arp, arp);
      EXPECT_EQ(s.llc, llc);
      EXPECT_EQ(s.ipv4 + s.ipv6, 0u);
    };
  };
  auto nothing = [](const Packet& p, const DecodeStats& s) {
    EXPECT_EQ(p.ip_version, 0);
    EXPECT_EQ(s.other, 0u);
  };
  const Bytes sll_v4 = {0, 0, 0, 1, 0, 6, 0, 0x11, 0x22, 0x33, 0x44, 0x55, 0, 0, 0x08, 0x00};
  const Bytes sll_arp = {0, 0, 0, 1, 0, 6, 0, 0x11, 0x22, 0x33, 0x44, 0x55, 0, 0, 0x08, 0x06};
  const Bytes sll_vlan = {0, 0, 0, 1, 0, 6, 0, 0x11, 0x22, 0x33, 0x44, 0x55, 0, 0, 0x81, 0x00};
  const Bytes sll2_v6 = {0x86, 0xdd, 0, 0,    0,    0,    0,    3,    0, 1,
                         0,    6,    0, 0x11, 0x22, 0x33, 0x44, 0x55, 0, 0};
  const auto kUnknownLink = static_cast<LinkType>(147);

  RunTable({
      {"ethernet ipv4", LinkType::kEthernet, Cat({Eth(0x0800), ip4}), {}, v4_at(14)},
      {"ethernet ipv6", LinkType::kEthernet, Cat({Eth(0x86dd), ip6}), {}, v6_at(14)},
      {"ethernet 13 bytes",
       LinkType::kEthernet,
       Truncate(Eth(0x0800), 13),
       {"decode.eth.truncated"},
       nothing},
      {"ethernet empty", LinkType::kEthernet, {}, {"decode.eth.truncated"}, nothing},
      {"ethernet header only",
       LinkType::kEthernet,
       Eth(0x0800),
       {"decode.ipv4.truncated"},
       nothing},
      {"ethernet arp", LinkType::kEthernet, Cat({Eth(0x0806), Zeros(28)}), {}, non_ip(1, 0)},
      {"ethernet 802.3 llc",
       LinkType::kEthernet,
       Cat({Eth(0x0026), {0x42, 0x42, 0x03}, Zeros(35)}),
       {},
       non_ip(0, 1)},
      {"ethernet lldp", LinkType::kEthernet, Cat({Eth(0x88cc), Zeros(30)}), {}, non_ip(0, 0)},
      {"null little-endian ipv4", LinkType::kNull, Cat({{2, 0, 0, 0}, ip4}), {}, v4_at(4)},
      {"null big-endian ipv4", LinkType::kNull, Cat({{0, 0, 0, 2}, ip4}), {}, v4_at(4)},
      {"null ipv6 family 24", LinkType::kNull, Cat({{24, 0, 0, 0}, ip6}), {}, v6_at(4)},
      {"null ipv6 family 28", LinkType::kNull, Cat({{28, 0, 0, 0}, ip6}), {}, v6_at(4)},
      {"null ipv6 family 30", LinkType::kNull, Cat({{30, 0, 0, 0}, ip6}), {}, v6_at(4)},
      {"null big-endian ipv6 30", LinkType::kNull, Cat({{0, 0, 0, 30}, ip6}), {}, v6_at(4)},
      {"null unknown family", LinkType::kNull, Cat({{7, 0, 0, 0}, ip4}), {}, non_ip(0, 0)},
      {"null 3 bytes", LinkType::kNull, {2, 0, 0}, {"decode.loopback.truncated"}, nothing},
      {"loop ipv4", LinkType::kLoop, Cat({{0, 0, 0, 2}, ip4}), {}, v4_at(4)},
      {"loop ipv6", LinkType::kLoop, Cat({{0, 0, 0, 30}, ip6}), {}, v6_at(4)},
      // LOOP is always network order: 02 00 00 00 is family 0x02000000, not AF_INET.
      {"loop little-endian is not ipv4",
       LinkType::kLoop,
       Cat({{2, 0, 0, 0}, ip4}),
       {},
       non_ip(0, 0)},
      {"loop 2 bytes", LinkType::kLoop, {0, 0}, {"decode.loopback.truncated"}, nothing},
      {"raw ipv4", LinkType::kRaw, ip4, {}, v4_at(0)},
      {"raw ipv6", LinkType::kRaw, ip6, {}, v6_at(0)},
      {"raw version 5",
       LinkType::kRaw,
       Cat({{0x50}, Zeros(40)}),
       {"decode.raw.bad_version"},
       nothing},
      {"raw empty", LinkType::kRaw, {}, {"decode.raw.truncated"}, nothing},
      {"linktype ipv4", LinkType::kIpv4, ip4, {}, v4_at(0)},
      {"linktype ipv6", LinkType::kIpv6, ip6, {}, v6_at(0)},
      {"linktype ipv4 holding ipv6", LinkType::kIpv4, ip6, {"decode.ipv4.bad_version"}, nothing},
      {"linktype ipv6 holding ipv4",
       LinkType::kIpv6,
       Cat({ip4, Zeros(20)}),
       {"decode.ipv6.bad_version"},
       nothing},
      {"sll ipv4", LinkType::kLinuxSll, Cat({sll_v4, ip4}), {}, v4_at(16)},
      {"sll arp", LinkType::kLinuxSll, Cat({sll_arp, Zeros(28)}), {}, non_ip(1, 0)},
      {"sll vlan ipv4",
       LinkType::kLinuxSll,
       Cat({sll_vlan, VlanTag(7, 0x0800), ip4}),
       {},
       [&](const Packet& p, const DecodeStats& s) {
         v4_at(20)(p, s);
         EXPECT_EQ(p.vlan_count, 1);
         EXPECT_EQ(p.vlan_ids[0], 7);
       }},
      {"sll 15 bytes",
       LinkType::kLinuxSll,
       Truncate(sll_v4, 15),
       {"decode.sll.truncated"},
       nothing},
      {"sll2 ipv6", LinkType::kLinuxSll2, Cat({sll2_v6, ip6}), {}, v6_at(20)},
      {"sll2 19 bytes",
       LinkType::kLinuxSll2,
       Truncate(sll2_v6, 19),
       {"decode.sll2.truncated"},
       nothing},
      // PPP: a 2-byte protocol, a compressed 1-byte one, or either after ff 03.
      {"ppp ipv4", LinkType::kPpp, Cat({Bytes{0x00, 0x21}, ip4}), {}, v4_at(2)},
      {"ppp compressed ipv6", LinkType::kPpp, Cat({Bytes{0x57}, ip6}), {}, v6_at(1)},
      {"ppp hdlc ipv6", LinkType::kPpp, Cat({Bytes{0xff, 0x03, 0x00, 0x57}, ip6}), {}, v6_at(4)},
      {"ppp lcp", LinkType::kPpp, Bytes{0xc0, 0x21, 0x01, 0x01}, {}, non_ip(0, 0)},
      {"ppp empty", LinkType::kPpp, {}, {"decode.ppp.truncated"}, nothing},
      {"ppp 1 byte of 2",
       LinkType::kPpp,
       Bytes{0xff, 0x03, 0x00},
       {"decode.ppp.truncated"},
       nothing},
      {"unsupported link type",
       kUnknownLink,
       Cat({Eth(0x0800), ip4}),
       {"decode.link.unsupported"},
       nothing},
  });
}

// ---- VLAN tags ----

TEST(DecoderTest, VlanTags) {
  const Bytes ip4 = Ipv4(Udp({9, 9}), packet::kProtoUdp);
  auto tags = [&](int n, uint16_t inner) {
    Bytes b = Eth(0x88a8);
    for (int i = 1; i <= n; ++i) {
      const Bytes t = VlanTag(uint16_t(i), i == n ? inner : 0x8100);
      b.insert(b.end(), t.begin(), t.end());
    }
    return b;
  };
  auto expect = [](std::vector<uint16_t> ids, int l3) {
    return [ids, l3](const Packet& p, const DecodeStats& s) {
      ASSERT_EQ(p.vlan_count, ids.size());
      for (size_t i = 0; i < ids.size(); ++i) EXPECT_EQ(p.vlan_ids[i], ids[i]) << i;
      EXPECT_EQ(s.vlan, 1u);
      if (l3 < 0) {
        EXPECT_EQ(p.ip_version, 0);
      } else {
        EXPECT_EQ(p.ip_version, 4);
        EXPECT_EQ(p.l3_offset, l3);
        EXPECT_TRUE(p.has_udp);
        EXPECT_EQ(p.payload_len, 2u);
      }
    };
  };

  RunTable({
      {"802.1Q",
       LinkType::kEthernet,
       Cat({Eth(0x8100), VlanTag(100, 0x0800), ip4}),
       {},
       expect({100}, 18)},
      {"priority and DEI bits are not the id",
       LinkType::kEthernet,
       Cat({Eth(0x8100), VlanTag(0xf064, 0x0800), ip4}),
       {},
       expect({100}, 18)},
      {"id 4095",
       LinkType::kEthernet,
       Cat({Eth(0x8100), VlanTag(0x0fff, 0x0800), ip4}),
       {},
       expect({4095}, 18)},
      {"802.1ad then 802.1Q",
       LinkType::kEthernet,
       Cat({Eth(0x88a8), VlanTag(10, 0x8100), VlanTag(20, 0x0800), ip4}),
       {},
       expect({10, 20}, 22)},
      {"0x9100 then 802.1Q",
       LinkType::kEthernet,
       Cat({Eth(0x9100), VlanTag(30, 0x8100), VlanTag(40, 0x0800), ip4}),
       {},
       expect({30, 40}, 22)},
      {"802.1Q ipv6",
       LinkType::kEthernet,
       Cat({Eth(0x8100), VlanTag(5, 0x86dd), Ipv6(packet::kProtoUdp, Udp({9, 9}))}),
       {},
       [](const Packet& p, const DecodeStats&) {
         EXPECT_EQ(p.vlan_ids[0], 5);
         EXPECT_EQ(p.ip_version, 6);
         EXPECT_EQ(p.l3_offset, 18);
       }},
      {"three tags keep the outer two",
       LinkType::kEthernet,
       Cat({tags(3, 0x0800), ip4}),
       {"decode.vlan.ids_not_kept"},
       expect({1, 2}, 26)},
      {"eight tags are decoded",
       LinkType::kEthernet,
       Cat({tags(kMaxVlanTags, 0x0800), ip4}),
       {"decode.vlan.ids_not_kept"},
       expect({1, 2}, 14 + 4 * kMaxVlanTags)},
      {"nine tags are too deep",
       LinkType::kEthernet,
       Cat({tags(kMaxVlanTags + 1, 0x0800), ip4}),
       {"decode.vlan.ids_not_kept", "decode.vlan.too_deep"},
       expect({1, 2}, -1)},
      {"tag cut short",
       LinkType::kEthernet,
       Cat({Eth(0x8100), {0x00, 0x64}}),
       {"decode.vlan.truncated"},
       [](const Packet& p, const DecodeStats&) {
         EXPECT_EQ(p.vlan_count, 0);
         EXPECT_EQ(p.ip_version, 0);
       }},
      {"second tag cut short",
       LinkType::kEthernet,
       Cat({Eth(0x88a8), VlanTag(10, 0x8100), {0x00}}),
       {"decode.vlan.truncated"},
       [](const Packet& p, const DecodeStats&) {
         EXPECT_EQ(p.vlan_count, 1);
         EXPECT_EQ(p.vlan_ids[0], 10);
       }},
      {"vlan arp",
       LinkType::kEthernet,
       Cat({Eth(0x8100), VlanTag(3, 0x0806), Zeros(28)}),
       {},
       [](const Packet& p, const DecodeStats& s) {
         EXPECT_EQ(p.vlan_ids[0], 3);
         EXPECT_EQ(s.arp, 1u);
         EXPECT_EQ(s.other, 1u);
         EXPECT_EQ(s.vlan, 1u);
       }},
  });
}

// ---- IPv4 ----

TEST(DecoderTest, Ipv4) {
  const Bytes seg = Tcp(Text("abcd"));  // 24 bytes
  auto with = [&](const std::function<void(Ip4&)>& edit, const Bytes& payload) {
    Ip4 h;
    edit(h);
    return Cat({Eth(0x0800), Ipv4(h, payload)});
  };
  auto tcp_ok = [](uint16_t l4, uint32_t payload_len) {
    return [l4, payload_len](const Packet& p, const DecodeStats&) {
      EXPECT_EQ(p.ip_version, 4);
      EXPECT_TRUE(p.has_tcp);
      EXPECT_EQ(p.l4_offset, l4);
      EXPECT_EQ(p.payload_len, payload_len);
      EXPECT_EQ(p.payload, p.data + l4 + 20);
    };
  };
  auto not_ip = [](const Packet& p, const DecodeStats& s) {
    EXPECT_EQ(p.ip_version, 0);
    EXPECT_EQ(s.ipv4, 0u);
  };

  RunTable({
      {"tcp",
       LinkType::kEthernet,
       with([](Ip4&) {}, seg),
       {},
       [](const Packet& p, const DecodeStats& s) {
         EXPECT_EQ(p.ip_version, 4);
         EXPECT_EQ(p.l3_offset, 14);
         EXPECT_EQ(Ip(p.src_ip), "192.0.2.1");
         EXPECT_EQ(Ip(p.dst_ip), "198.51.100.2");
         EXPECT_EQ(p.ip_proto, packet::kProtoTcp);
         EXPECT_EQ(p.ttl, 64);
         EXPECT_EQ(p.ip_id, 0x1234u);
         EXPECT_FALSE(p.is_fragment);
         EXPECT_FALSE(p.ip_checksum_bad);
         EXPECT_TRUE(p.has_tcp);
         EXPECT_EQ(p.l4_offset, 34);
         ASSERT_EQ(p.payload_len, 4u);
         EXPECT_EQ(std::string(p.payload, p.payload + 4), "abcd");
         EXPECT_EQ(s.ipv4, 1u);
         EXPECT_EQ(s.tcp, 1u);
       }},
      {"tos ttl id",
       LinkType::kEthernet,
       with(
           [](Ip4& h) {
             h.tos = 0xb8;
             h.ttl = 3;
             h.id = 0xbeef;
           },
           seg),
       {},
       [](const Packet& p, const DecodeStats&) {
         EXPECT_EQ(p.tos, 0xb8);
         EXPECT_EQ(p.ttl, 3);
         EXPECT_EQ(p.ip_id, 0xbeefu);
       }},
      {"version 5",
       LinkType::kEthernet,
       with([](Ip4& h) { h.version = 5; }, seg),
       {"decode.ipv4.bad_version"},
       not_ip},
      {"ihl 4",
       LinkType::kEthernet,
       with([](Ip4& h) { h.ihl = 4; }, seg),
       {"decode.ipv4.bad_header_length"},
       not_ip},
      {"ihl 0",
       LinkType::kEthernet,
       with([](Ip4& h) { h.ihl = 0; }, seg),
       {"decode.ipv4.bad_header_length"},
       not_ip},
      {"ihl past the capture",
       LinkType::kEthernet,
       with([](Ip4& h) { h.ihl = 15; }, Zeros(8)),
       {"decode.ipv4.truncated"},
       not_ip},
      {"19-byte header",
       LinkType::kEthernet,
       Truncate(with([](Ip4&) {}, {}), 14 + 19),
       {"decode.ipv4.truncated"},
       not_ip},
      {"total length below header length",
       LinkType::kEthernet,
       with([](Ip4& h) { h.total = 19; }, seg),
       {"decode.ipv4.bad_total_length"},
       not_ip},
      {"total length past the capture",
       LinkType::kEthernet,
       with([](Ip4& h) { h.total = 20 + 24 + 10; }, seg),
       {"decode.ipv4.truncated"},
       tcp_ok(34, 4)},
      {"total length of header only",
       LinkType::kEthernet,
       with([](Ip4& h) { h.total = 20; }, seg),
       {"decode.tcp.truncated"},
       [](const Packet& p, const DecodeStats& s) {
         EXPECT_EQ(p.ip_version, 4);
         EXPECT_FALSE(p.has_tcp);
         EXPECT_EQ(s.ipv4, 1u);
       }},
      {"ethernet padding is not payload",
       LinkType::kEthernet,
       Cat({Eth(0x0800), Ipv4(Udp(Text("hi")), packet::kProtoUdp), Zeros(16)}),
       {},
       [](const Packet& p, const DecodeStats&) {
         EXPECT_EQ(p.caplen, 60u);
         EXPECT_TRUE(p.has_udp);
         ASSERT_EQ(p.payload_len, 2u);
         EXPECT_EQ(p.payload[0], 'h');
       }},
      {"padding after a bare tcp header",
       LinkType::kEthernet,
       Cat({Eth(0x0800), Ipv4(Tcp(), packet::kProtoTcp), {0xee, 0xee, 0xee, 0xee, 0xee, 0xee}}),
       {},
       tcp_ok(34, 0)},
      {"nop nop nop eol",
       LinkType::kEthernet,
       with(
           [](Ip4& h) {
             h.options = {1, 1, 1, 0};
           },
           seg),
       {},
       tcp_ok(38, 4)},
      {"record route",
       LinkType::kEthernet,
       with([](Ip4& h) { h.options = {7, 7, 4, 0, 0, 0, 0, 0}; }, seg),
       {},
       tcp_ok(42, 4)},
      {"junk after eol",
       LinkType::kEthernet,
       with(
           [](Ip4& h) {
             h.options = {0, 0xff, 0xff, 0xff};
           },
           seg),
       {},
       tcp_ok(38, 4)},
      {"option length 0",
       LinkType::kEthernet,
       with(
           [](Ip4& h) {
             h.options = {7, 0, 0, 0};
           },
           seg),
       {"decode.ipv4.bad_option"},
       tcp_ok(38, 4)},
      {"option length 1",
       LinkType::kEthernet,
       with(
           [](Ip4& h) {
             h.options = {1, 7, 1, 0};
           },
           seg),
       {"decode.ipv4.bad_option"},
       tcp_ok(38, 4)},
      {"option past the header",
       LinkType::kEthernet,
       with(
           [](Ip4& h) {
             h.options = {1, 7, 4, 0};
           },
           seg),
       {"decode.ipv4.bad_option"},
       tcp_ok(38, 4)},
      {"option without its length byte",
       LinkType::kEthernet,
       with(
           [](Ip4& h) {
             h.options = {1, 1, 1, 7};
           },
           seg),
       {"decode.ipv4.bad_option"},
       tcp_ok(38, 4)},
      {"bad checksum is counted, not dropped",
       LinkType::kEthernet,
       with([](Ip4& h) { h.good_checksum = false; }, seg),
       {"decode.ipv4.bad_checksum"},
       [](const Packet& p, const DecodeStats& s) {
         EXPECT_TRUE(p.ip_checksum_bad);
         EXPECT_TRUE(p.has_tcp);
         EXPECT_EQ(s.ipv4, 1u);
       }},
      {"bad checksum with options",
       LinkType::kEthernet,
       with(
           [](Ip4& h) {
             h.options = {1, 1, 1, 0};
             h.good_checksum = false;
           },
           seg),
       {"decode.ipv4.bad_checksum"},
       [](const Packet& p, const DecodeStats&) { EXPECT_TRUE(p.ip_checksum_bad); }},
      {"don't fragment only",
       LinkType::kEthernet,
       with([](Ip4& h) { h.flags_fragment = 0x4000; }, seg),
       {},
       [](const Packet& p, const DecodeStats& s) {
         EXPECT_FALSE(p.is_fragment);
         EXPECT_TRUE(p.has_tcp);
         EXPECT_EQ(s.fragments, 0u);
       }},
      {"first fragment decodes tcp",
       LinkType::kEthernet,
       with([](Ip4& h) { h.flags_fragment = 0x2000; }, seg),
       {},
       [](const Packet& p, const DecodeStats& s) {
         EXPECT_TRUE(p.is_fragment);
         EXPECT_TRUE(p.more_fragments);
         EXPECT_EQ(p.fragment_offset, 0);
         EXPECT_TRUE(p.has_tcp);
         EXPECT_EQ(s.fragments, 1u);
       }},
      {"first fragment: udp length covers the datagram",
       LinkType::kEthernet,
       Cat({Eth(0x0800), Ipv4(
                             [] {
                               Ip4 h;
                               h.proto = packet::kProtoUdp;
                               h.flags_fragment = 0x2000;
                               return h;
                             }(),
                             Udp(Zeros(8), 1000))}),
       {},
       [](const Packet& p, const DecodeStats&) {
         EXPECT_TRUE(p.has_udp);
         EXPECT_EQ(p.payload_len, 8u);
       }},
      {"middle fragment has no transport header",
       LinkType::kEthernet,
       with([](Ip4& h) { h.flags_fragment = 0x2000 | 185; }, seg),
       {},
       [](const Packet& p, const DecodeStats& s) {
         EXPECT_TRUE(p.is_fragment);
         EXPECT_TRUE(p.more_fragments);
         EXPECT_EQ(p.fragment_offset, 1480);
         EXPECT_EQ(p.ip_proto, packet::kProtoTcp);
         EXPECT_FALSE(p.has_tcp);
         EXPECT_EQ(p.l4_offset, 0);
         EXPECT_EQ(p.payload, p.data + 34);
         EXPECT_EQ(p.payload_len, 24u);
         EXPECT_EQ(s.tcp, 0u);
         EXPECT_EQ(s.fragments, 1u);
       }},
      {"last fragment",
       LinkType::kEthernet,
       with([](Ip4& h) { h.flags_fragment = 185; }, seg),
       {},
       [](const Packet& p, const DecodeStats&) {
         EXPECT_TRUE(p.is_fragment);
         EXPECT_FALSE(p.more_fragments);
         EXPECT_EQ(p.fragment_offset, 1480);
         EXPECT_FALSE(p.has_tcp);
       }},
      {"fragment past 65535 bytes",
       LinkType::kEthernet,
       with([](Ip4& h) { h.flags_fragment = 0x1fff; }, seg),
       {"decode.ipv4.fragment_too_large"},
       [](const Packet& p, const DecodeStats&) { EXPECT_EQ(p.fragment_offset, 65528); }},
      {"other protocol keeps its bytes as payload",
       LinkType::kEthernet,
       Cat({Eth(0x0800), Ipv4({0, 0, 0x08, 0x00, 1, 2, 3, 4}, 47)}),
       {},
       [](const Packet& p, const DecodeStats&) {
         EXPECT_EQ(p.ip_proto, 47);
         EXPECT_FALSE(p.has_tcp || p.has_udp || p.has_icmp);
         EXPECT_EQ(p.l4_offset, 34);
         EXPECT_EQ(p.payload, p.data + 34);
         EXPECT_EQ(p.payload_len, 8u);
       }},
  });
}

// A header copied from a textbook (its checksum 0xb861 computed elsewhere), so that the checksum
// check is not only compared against the test's own checksum code.
TEST(DecoderTest, Ipv4ChecksumOfKnownHeader) {
  Bytes frame = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                 0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
  const Bytes udp = Udp(Zeros(115 - 28));
  frame.insert(frame.end(), udp.begin(), udp.end());
  RunCase({"known good", LinkType::kIpv4, frame, {}, [](const Packet& p, const DecodeStats&) {
             EXPECT_FALSE(p.ip_checksum_bad);
             EXPECT_EQ(Ip(p.src_ip), "192.168.0.1");
             EXPECT_EQ(Ip(p.dst_ip), "192.168.0.199");
             EXPECT_FALSE(p.is_fragment);
             EXPECT_TRUE(p.has_udp);
             EXPECT_EQ(p.payload_len, 87u);
           }});
  for (size_t i : {1u, 8u, 10u, 11u, 19u}) {
    Bytes bad = frame;
    bad[i] ^= 0x10;
    RunCase({"flipped byte " + std::to_string(i),
             LinkType::kIpv4,
             bad,
             {"decode.ipv4.bad_checksum"},
             [](const Packet& p, const DecodeStats&) { EXPECT_TRUE(p.ip_checksum_bad); }});
  }
}

// ---- IPv6 and its extension headers ----

TEST(DecoderTest, Ipv6) {
  const uint8_t kTcp = packet::kProtoTcp, kUdp = packet::kProtoUdp;
  const Bytes seg = Tcp(Text("xyz"));  // 23 bytes
  auto eth6 = [](const Bytes& ip) { return Cat({Eth(0x86dd), ip}); };
  auto tcp_at = [](uint16_t l4) {
    return [l4](const Packet& p, const DecodeStats& s) {
      EXPECT_EQ(p.ip_version, 6);
      EXPECT_EQ(p.ip_proto, packet::kProtoTcp);
      EXPECT_TRUE(p.has_tcp);
      EXPECT_EQ(p.l4_offset, l4);
      ASSERT_EQ(p.payload_len, 3u);
      EXPECT_EQ(p.payload, p.data + l4 + 20);
      EXPECT_EQ(p.payload[0], 'x');
      EXPECT_EQ(s.ipv6, 1u);
    };
  };
  auto stopped_at = [](uint8_t proto) {
    return [proto](const Packet& p, const DecodeStats& s) {
      EXPECT_EQ(p.ip_version, 6);
      EXPECT_EQ(p.ip_proto, proto);
      EXPECT_FALSE(p.has_tcp || p.has_udp || p.has_icmp);
      EXPECT_EQ(p.l4_offset, 0);
      EXPECT_EQ(s.tcp, 0u);
    };
  };
  auto dest_chain = [&](int n) {
    Bytes b;
    for (int i = 0; i < n; ++i) {
      const Bytes e = Ext(i + 1 == n ? kTcp : kDest, 8);
      b.insert(b.end(), e.begin(), e.end());
    }
    b.insert(b.end(), seg.begin(), seg.end());
    return b;
  };

  RunTable({
      {"tcp",
       LinkType::kEthernet,
       eth6(Ipv6(kTcp, seg, -1, 0xb8, 7)),
       {},
       [&](const Packet& p, const DecodeStats& s) {
         tcp_at(54)(p, s);
         EXPECT_EQ(Ip(p.src_ip), "2001:db8::1");
         EXPECT_EQ(Ip(p.dst_ip), "2001:db8::2");
         EXPECT_EQ(p.tos, 0xb8);
         EXPECT_EQ(p.ttl, 7);
         EXPECT_FALSE(p.is_fragment);
       }},
      {"hop-by-hop, destination options, routing",
       LinkType::kEthernet,
       eth6(Ipv6(kHbh, Cat({Ext(kDest, 8), Ext(kRouting, 16), Ext(kTcp, 8), seg}))),
       {},
       tcp_at(54 + 32)},
      {"authentication header",
       LinkType::kEthernet,
       eth6(Ipv6(kAh, Cat({Ah(kTcp, 24), seg}))),
       {},
       tcp_at(54 + 24)},
      {"esp ends the chain",
       LinkType::kEthernet,
       eth6(Ipv6(kHbh, Cat({Ext(kEsp, 8), Zeros(16)}))),
       {},
       [](const Packet& p, const DecodeStats&) {
         EXPECT_EQ(p.ip_proto, kEsp);
         EXPECT_FALSE(p.has_tcp || p.has_udp || p.has_icmp);
         EXPECT_EQ(p.l4_offset, 62);
         EXPECT_EQ(p.payload_len, 16u);
       }},
      {"no next header",
       LinkType::kEthernet,
       eth6(Ipv6(kNone, {})),
       {},
       [](const Packet& p, const DecodeStats&) {
         EXPECT_EQ(p.ip_proto, kNone);
         EXPECT_EQ(p.payload_len, 0u);
       }},
      {"first fragment",
       LinkType::kEthernet,
       eth6(Ipv6(kFrag, Cat({FragmentHeader(kUdp, 0, true, 0xdeadbeef), Udp({1, 2, 3, 4}, 900)}))),
       {},
       [](const Packet& p, const DecodeStats& s) {
         EXPECT_TRUE(p.is_fragment);
         EXPECT_TRUE(p.more_fragments);
         EXPECT_EQ(p.fragment_offset, 0);
         EXPECT_EQ(p.ip_id, 0xdeadbeefu);
         EXPECT_EQ(p.ip_proto, packet::kProtoUdp);
         EXPECT_TRUE(p.has_udp);
         EXPECT_EQ(p.l4_offset, 62);
         EXPECT_EQ(p.payload_len, 4u);
         EXPECT_EQ(s.fragments, 1u);
       }},
      {"later fragment",
       LinkType::kEthernet,
       eth6(Ipv6(kHbh, Cat({Ext(kFrag, 8), FragmentHeader(kTcp, 1448, false, 7), Zeros(16)}))),
       {},
       [&](const Packet& p, const DecodeStats& s) {
         stopped_at(kTcp)(p, s);
         EXPECT_TRUE(p.is_fragment);
         EXPECT_FALSE(p.more_fragments);
         EXPECT_EQ(p.fragment_offset, 1448);
         EXPECT_EQ(p.ip_id, 7u);
         EXPECT_EQ(p.payload, p.data + 54 + 16);
         EXPECT_EQ(p.payload_len, 16u);
         EXPECT_EQ(s.fragments, 1u);
       }},
      {"atomic fragment is a whole packet",
       LinkType::kEthernet,
       eth6(Ipv6(kFrag, Cat({FragmentHeader(kTcp, 0, false, 99), seg}))),
       {},
       [&](const Packet& p, const DecodeStats& s) {
         tcp_at(62)(p, s);
         EXPECT_FALSE(p.is_fragment);
         EXPECT_EQ(p.ip_id, 99u);
         EXPECT_EQ(s.fragments, 0u);
       }},
      {"fragment past 65535 bytes",
       LinkType::kEthernet,
       eth6(Ipv6(kFrag, Cat({FragmentHeader(kTcp, 65528, false, 1), Zeros(16)}))),
       {"decode.ipv6.fragment_too_large"},
       stopped_at(kTcp)},
      {"duplicate fragment header",
       LinkType::kEthernet,
       eth6(Ipv6(kFrag, Cat({FragmentHeader(kFrag, 0, true, 1), FragmentHeader(kTcp, 800, false, 2),
                             seg}))),
       {"decode.ipv6.duplicate_fragment_header"},
       [&](const Packet& p, const DecodeStats& s) {
         tcp_at(70)(p, s);
         EXPECT_EQ(p.ip_id, 1u);
         EXPECT_EQ(p.fragment_offset, 0);
       }},
      {"eight extension headers",
       LinkType::kEthernet,
       eth6(Ipv6(kDest, dest_chain(kMaxIpv6ExtHeaders))),
       {},
       tcp_at(uint16_t(54 + 8 * kMaxIpv6ExtHeaders))},
      {"nine extension headers",
       LinkType::kEthernet,
       eth6(Ipv6(kDest, dest_chain(kMaxIpv6ExtHeaders + 1))),
       {"decode.ipv6.too_many_ext_headers"},
       stopped_at(kDest)},
      {"hop-by-hop not first",
       LinkType::kEthernet,
       eth6(Ipv6(kDest, Cat({Ext(kHbh, 8), Ext(kTcp, 8), seg}))),
       {"decode.ipv6.hop_by_hop_not_first"},
       tcp_at(70)},
      {"extension header past the capture",
       LinkType::kEthernet,
       eth6(Ipv6(kDest, Truncate(Ext(kTcp, 16), 8), 16)),
       {"decode.ipv6.truncated", "decode.ipv6.ext_header_truncated"},
       stopped_at(kDest)},
      {"extension header past the payload length",
       LinkType::kEthernet,
       eth6(Ipv6(kDest, Cat({Ext(kTcp, 16), seg}), 8)),
       {"decode.ipv6.ext_header_truncated"},
       stopped_at(kDest)},
      {"one byte of extension header",
       LinkType::kEthernet,
       eth6(Ipv6(kDest, {kTcp})),
       {"decode.ipv6.ext_header_truncated"},
       stopped_at(kDest)},
      {"fragment header cut short",
       LinkType::kEthernet,
       eth6(Ipv6(kFrag, Truncate(FragmentHeader(kTcp, 0, true, 1), 6))),
       {"decode.ipv6.ext_header_truncated"},
       stopped_at(kFrag)},
      {"version 4",
       LinkType::kEthernet,
       eth6([&] {
         Bytes b = Ipv6(kTcp, seg);
         b[0] = 0x40;
         return b;
       }()),
       {"decode.ipv6.bad_version"},
       [](const Packet& p, const DecodeStats&) { EXPECT_EQ(p.ip_version, 0); }},
      {"39-byte header",
       LinkType::kEthernet,
       eth6(Truncate(Ipv6(kTcp, {}), 39)),
       {"decode.ipv6.truncated"},
       [](const Packet& p, const DecodeStats&) { EXPECT_EQ(p.ip_version, 0); }},
      {"payload length past the capture",
       LinkType::kEthernet,
       eth6(Ipv6(kTcp, seg, int(seg.size()) + 20)),
       {"decode.ipv6.truncated"},
       tcp_at(54)},
      {"padding after the payload length",
       LinkType::kEthernet,
       Cat({eth6(Ipv6(kTcp, seg)), Zeros(10)}),
       {},
       tcp_at(54)},
      {"jumbogram runs to the end of the capture",
       LinkType::kEthernet,
       eth6(Ipv6(kHbh, Cat({{kTcp, 0, 0xc2, 4, 0, 1, 0, 0}, seg}), 0)),
       {"decode.ipv6.jumbogram"},
       tcp_at(62)},
      {"icmpv6 after destination options",
       LinkType::kEthernet,
       eth6(Ipv6(kDest, Cat({Ext(packet::kProtoIcmpv6, 8), Icmp(128, 0)}))),
       {},
       [](const Packet& p, const DecodeStats& s) {
         EXPECT_TRUE(p.has_icmp);
         EXPECT_EQ(p.ip_proto, packet::kProtoIcmpv6);
         EXPECT_EQ(p.icmp_type, 128);
         EXPECT_EQ(s.icmpv6, 1u);
       }},
  });
}

// ---- TCP ----

TEST(DecoderTest, Tcp) {
  auto frame = [](const Bytes& seg) { return Cat({Eth(0x0800), Ipv4(seg, packet::kProtoTcp)}); };
  auto decoded = [](uint32_t header_len, uint32_t payload_len) {
    return [header_len, payload_len](const Packet& p, const DecodeStats& s) {
      EXPECT_TRUE(p.has_tcp);
      EXPECT_EQ(p.l4_offset, 34);
      EXPECT_EQ(p.payload, p.data + 34 + header_len);
      EXPECT_EQ(p.payload_len, payload_len);
      EXPECT_EQ(s.tcp, 1u);
    };
  };
  auto not_decoded = [](const Packet& p, const DecodeStats& s) {
    EXPECT_EQ(p.ip_version, 4);
    EXPECT_FALSE(p.has_tcp);
    EXPECT_EQ(p.l4_offset, 0);
    EXPECT_EQ(p.payload_len, 0u);
    EXPECT_EQ(s.tcp, 0u);
  };
  const Bytes kSynOptions = {2, 4,  0x05, 0xb4,                    // MSS 1460
                             4, 2,                                 // SACK permitted
                             8, 10, 0,    0,    0, 1, 0, 0, 0, 0,  // timestamps
                             1,                                    // NOP
                             3, 3,  7};                            // window scale 7
  auto opt = [&](const Bytes& options) { return frame(TcpWithOptions(options, Text("P"))); };

  RunTable({
      {"syn-ack with the usual options",
       LinkType::kEthernet,
       frame(Tcp(
           [&] {
             TcpH h;
             h.flags = packet::kTcpSyn | packet::kTcpAck;
             h.options = kSynOptions;
             return h;
           }(),
           {})),
       {},
       [&](const Packet& p, const DecodeStats& s) {
         decoded(40, 0)(p, s);
         EXPECT_EQ(p.src_port, 1234);
         EXPECT_EQ(p.dst_port, 80);
         EXPECT_EQ(p.tcp_seq, 0x01020304u);
         EXPECT_EQ(p.tcp_ack, 0x0a0b0c0du);
         EXPECT_EQ(p.tcp_flags, packet::kTcpSyn | packet::kTcpAck);
         EXPECT_EQ(p.tcp_window, 0x7210);
       }},
      {"all flags",
       LinkType::kEthernet,
       frame(Tcp(
           [] {
             TcpH h;
             h.flags = 0xff;
             return h;
           }(),
           Text("data"))),
       {},
       [&](const Packet& p, const DecodeStats& s) {
         decoded(20, 4)(p, s);
         EXPECT_EQ(p.tcp_flags, 0xff);
       }},
      {"data offset 4",
       LinkType::kEthernet,
       frame(Tcp(
           [] {
             TcpH h;
             h.data_offset = 4;
             return h;
           }(),
           Text("data"))),
       {"decode.tcp.bad_data_offset"},
       not_decoded},
      {"data offset past the segment",
       LinkType::kEthernet,
       frame(Tcp(
           [] {
             TcpH h;
             h.data_offset = 15;
             return h;
           }(),
           Text("data"))),
       {"decode.tcp.bad_data_offset"},
       not_decoded},
      {"options cut by the capture",
       LinkType::kEthernet,
       frame(TcpWithOptions(kSynOptions, Text("data"))),
       {"decode.ipv4.truncated", "decode.tcp.truncated"},
       not_decoded,
       14 + 20 + 30},
      {"segment shorter than a header",
       LinkType::kEthernet,
       frame(Zeros(12)),
       {"decode.tcp.truncated"},
       not_decoded},
      {"nop and eol", LinkType::kEthernet, opt({1, 1, 1, 0}), {}, decoded(24, 1)},
      {"junk after eol", LinkType::kEthernet, opt({0, 2, 0xff, 0xff}), {}, decoded(24, 1)},
      {"unknown kind with a sane length",
       LinkType::kEthernet,
       opt({30, 4, 0, 0}),
       {},
       decoded(24, 1)},
      {"sack of one block",
       LinkType::kEthernet,
       opt({1, 1, 5, 10, 0, 0, 0, 1, 0, 0, 0, 2}),
       {},
       decoded(32, 1)},
      {"mss length 3",
       LinkType::kEthernet,
       opt({2, 3, 5, 0}),
       {"decode.tcp.bad_option_length"},
       decoded(24, 1)},
      {"window scale length 4",
       LinkType::kEthernet,
       opt({3, 4, 7, 0}),
       {"decode.tcp.bad_option_length"},
       decoded(24, 1)},
      {"sack permitted length 3",
       LinkType::kEthernet,
       opt({4, 3, 0, 0}),
       {"decode.tcp.bad_option_length"},
       decoded(24, 1)},
      {"sack length 12",
       LinkType::kEthernet,
       opt({5, 12, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0}),
       {"decode.tcp.bad_option_length"},
       decoded(32, 1)},
      {"sack length 2",
       LinkType::kEthernet,
       opt({5, 2, 0, 0}),
       {"decode.tcp.bad_option_length"},
       decoded(24, 1)},
      {"timestamp length 9",
       LinkType::kEthernet,
       opt({8, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}),
       {"decode.tcp.bad_option_length"},
       decoded(32, 1)},
      {"option length 0",
       LinkType::kEthernet,
       opt({30, 0, 0, 0}),
       {"decode.tcp.bad_option_length"},
       decoded(24, 1)},
      {"option length 1",
       LinkType::kEthernet,
       opt({30, 1, 0, 0}),
       {"decode.tcp.bad_option_length"},
       decoded(24, 1)},
      {"option past the header",
       LinkType::kEthernet,
       opt({1, 30, 4, 0}),
       {"decode.tcp.bad_option_length"},
       decoded(24, 1)},
      {"option without its length byte",
       LinkType::kEthernet,
       opt({1, 1, 1, 2}),
       {"decode.tcp.bad_option_length"},
       decoded(24, 1)},
      {"tcp over ipv6",
       LinkType::kIpv6,
       Ipv6(packet::kProtoTcp, Tcp(Text("q"))),
       {},
       [](const Packet& p, const DecodeStats&) {
         EXPECT_TRUE(p.has_tcp);
         EXPECT_EQ(p.l4_offset, 40);
         EXPECT_EQ(p.payload_len, 1u);
       }},
  });
}

// ---- UDP ----

TEST(DecoderTest, Udp) {
  auto frame = [](const Bytes& dgram) {
    return Cat({Eth(0x0800), Ipv4(dgram, packet::kProtoUdp)});
  };
  auto decoded = [](uint32_t payload_len) {
    return [payload_len](const Packet& p, const DecodeStats& s) {
      EXPECT_TRUE(p.has_udp);
      EXPECT_EQ(p.l4_offset, 34);
      EXPECT_EQ(p.src_port, 1000);
      EXPECT_EQ(p.dst_port, 53);
      EXPECT_EQ(p.payload, p.data + 42);
      EXPECT_EQ(p.payload_len, payload_len);
      EXPECT_EQ(s.udp, 1u);
    };
  };
  auto not_decoded = [](const Packet& p, const DecodeStats& s) {
    EXPECT_FALSE(p.has_udp);
    EXPECT_EQ(p.l4_offset, 0);
    EXPECT_EQ(s.udp, 0u);
  };
  const Bytes data = Text("0123456789");

  RunTable({
      {"datagram", LinkType::kEthernet, frame(Udp(data)), {}, decoded(10)},
      {"empty datagram", LinkType::kEthernet, frame(Udp({})), {}, decoded(0)},
      {"length 7",
       LinkType::kEthernet,
       frame(Udp(data, 7)),
       {"decode.udp.bad_length"},
       decoded(10)},
      {"length 0",
       LinkType::kEthernet,
       frame(Udp(data, 0)),
       {"decode.udp.bad_length"},
       decoded(10)},
      {"length past the ip payload",
       LinkType::kEthernet,
       frame(Udp(data, 8 + 11)),
       {"decode.udp.bad_length"},
       decoded(10)},
      {"length short of the ip payload",
       LinkType::kEthernet,
       frame(Udp(data, 8 + 6)),
       {"decode.udp.length_mismatch"},
       decoded(6)},
      {"header past the ip payload",
       LinkType::kEthernet,
       frame(Zeros(6)),
       {"decode.udp.truncated"},
       not_decoded},
      {"header cut by the capture",
       LinkType::kEthernet,
       frame(Udp(data)),
       {"decode.ipv4.truncated", "decode.udp.truncated"},
       not_decoded,
       14 + 20 + 7},
      {"payload cut by the capture",
       LinkType::kEthernet,
       frame(Udp(data)),
       {"decode.ipv4.truncated"},
       decoded(3),
       14 + 20 + 8 + 3},
      {"udp over ipv6",
       LinkType::kEthernet,
       Cat({Eth(0x86dd), Ipv6(packet::kProtoUdp, Udp(data))}),
       {},
       [](const Packet& p, const DecodeStats&) {
         EXPECT_TRUE(p.has_udp);
         EXPECT_EQ(p.payload_len, 10u);
       }},
      {"udp over ipv6, length mismatch",
       LinkType::kEthernet,
       Cat({Eth(0x86dd), Ipv6(packet::kProtoUdp, Udp(data, 12))}),
       {"decode.udp.length_mismatch"},
       [](const Packet& p, const DecodeStats&) { EXPECT_EQ(p.payload_len, 4u); }},
  });
}

// ---- ICMP and ICMPv6 ----

TEST(DecoderTest, Icmp) {
  RunTable({
      {"echo request",
       LinkType::kEthernet,
       Cat({Eth(0x0800), Ipv4(Icmp(8, 0, Text("ping")), packet::kProtoIcmp)}),
       {},
       [](const Packet& p, const DecodeStats& s) {
         EXPECT_TRUE(p.has_icmp);
         EXPECT_EQ(p.ip_proto, packet::kProtoIcmp);
         EXPECT_EQ(p.icmp_type, 8);
         EXPECT_EQ(p.icmp_code, 0);
         EXPECT_EQ(p.l4_offset, 34);
         EXPECT_EQ(p.payload_len, 4u);
         EXPECT_EQ(s.icmp, 1u);
         EXPECT_EQ(s.icmpv6, 0u);
       }},
      {"port unreachable",
       LinkType::kIpv4,
       Ipv4(Icmp(3, 3, Zeros(28)), packet::kProtoIcmp),
       {},
       [](const Packet& p, const DecodeStats&) {
         EXPECT_EQ(p.icmp_type, 3);
         EXPECT_EQ(p.icmp_code, 3);
         EXPECT_EQ(p.payload_len, 28u);
       }},
      {"icmp of 4 bytes",
       LinkType::kIpv4,
       Ipv4({8, 0, 0, 0}, packet::kProtoIcmp),
       {"decode.icmp.truncated"},
       [](const Packet& p, const DecodeStats& s) {
         EXPECT_FALSE(p.has_icmp);
         EXPECT_EQ(s.icmp, 0u);
       }},
      {"icmpv6 echo request",
       LinkType::kIpv6,
       Ipv6(packet::kProtoIcmpv6, Icmp(128, 0, Text("ping6"))),
       {},
       [](const Packet& p, const DecodeStats& s) {
         EXPECT_TRUE(p.has_icmp);
         EXPECT_EQ(p.ip_proto, packet::kProtoIcmpv6);
         EXPECT_EQ(p.icmp_type, 128);
         EXPECT_EQ(p.payload_len, 5u);
         EXPECT_EQ(s.icmpv6, 1u);
         EXPECT_EQ(s.icmp, 0u);
       }},
      {"icmpv6 of 7 bytes",
       LinkType::kIpv6,
       Ipv6(packet::kProtoIcmpv6, Zeros(7)),
       {"decode.icmpv6.truncated"},
       [](const Packet& p, const DecodeStats&) { EXPECT_FALSE(p.has_icmp); }},
  });
}

// ---- Truncation at every length ----

struct FullFrame {
  std::string name;
  LinkType link;
  Bytes frame;
};

std::vector<FullFrame> ValidFrames() {
  TcpH syn;
  syn.flags = packet::kTcpSyn;
  syn.options = {2, 4, 0x05, 0xb4, 1, 3, 3, 7, 4, 2, 0, 0};
  Ip4 with_options;
  with_options.options = {1, 1, 1, 0};
  return {
      {"ethernet ipv4 tcp", LinkType::kEthernet,
       Cat({Eth(0x0800), Ipv4(with_options, Tcp(syn, Text("0123456789")))})},
      {"ethernet qinq ipv6 hop-by-hop fragment udp", LinkType::kEthernet,
       Cat({Eth(0x88a8), VlanTag(1, 0x8100), VlanTag(2, 0x86dd),
            Ipv6(kHbh, Cat({Ext(kFrag, 8), FragmentHeader(packet::kProtoUdp, 0, true, 5),
                            Udp(Text("abcdef"), 500)}))})},
      {"sll ipv4 icmp", LinkType::kLinuxSll,
       Cat({{0, 0, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0x08, 0x00},
            Ipv4(Icmp(0, 0, Text("pong")), packet::kProtoIcmp)})},
      {"null ipv6 tcp", LinkType::kNull, Cat({{30, 0, 0, 0}, Ipv6(6, Tcp(Text("abc")))})},
      {"sll2 ipv4 udp", LinkType::kLinuxSll2,
       Cat({{0x08, 0x00, 0, 0, 0, 0, 0, 1, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0},
            Ipv4(Udp(Text("u")), packet::kProtoUdp)})},
      {"raw ipv4 middle fragment", LinkType::kRaw,
       Ipv4(
           [] {
             Ip4 h;
             h.flags_fragment = 0x2000 | 10;
             return h;
           }(),
           Zeros(24))},
  };
}

// ---- Tunnels ----

struct TunnelCase {
  std::string name;
  Bytes outer;  // an IPv4 packet (link type kIpv4)
  bool decoded;
  LinkType inner_link = LinkType::kRaw;
  uint32_t inner_at = 0;  // where the inner packet starts in the outer's IP payload
  std::vector<std::string> anomalies;
  uint8_t inner_proto = packet::kProtoUdp;
};

Bytes Gre(uint16_t flags, uint16_t proto, const Bytes& fields, const Bytes& payload) {
  Bytes b;
  Put16(b, flags);
  Put16(b, proto);
  return Cat({b, fields, payload});
}

TEST(DecoderTest, Tunnels) {
  const Bytes udp = Ipv4(Udp(Text("inner")), packet::kProtoUdp);
  const Bytes udp6 = Ipv6(packet::kProtoUdp, Udp(Text("inner")));
  const Bytes ppp_udp = Cat({Bytes{0xff, 0x03, 0x00, 0x21}, udp});
  const Bytes eth_udp = Cat({Eth(0x0800), udp});
  const uint8_t kGre = 47;
  std::vector<TunnelCase> cases = {
      {"ip in ip", Ipv4(udp, packet::kProtoIpip), true, LinkType::kRaw, 0},
      {"ipv6 in ip", Ipv4(udp6, packet::kProtoIpv6), true, LinkType::kRaw, 0},
      {"gre ipv4", Ipv4(Gre(0, 0x0800, {}, udp), kGre), true, LinkType::kRaw, 4},
      {"gre ipv6", Ipv4(Gre(0, 0x86dd, {}, udp6), kGre), true, LinkType::kRaw, 4},
      {"gre ethernet", Ipv4(Gre(0, 0x6558, {}, eth_udp), kGre), true, LinkType::kEthernet, 4},
      {"gre ppp compressed", Ipv4(Gre(0, 0x880b, {}, Cat({Bytes{0x21}, udp})), kGre), true,
       LinkType::kPpp, 4},
      {"gre checksum key sequence", Ipv4(Gre(0xb000, 0x0800, Bytes(12, 0x5a), udp), kGre), true,
       LinkType::kRaw, 16},
      {"gre source route entries",
       Ipv4(Gre(0x4000, 0x0800,
                Cat({Bytes(4, 0), Bytes{0x08, 0x00, 0x00, 0x04, 1, 2, 3, 4}, Bytes{0, 0, 0, 0}}),
                udp),
            kGre),
       true, LinkType::kRaw, 20},
      {"pptp data", Ipv4(Gre(0x3081, 0x880b, Bytes(12, 0x11), ppp_udp), kGre), true, LinkType::kPpp,
       16},
      {"pptp ack only", Ipv4(Gre(0x2081, 0x880b, Bytes(8, 0x11), {}), kGre), false},
      {"pptp without key",
       Ipv4(Gre(0x1001, 0x880b, Bytes(4, 0), ppp_udp), kGre),
       false,
       LinkType::kRaw,
       0,
       {"decode.gre.bad_flags"}},
      {"pptp not ppp",
       Ipv4(Gre(0x2001, 0x0800, Bytes(4, 0), udp), kGre),
       false,
       LinkType::kRaw,
       0,
       {"decode.gre.bad_flags"}},
      {"gre recursion",
       Ipv4(Gre(0x0100, 0x0800, {}, udp), kGre),
       false,
       LinkType::kRaw,
       0,
       {"decode.gre.bad_flags"}},
      {"gre version 2",
       Ipv4(Gre(0x0002, 0x0800, {}, udp), kGre),
       false,
       LinkType::kRaw,
       0,
       {"decode.gre.bad_version"}},
      {"gre unknown protocol",
       Ipv4(Gre(0, 0x88be, {}, udp), kGre),
       false,
       LinkType::kRaw,
       0,
       {"decode.gre.unsupported_protocol"}},
      {"gre short header",
       Ipv4(Bytes{0x00, 0x00, 0x08}, kGre),
       false,
       LinkType::kRaw,
       0,
       {"decode.gre.truncated"}},
      {"gre key past the end",
       Ipv4(Gre(0x2000, 0x0800, Bytes{1, 2}, {}), kGre),
       false,
       LinkType::kRaw,
       0,
       {"decode.gre.truncated"}},
      {"gre routing never ends",
       Ipv4(Gre(0x4000, 0x0800, Cat({Bytes(4, 0), Bytes{8, 0, 0, 2}}), {}), kGre),
       false,
       LinkType::kRaw,
       0,
       {"decode.gre.truncated"}},
      {"udp is no tunnel", udp, false},
  };
  for (const TunnelCase& c : cases) {
    SCOPED_TRACE(c.name);
    Bytes buf = c.outer;
    Packet outer;
    outer.data = buf.data();
    outer.caplen = outer.wirelen = uint32_t(buf.size());
    outer.linktype = LinkType::kIpv4;
    outer.number = 7;
    Decoder first;
    first.Decode(outer);
    ASSERT_EQ(outer.ip_version, 4);
    Decoder tunnels;
    Packet inner;
    bool decoded = tunnels.DecodeTunnel(outer, inner);
    EXPECT_EQ(decoded, c.decoded);
    std::vector<std::string> got = MovedAnomalies(tunnels.stats());
    EXPECT_EQ(got, c.anomalies);
    if (!decoded || !c.decoded) continue;
    ExpectInvariants(inner);
    EXPECT_EQ(inner.outer, &outer);
    EXPECT_EQ(inner.number, 7u);
    EXPECT_EQ(inner.linktype, c.inner_link);
    EXPECT_EQ(inner.data, outer.payload + c.inner_at);
    EXPECT_TRUE(inner.has_udp);
    ASSERT_EQ(inner.payload_len, 5u);
    EXPECT_EQ(std::string(inner.payload, inner.payload + 5), "inner");
    EXPECT_EQ(tunnels.stats().gre, outer.ip_proto == kGre ? 1u : 0u);
    // Cut short anywhere, the tunnel decodes within the bytes there are (a sanitizer sees any
    // overread: the buffer is exactly that long).
    for (size_t len = 20; len < buf.size(); ++len) {
      Bytes cut(buf.begin(), buf.begin() + len);
      Packet o;
      o.data = cut.data();
      o.caplen = o.wirelen = uint32_t(len);
      o.linktype = LinkType::kIpv4;
      first.Decode(o);
      Packet in;
      if (tunnels.DecodeTunnel(o, in)) ExpectInvariants(in);
    }
  }
}

TEST(DecoderTest, TruncationAtEveryLength) {
  for (const FullFrame& f : ValidFrames()) {
    SCOPED_TRACE(f.name);
    for (size_t caplen = 0; caplen <= f.frame.size(); ++caplen) {
      SCOPED_TRACE(caplen);
      Bytes buf(f.frame.begin(), f.frame.begin() + caplen);  // exactly caplen bytes
      Packet p;
      p.data = buf.data();
      p.caplen = uint32_t(caplen);
      p.wirelen = uint32_t(f.frame.size());
      p.linktype = f.link;
      Decoder decoder;
      decoder.Decode(p);
      ExpectInvariants(p);
      if (p.payload_len > 0) {
        EXPECT_LE(p.payload + p.payload_len, buf.data() + caplen);
      }
      if (caplen < f.frame.size()) {
        EXPECT_GT(decoder.stats().TotalAnomalies(), 0u) << "a cut frame must move a counter";
      } else {
        EXPECT_EQ(MovedAnomalies(decoder.stats()), std::vector<std::string>{});
        EXPECT_NE(p.ip_version, 0);
        EXPECT_EQ(p.payload + p.payload_len, p.data + caplen) << "payload runs to the end";
      }
    }
  }
}

// Mutations of valid frames, each decoded from a buffer of exactly its length: whatever the
// bytes, the invariants hold (the fuzzer does the same under AddressSanitizer).
TEST(DecoderTest, MutatedFramesKeepInvariants) {
  std::mt19937 rng(12345);
  Decoder decoder;
  const std::vector<FullFrame> frames = ValidFrames();
  const LinkType kLinks[] = {LinkType::kEthernet, LinkType::kNull,      LinkType::kLoop,
                             LinkType::kRaw,      LinkType::kIpv4,      LinkType::kIpv6,
                             LinkType::kLinuxSll, LinkType::kLinuxSll2, LinkType::kPpp};
  for (int i = 0; i < 20000; ++i) {
    const FullFrame& f = frames[rng() % frames.size()];
    Bytes buf = f.frame;
    const int flips = 1 + int(rng() % 4);
    for (int k = 0; k < flips; ++k) buf[rng() % buf.size()] = uint8_t(rng());
    buf.resize(rng() % (buf.size() + 1));
    Packet p;
    p.data = buf.data();
    p.caplen = uint32_t(buf.size());
    p.linktype = (rng() % 4 == 0) ? kLinks[rng() % std::size(kLinks)] : f.link;
    decoder.Decode(p);
    ExpectInvariants(p);
    if (testing::Test::HasFailure()) {
      ADD_FAILURE() << "iteration " << i << " frame " << f.name;
      break;
    }
  }
  EXPECT_EQ(decoder.stats().packets, 20000u);
}

// ---- Batches, reuse and the stats interface ----

TEST(DecoderTest, DecodeBatchDecodesEveryPacketAndResetsOldFields) {
  const Bytes tcp = Cat({Eth(0x0800), Ipv4(Tcp(Text("x")), packet::kProtoTcp)});
  const Bytes arp = Cat({Eth(0x0806), Zeros(28)});
  packet::Batch batch;
  batch.Append(tcp.data(), uint32_t(tcp.size()));
  batch.Append(arp.data(), uint32_t(arp.size()));
  batch.Append(tcp.data(), uint32_t(tcp.size()));
  Decoder decoder;
  decoder.DecodeBatch(batch);
  EXPECT_TRUE(batch[0].has_tcp);
  EXPECT_EQ(batch[1].ip_version, 0);
  EXPECT_TRUE(batch[2].has_tcp);
  EXPECT_EQ(decoder.stats().packets, 3u);
  EXPECT_EQ(decoder.stats().tcp, 2u);
  EXPECT_EQ(decoder.stats().arp, 1u);
  EXPECT_EQ(decoder.stats().bytes, 2 * tcp.size() + arp.size());

  // The same packet object now holds an ARP frame: nothing of the TCP decode may remain.
  Packet& p = batch[0];
  p.data = batch[1].data;
  p.caplen = batch[1].caplen;
  decoder.Decode(p);
  EXPECT_EQ(p.ip_version, 0);
  EXPECT_FALSE(p.has_tcp);
  EXPECT_EQ(p.payload, nullptr);
  EXPECT_EQ(p.src_port, 0);
  EXPECT_EQ(p.src_ip.family, 0);
}

TEST(DecodeStatsTest, NamesAreUniqueAndPrefixed) {
  DecodeStats stats;
  std::set<std::string> names;
  size_t n = 0;
  stats.ForEach([&](std::string_view name, uint64_t value) {
    EXPECT_TRUE(name.starts_with("decode.")) << name;
    EXPECT_EQ(value, 0u);
    names.emplace(name);
    ++n;
  });
  EXPECT_EQ(names.size(), n);
  EXPECT_GT(n, kAnomalyCount);
  EXPECT_TRUE(names.contains("decode.packets"));
  EXPECT_TRUE(names.contains("decode.ipv4.bad_checksum"));
  EXPECT_EQ(AnomalyName(Anomaly::kIpv4BadChecksum), "decode.ipv4.bad_checksum");
  EXPECT_EQ(AnomalyName(Anomaly::kVlanTooDeep), "decode.vlan.too_deep");
  EXPECT_EQ(AnomalyName(static_cast<Anomaly>(kAnomalyCount)), "");
}

TEST(DecodeStatsTest, FindAndMerge) {
  Decoder decoder;
  const Bytes bad = Cat({Eth(0x0800), Ipv4(
                                          [] {
                                            Ip4 h;
                                            h.good_checksum = false;
                                            return h;
                                          }(),
                                          Tcp())});
  Packet p;
  p.data = bad.data();
  p.caplen = uint32_t(bad.size());
  decoder.Decode(p);
  decoder.Decode(p);
  const DecodeStats& s = decoder.stats();
  EXPECT_EQ(s.Find("decode.ipv4.bad_checksum"), 2u);
  EXPECT_EQ(s.Find("decode.packets"), 2u);
  EXPECT_EQ(s.Find("decode.tcp"), 2u);
  EXPECT_EQ(s.Find("decode.no_such_counter"), std::nullopt);
  EXPECT_EQ(s.anomaly(Anomaly::kIpv4BadChecksum), 2u);
  EXPECT_EQ(s.TotalAnomalies(), 2u);

  DecodeStats sum = s;
  sum += s;
  EXPECT_EQ(sum.packets, 4u);
  EXPECT_EQ(sum.anomaly(Anomaly::kIpv4BadChecksum), 4u);
  EXPECT_EQ(sum.bytes, 4 * bad.size());
}

}  // namespace
}  // namespace vigil::decode

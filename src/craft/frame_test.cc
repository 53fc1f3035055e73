#include "craft/frame.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "craft/craft_test_util.h"

namespace vigil::craft {
namespace {

using testing::Be16;
using testing::Dissect;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::OnesSum;

Bytes Pattern(size_t n) {
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(i * 13 + 5);
  return b;
}

TEST(FrameTest, Ipv4HeaderChecksumMatchesAKnownHeader) {
  // The worked example of an IPv4 header checksum: 4500 0073 0000 4000 4011 [b861] c0a8 0001
  // c0a8 00c7 (a UDP datagram of 115 bytes total from 192.168.0.1 to 192.168.0.199).
  Bytes frame = BuildFrame({
      .ethernet = std::nullopt,
      .ip = {.src = Addr("192.168.0.1"), .dst = Addr("192.168.0.199"), .dont_fragment = true},
      .transport = UdpHeader{.src_port = 1, .dst_port = 2},
      .payload = Bytes(115 - 28, 0),
  });
  const Bytes want = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                      0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
  EXPECT_EQ(Bytes(frame.begin(), frame.begin() + 20), want);
}

struct ChecksumCase {
  std::string name;
  FrameSpec spec;
};

std::vector<ChecksumCase> ChecksumCases() {
  const auto v4a = Addr("10.1.2.3"), v4b = Addr("172.16.254.9");
  const auto v6a = Addr("2001:db8::1"), v6b = Addr("fe80::1234:5678:9abc:def0");
  return {
      {"Ipv4Tcp",
       {.ip = {.src = v4a, .dst = v4b, .ttl = 3, .tos = 0x10, .id = 77},
        .transport = TcpHeader{.src_port = 1234,
                               .dst_port = 80,
                               .seq = 0xdeadbeef,
                               .ack = 0x01020304,
                               .flags = packet::kTcpPsh | packet::kTcpAck,
                               .options = {2, 4, 5, 0xb4, 1, 3, 3}},  // MSS, NOP, window scale
        .payload = ToBytes("GET / HTTP/1.1\r\n\r\n!")}},              // odd length
      {"Ipv4UdpWithOptionsAndTwoVlans",
       {.ethernet = EthernetHeader{.vlans = {{.id = 10, .priority = 5, .tpid = kEtherTypeQinQ},
                                             {.id = 4094, .priority = 0}}},
        .ip = {.src = v4a, .dst = v4b, .options = {0x94, 0x04, 0, 0, 1}},  // router alert, NOP
        .transport = UdpHeader{.src_port = 53, .dst_port = 33333},
        .payload = Pattern(301)}},
      {"Ipv4IcmpEcho",
       {.ip = {.src = v4b, .dst = v4a},
        .transport = IcmpHeader{.type = 8, .code = 0, .id = 0x4242, .seq = 7},
        .payload = Pattern(56)}},
      {"Ipv6Tcp",
       {.ip = {.src = v6a, .dst = v6b, .ttl = 255, .tos = 0xb8, .flow_label = 0xabcde},
        .transport = TcpHeader{.src_port = 443, .dst_port = 50000, .flags = packet::kTcpSyn},
        .payload = {}}},
      {"Ipv6UdpBehindExtensionHeaders",
       {.ethernet = EthernetHeader{.vlans = {{.id = 3}}},
        .ip = {.src = v6a,
               .dst = v6b,
               .extensions = {HopByHop({5, 2, 0, 0}),  // router alert option
                              Routing(0, 0, {v6b}), DestinationOptions()}},
        .transport = UdpHeader{.src_port = 5353, .dst_port = 5353},
        .payload = Pattern(77)}},
      {"Icmpv6EchoReply",
       {.ip = {.src = v6b, .dst = v6a},
        .transport = IcmpHeader{.type = 129, .code = 0, .id = 1, .seq = 2},
        .payload = Pattern(33)}},
      {"BareIpv4Udp",
       {.ethernet = std::nullopt,
        .ip = {.src = v4a, .dst = v4b},
        .transport = UdpHeader{.src_port = 9, .dst_port = 9},
        .payload = Pattern(1)}},
  };
}

TEST(FrameTest, EveryChecksumAndLengthIsRight) {
  for (const ChecksumCase& c : ChecksumCases()) {
    SCOPED_TRACE(c.name);
    Bytes frame = BuildFrame(c.spec);
    auto d = Dissect(frame, c.spec.ethernet.has_value());
    ASSERT_TRUE(d);
    const bool v6 = c.spec.ip.src.is_v6();
    EXPECT_EQ(d->version, v6 ? 6 : 4);
    if (c.spec.ethernet) {
      EXPECT_EQ(d->ethertype, v6 ? 0x86dd : 0x0800);
    }
    EXPECT_EQ(d->ip_end, frame.size());  // the IP length covers exactly the rest of the frame
    if (!v6) {
      EXPECT_TRUE(d->ip_checksum_ok);
    }
    EXPECT_TRUE(d->l4_checksum_ok);
    EXPECT_EQ(d->payload, c.spec.payload);
    EXPECT_EQ(d->ttl, c.spec.ip.ttl);
  }
}

TEST(FrameTest, LayersCarryTheirFields) {
  auto cases = ChecksumCases();
  Bytes tcp4 = BuildFrame(cases[0].spec);
  auto d = Dissect(tcp4);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->protocol, 6);
  EXPECT_EQ(d->ip_id, 77);
  EXPECT_EQ(tcp4[15], 0x10);  // TOS
  EXPECT_EQ(d->src_port, 1234);
  EXPECT_EQ(d->dst_port, 80);
  EXPECT_EQ(d->seq, 0xdeadbeefu);
  EXPECT_EQ(d->ack, 0x01020304u);
  EXPECT_EQ(d->tcp_flags, packet::kTcpPsh | packet::kTcpAck);
  EXPECT_EQ(tcp4[14 + 20 + 12] >> 4, 7);  // 20 + 8 option bytes (7 padded to 8) = 7 words
  EXPECT_EQ(Bytes(tcp4.begin(), tcp4.begin() + 12),
            (Bytes{2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1}));  // dst MAC, then src MAC

  Bytes vlan = BuildFrame(cases[1].spec);
  d = Dissect(vlan);
  ASSERT_TRUE(d);
  EXPECT_THAT(d->vlan_tpids, ElementsAre(0x88a8, 0x8100));
  EXPECT_THAT(d->vlan_tcis, ElementsAre(5 << 13 | 10, 4094));
  EXPECT_EQ(d->ip_header_len, 28u);  // 5 option bytes padded to 8

  Bytes ext = BuildFrame(cases[4].spec);
  d = Dissect(ext);
  ASSERT_TRUE(d);
  EXPECT_THAT(d->extension_chain, ElementsAre(0, 43, 60));
  EXPECT_EQ(d->protocol, 17);
  // 8 (hop-by-hop) + 24 (routing: 6 + 16, padded) + 8 (destination options) + 8 + 77.
  EXPECT_EQ(d->payload_length, 8 + 24 + 8 + 8 + 77);

  Bytes v6 = BuildFrame(cases[3].spec);
  EXPECT_EQ(testing::Be32(&v6[14]), 6u << 28 | 0xb8u << 20 | 0xabcde);
}

TEST(FrameTest, ChecksumOverridesBreakTheSum) {
  FrameSpec spec = ChecksumCases()[0].spec;
  spec.ip.checksum = 0x1234;
  std::get<TcpHeader>(spec.transport).checksum = 0x5678;
  auto d = Dissect(BuildFrame(spec));
  ASSERT_TRUE(d);
  EXPECT_FALSE(d->ip_checksum_ok);
  EXPECT_FALSE(d->l4_checksum_ok);
}

TEST(FrameTest, PaddingToTheEthernetMinimumKeepsTheIpLength) {
  Bytes frame = BuildFrame({
      .ethernet = EthernetHeader{.pad_to_minimum = true},
      .ip = {.src = Addr("10.0.0.1"), .dst = Addr("10.0.0.2")},
      .transport = TcpHeader{.src_port = 1, .dst_port = 2, .flags = packet::kTcpRst},
  });
  EXPECT_EQ(frame.size(), 60u);
  auto d = Dissect(frame);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->total_length, 40);
  EXPECT_TRUE(d->l4_checksum_ok);
}

TEST(FrameTest, HelpersBuildUdpAndIcmpEcho) {
  Bytes udp = UdpFrame({Addr("10.0.0.1"), 5000}, {Addr("10.0.0.53"), 53}, ToBytes("q"));
  auto d = Dissect(udp);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->dst_port, 53);
  EXPECT_TRUE(d->l4_checksum_ok);
  EXPECT_EQ(d->payload, ToBytes("q"));

  for (bool reply : {false, true}) {
    Bytes v4 = IcmpEchoFrame(Addr("10.0.0.1"), Addr("10.0.0.2"), reply, 1, 2, Pattern(8));
    Bytes v6 = IcmpEchoFrame(Addr("::1"), Addr("::2"), reply, 1, 2, {}, std::nullopt);
    auto d4 = Dissect(v4);
    auto d6 = Dissect(v6, /*ethernet=*/false);
    ASSERT_TRUE(d4 && d6);
    EXPECT_EQ(d4->protocol, 1);
    EXPECT_EQ(d4->icmp_type, reply ? 0 : 8);
    EXPECT_EQ(d6->protocol, 58);
    EXPECT_EQ(d6->icmp_type, reply ? 129 : 128);
    EXPECT_TRUE(d4->l4_checksum_ok);
    EXPECT_TRUE(d6->l4_checksum_ok);
  }
}

// Reassembles fragments by offset (the way a receiver would) and checks each fragment's header.
Bytes Reassemble(const std::vector<Bytes>& fragments, bool ethernet = true) {
  std::map<uint32_t, Bytes> pieces;
  uint32_t end = 0;
  bool saw_last = false;
  for (const Bytes& f : fragments) {
    auto d = Dissect(f, ethernet);
    EXPECT_TRUE(d);
    if (!d) return {};
    if (d->version == 4) {
      EXPECT_TRUE(d->ip_checksum_ok);
    }
    size_t data_at = d->version == 4 ? d->l3 + d->ip_header_len : *d->fragment_header + 8;
    Bytes data(f.begin() + data_at, f.begin() + d->ip_end);
    if (d->more_fragments) {
      EXPECT_EQ(data.size() % 8, 0u);
    }
    if (!d->more_fragments) saw_last = true;
    end = std::max<uint32_t>(end, d->fragment_offset + data.size());
    pieces[d->fragment_offset] = data;
  }
  EXPECT_TRUE(saw_last);
  Bytes whole(end, 0);
  uint32_t covered = 0;
  for (auto& [offset, data] : pieces) {
    EXPECT_EQ(offset, covered);  // no gap, no overlap
    std::copy(data.begin(), data.end(), whole.begin() + offset);
    covered = offset + static_cast<uint32_t>(data.size());
  }
  return whole;
}

TEST(FragmentTest, Ipv4FragmentsReassembleToTheOriginalPayload) {
  Bytes frame = BuildFrame({
      .ethernet = EthernetHeader{.vlans = {{.id = 7}}},
      .ip = {.src = Addr("10.0.0.1"),
             .dst = Addr("10.0.0.2"),
             .id = 0x5151,
             .dont_fragment = true,
             .options = {1, 1, 1, 1}},
      .transport = UdpHeader{.src_port = 1, .dst_port = 2},
      .payload = Pattern(1000),
  });
  auto original = Dissect(frame);
  ASSERT_TRUE(original);
  Bytes ip_payload(frame.begin() + original->l4, frame.end());

  auto fragments = Fragment(frame, 300);  // 296 per fragment: 1008 = 296 * 3 + 120
  ASSERT_TRUE(fragments) << fragments.error().ToString();
  ASSERT_EQ(fragments->size(), 4u);
  std::vector<uint32_t> offsets;
  for (const Bytes& f : *fragments) {
    auto d = Dissect(f);
    ASSERT_TRUE(d);
    offsets.push_back(d->fragment_offset);
    EXPECT_EQ(d->ip_id, 0x5151);
    EXPECT_FALSE(d->dont_fragment);
    EXPECT_EQ(d->ip_header_len, 24u);  // options repeated
    EXPECT_EQ(d->vlan_tcis, std::vector<uint16_t>{7});
    EXPECT_EQ(d->ip_end, f.size());
  }
  EXPECT_THAT(offsets, ElementsAre(0, 296, 592, 888));
  EXPECT_EQ(Reassemble(*fragments), ip_payload);
}

TEST(FragmentTest, FragmentingAFragmentKeepsItsOffsetAndMoreFlag) {
  Bytes frame = BuildFrame({
      .ethernet = std::nullopt,
      .ip = {.src = Addr("10.0.0.1"),
             .dst = Addr("10.0.0.2"),
             .more_fragments = true,
             .fragment_offset = 800,
             .protocol = 17},
      .payload = Pattern(64),
  });
  auto fragments = Fragment(frame, 24, packet::LinkType::kRaw);
  ASSERT_TRUE(fragments) << fragments.error().ToString();
  ASSERT_EQ(fragments->size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    auto d = Dissect((*fragments)[i], false);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->fragment_offset, 800 + 24 * i);
    EXPECT_TRUE(d->more_fragments);  // the original was not the last fragment either
  }
}

TEST(FragmentTest, Ipv6FragmentsRepeatTheUnfragmentablePart) {
  const auto src = Addr("2001:db8::10"), dst = Addr("2001:db8::20");
  Bytes frame = BuildFrame({
      .ip = {.src = src,
             .dst = dst,
             .extensions = {HopByHop(), Routing(0, 0, {dst}), DestinationOptions()}},
      .transport = TcpHeader{.src_port = 1, .dst_port = 2, .flags = packet::kTcpAck},
      .payload = Pattern(500),
  });
  auto original = Dissect(frame);
  ASSERT_TRUE(original);
  ASSERT_TRUE(original->l4_checksum_ok);
  // The fragmentable part starts at the destination options header after routing.
  const size_t fragmentable_at = 14 + 40 + 8 + 24;
  Bytes fragmentable(frame.begin() + fragmentable_at, frame.end());

  auto fragments = Fragment(frame, 200, packet::LinkType::kEthernet, 0xabcdef01);
  ASSERT_TRUE(fragments) << fragments.error().ToString();
  ASSERT_EQ(fragments->size(), 3u);  // 8 + 20 + 500 = 528 = 200 + 200 + 128
  for (const Bytes& f : *fragments) {
    auto d = Dissect(f);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->fragment_id, 0xabcdef01u);
    EXPECT_EQ(d->ip_end, f.size());
    ASSERT_GE(d->extension_chain.size(), 3u);
    EXPECT_EQ(d->extension_chain[0], 0);
    EXPECT_EQ(d->extension_chain[1], 43);
    EXPECT_EQ(d->extension_chain[2], 44);
    EXPECT_EQ(f[*d->fragment_header], 60);  // the fragment header names what was cut up
    EXPECT_EQ(Bytes(f.begin(), f.begin() + 14 + 4), Bytes(frame.begin(), frame.begin() + 18));
  }
  EXPECT_EQ(Reassemble(*fragments), fragmentable);
}

TEST(FragmentTest, BareIpv6WithoutExtensions) {
  Bytes frame = UdpFrame({Addr("::1"), 1}, {Addr("::2"), 2}, Pattern(100), std::nullopt);
  auto fragments = Fragment(frame, 48, packet::LinkType::kIpv6);
  ASSERT_TRUE(fragments) << fragments.error().ToString();
  EXPECT_EQ(fragments->size(), 3u);  // 108 = 48 + 48 + 12
  EXPECT_EQ(Reassemble(*fragments, false), Bytes(frame.begin() + 40, frame.end()));
  auto first = Dissect(fragments->front(), false);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->payload_length, 8 + 48);
}

TEST(FragmentTest, SmallPacketComesBackUnchanged) {
  Bytes frame = UdpFrame({Addr("10.0.0.1"), 1}, {Addr("10.0.0.2"), 2}, Pattern(10));
  auto fragments = Fragment(frame, 1400);
  ASSERT_TRUE(fragments);
  ASSERT_EQ(fragments->size(), 1u);
  EXPECT_EQ(fragments->front(), frame);
}

TEST(FragmentTest, BadInputIsAnErrorNotACrash) {
  Bytes good = UdpFrame({Addr("10.0.0.1"), 1}, {Addr("10.0.0.2"), 2}, Pattern(100));
  EXPECT_THAT(Fragment(good, 7).error().message, HasSubstr("at least 8"));
  EXPECT_FALSE(Fragment(Bytes(good.begin(), good.begin() + 20), 16));
  EXPECT_FALSE(Fragment(Bytes(good.begin(), good.end() - 1), 16));  // IP length beyond frame
  EXPECT_FALSE(Fragment(Bytes{}, 16, packet::LinkType::kRaw));
  EXPECT_FALSE(Fragment(good, 16, packet::LinkType::kLinuxSll));
  Bytes arp = good;
  arp[12] = 0x08;
  arp[13] = 0x06;
  EXPECT_THAT(Fragment(arp, 16).error().message, HasSubstr("0x0806"));

  Bytes v6 = UdpFrame({Addr("::1"), 1}, {Addr("::2"), 2}, Pattern(100), std::nullopt);
  auto once = Fragment(v6, 16, packet::LinkType::kRaw);
  ASSERT_TRUE(once);
  EXPECT_THAT(Fragment(once->front(), 8, packet::LinkType::kRaw).error().message,
              HasSubstr("already an IPv6 fragment"));
  // Every truncation of a valid frame is handled.
  for (size_t n = 0; n < v6.size(); ++n) {
    (void)Fragment(Bytes(v6.begin(), v6.begin() + n), 16, packet::LinkType::kRaw);
  }
}

TEST(FrameTest, Ipv6ExtensionPaddingUsesPadOptions) {
  Bytes frame = BuildFrame({
      .ethernet = std::nullopt,
      .ip = {.src = Addr("::1"), .dst = Addr("::2"), .extensions = {DestinationOptions({})}},
      .transport = UdpHeader{},
  });
  // next header, length 0, then PadN with 4 bytes of padding.
  EXPECT_EQ(Bytes(frame.begin() + 40, frame.begin() + 48), (Bytes{17, 0, 1, 4, 0, 0, 0, 0}));
  Bytes frag = BuildFrame({
      .ethernet = std::nullopt,
      .ip = {.src = Addr("::1"),
             .dst = Addr("::2"),
             .extensions = {FragmentHeader(16, true, 9)},
             .protocol = 17},
  });
  EXPECT_EQ(Bytes(frag.begin() + 40, frag.begin() + 48), (Bytes{17, 0, 0, 17, 0, 0, 0, 9}));
  EXPECT_EQ(frag[6], 44);
}

}  // namespace
}  // namespace vigil::craft

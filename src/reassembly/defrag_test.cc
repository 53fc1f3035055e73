#include "reassembly/defrag.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "craft/frame.h"
#include "decode/decoder.h"

namespace vigil::reassembly {
namespace {

constexpr int64_t kSec = 1'000'000'000;

class DefragTest : public ::testing::Test {
 protected:
  void SetUpWith(DefragConfig config) { d_ = std::move(*Defragmenter::Create(std::move(config))); }
  void SetUp() override { SetUpWith({}); }

  // Feeds one Ethernet frame; returns the reassembled packet's bytes, if any.
  std::vector<uint8_t> Feed(const craft::Bytes& frame, int64_t now = 0) {
    packet::Packet p;
    p.data = frame.data();
    p.caplen = p.wirelen = uint32_t(frame.size());
    decoder_.Decode(p);
    EXPECT_TRUE(p.is_fragment);
    const std::span<const uint8_t> whole = d_->Add(p, now);
    return {whole.begin(), whole.end()};
  }
  // Decodes a reassembled packet as raw IP.
  packet::Packet Decode(const std::vector<uint8_t>& bytes) {
    packet::Packet p;
    p.data = bytes.data();
    p.caplen = p.wirelen = uint32_t(bytes.size());
    p.linktype = packet::LinkType::kRaw;
    decoder_.Decode(p);
    return p;
  }

  std::unique_ptr<Defragmenter> d_;
  decode::Decoder decoder_;
};

craft::Bytes Payload(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  craft::Bytes b(n);
  for (auto& x : b) x = uint8_t(rng());
  return b;
}

TEST_F(DefragTest, FragmentedDatagramsReassembleInAnyOrder) {
  for (const char* src : {"10.0.0.1", "2001:db8::1"}) {
    const char* dst = src[0] == '1' ? "10.0.0.2" : "2001:db8::2";
    const craft::Bytes body = Payload(3000, 5);
    const craft::Bytes frame =
        craft::UdpFrame({craft::Addr(src), 5000}, {craft::Addr(dst), 53}, body);
    auto pieces = craft::Fragment(frame, 512);
    ASSERT_TRUE(pieces.has_value());
    ASSERT_GT(pieces->size(), 5u);
    std::reverse(pieces->begin(), pieces->end());
    std::vector<uint8_t> whole;
    for (size_t i = 0; i < pieces->size(); ++i) {
      whole = Feed((*pieces)[i]);
      EXPECT_EQ(whole.empty(), i + 1 < pieces->size()) << src;
    }
    const packet::Packet p = Decode(whole);
    EXPECT_TRUE(p.has_udp) << src;
    EXPECT_FALSE(p.is_fragment);
    EXPECT_FALSE(p.ip_checksum_bad);
    EXPECT_EQ(p.dst_port, 53);
    ASSERT_EQ(p.payload_len, body.size());
    EXPECT_TRUE(std::equal(body.begin(), body.end(), p.payload)) << src;
    // The rebuilt packet is the original IP packet, byte for byte.
    ASSERT_EQ(whole.size(), frame.size() - 14);
    EXPECT_TRUE(std::equal(whole.begin(), whole.end(), frame.begin() + 14)) << src;
  }
  EXPECT_EQ(d_->stats().reassembled, 2u);
  EXPECT_EQ(d_->tracker_count(), 0u);
  EXPECT_EQ(d_->memory_used(), 0u);
}

// One IPv4 UDP datagram whose 16 data bytes arrive in overlapping fragments.
craft::Bytes Frag(uint16_t offset, bool more, const std::string& data, uint16_t id = 77) {
  return craft::BuildFrame({.ip = {.src = craft::Addr("10.0.0.1"),
                                   .dst = craft::Addr("10.0.0.2"),
                                   .id = id,
                                   .more_fragments = more,
                                   .fragment_offset = offset,
                                   .protocol = packet::kProtoUdp},
                            .transport = craft::NoTransport{},
                            .payload = craft::ToBytes(data)});
}
// UDP header: ports 1111 -> 2222, length 24, checksum 0.
const std::string kUdpHeader("\x04\x57\x08\xae\x00\x18\x00\x00", 8);

TEST_F(DefragTest, LastFrameKeepsTheFirstFragmentsLinkHeader) {
  // Suricata logs a reassembled packet behind its first fragment's link-layer header, in that
  // capture's link type: with Ethernet the rebuilt frame is the unfragmented frame.
  for (const char* src : {"10.0.0.1", "2001:db8::1"}) {
    const char* dst = src[0] == '1' ? "10.0.0.2" : "2001:db8::2";
    const craft::Bytes frame =
        craft::UdpFrame({craft::Addr(src), 5000}, {craft::Addr(dst), 53}, Payload(1500, 9));
    auto pieces = craft::Fragment(frame, 512);
    ASSERT_TRUE(pieces.has_value());
    std::vector<uint8_t> whole;
    for (const craft::Bytes& piece : *pieces) whole = Feed(piece);
    ASSERT_FALSE(whole.empty());
    EXPECT_EQ(d_->last_linktype(), packet::LinkType::kEthernet);
    const std::span<const uint8_t> last = d_->last_frame();
    ASSERT_EQ(last.size(), frame.size()) << src;
    EXPECT_TRUE(std::equal(last.begin(), last.end(), frame.begin())) << src;
  }
  // Raw IPv6 (no link-layer header): the frame is the datagram, in that link type.
  const craft::Bytes frame = craft::UdpFrame({craft::Addr("2001:db8::1"), 5000},
                                             {craft::Addr("2001:db8::2"), 53}, Payload(1500, 3));
  auto pieces = craft::Fragment(frame, 512);
  ASSERT_TRUE(pieces.has_value());
  std::span<const uint8_t> whole;
  for (const craft::Bytes& piece : *pieces) {
    packet::Packet p;
    p.data = piece.data() + 14;
    p.caplen = p.wirelen = uint32_t(piece.size() - 14);
    p.linktype = packet::LinkType::kIpv6;
    decoder_.Decode(p);
    whole = d_->Add(p, 0);
  }
  ASSERT_FALSE(whole.empty());
  EXPECT_EQ(d_->last_linktype(), packet::LinkType::kIpv6);
  EXPECT_EQ(d_->last_frame().size(), whole.size());
  EXPECT_EQ(d_->last_frame().data(), whole.data());
}

TEST_F(DefragTest, OverlappingFragmentsFollowThePolicy) {
  struct Case {
    Policy policy;
    std::string left_shape;   // fragment [8,16) resent inside [0,16): left overlap, old covers
    std::string right_shape;  // [8,24) after [16,24): old fully inside, same end
  };
  // Left: old covers the new fragment, so every policy but last keeps the old bytes.
  // Right: new starts first and ends with old: last, linux, bsd, solaris, bsd-right take the new
  // bytes; first and windows (which needs the new fragment to extend past both ends) keep old.
  const Case cases[] = {
      {Policy::kFirst, "AAAAAAAA", "CCCCCCCC"},    {Policy::kLast, "BBBBBBBB", "DDDDDDDD"},
      {Policy::kLinux, "AAAAAAAA", "DDDDDDDD"},    {Policy::kBsd, "AAAAAAAA", "DDDDDDDD"},
      {Policy::kWindows, "AAAAAAAA", "CCCCCCCC"},  {Policy::kSolaris, "AAAAAAAA", "DDDDDDDD"},
      {Policy::kBsdRight, "AAAAAAAA", "DDDDDDDD"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(PolicyName(c.policy)));
    SetUpWith({.policies = PolicyTable(c.policy)});
    EXPECT_TRUE(Feed(Frag(0, true, kUdpHeader + "AAAAAAAA")).empty());
    EXPECT_TRUE(Feed(Frag(8, true, "BBBBBBBB")).empty());
    const packet::Packet p1 = Decode(Feed(Frag(16, false, "ZZZZZZZZ")));
    ASSERT_EQ(p1.payload_len, 16u);
    EXPECT_EQ(std::string(p1.payload, p1.payload + 8), c.left_shape);

    EXPECT_TRUE(Feed(Frag(16, false, "CCCCCCCC", 78)).empty());
    EXPECT_TRUE(Feed(Frag(8, false, "BBBBBBBBDDDDDDDD", 78)).empty());
    const packet::Packet p2 = Decode(Feed(Frag(0, true, kUdpHeader, 78)));
    ASSERT_EQ(p2.payload_len, 16u);
    EXPECT_EQ(std::string(p2.payload + 8, p2.payload + 16), c.right_shape);
    EXPECT_EQ(d_->stats().overlap, 2u);
    EXPECT_EQ(d_->stats().overlap_conflict, 2u);
  }
}

TEST_F(DefragTest, TinyAndOversizeFragmentsAreCounted) {
  (void)Feed(Frag(0, true, kUdpHeader));  // 8 bytes, more to come
  EXPECT_EQ(d_->stats().tiny_fragment, 1u);
  (void)Feed(Frag(65528, false, "0123456789abcdef", 99));  // past 65,535
  EXPECT_EQ(d_->stats().oversize, 1u);
}

TEST_F(DefragTest, LargestDatagramAtTheSmallestMtuReassemblesAndTinierIsCapped) {
  // A 65,535-byte IPv4 datagram in 48-byte fragments (a 68-byte link): 1,365 pieces, the cap.
  const craft::Bytes body = Payload(65535 - 20 - 8, 11);
  const craft::Bytes frame =
      craft::UdpFrame({craft::Addr("10.0.0.1"), 5000}, {craft::Addr("10.0.0.2"), 53}, body);
  auto pieces = craft::Fragment(frame, 48);
  ASSERT_TRUE(pieces.has_value());
  ASSERT_EQ(pieces->size(), size_t(kMaxFragmentsPerDatagram));
  std::shuffle(pieces->begin(), pieces->end(), std::mt19937(4));
  std::vector<uint8_t> whole;
  for (size_t i = 0; i < pieces->size(); ++i) {
    whole = Feed((*pieces)[i]);
    ASSERT_EQ(whole.empty(), i + 1 < pieces->size()) << i;
  }
  ASSERT_EQ(whole.size(), 65535u);
  EXPECT_TRUE(std::equal(whole.begin(), whole.end(), frame.begin() + 14));
  EXPECT_EQ(Decode(whole).payload_len, body.size());

  // The same datagram in 8-byte pieces needs 8,189: past the cap, it is never rebuilt.
  auto tiny = craft::Fragment(frame, 8);
  ASSERT_TRUE(tiny.has_value());
  for (const craft::Bytes& f : *tiny) EXPECT_TRUE(Feed(f).empty());
  EXPECT_EQ(d_->stats().too_many_fragments, tiny->size() - kMaxFragmentsPerDatagram);
  EXPECT_EQ(d_->stats().reassembled, 1u);
}

TEST_F(DefragTest, IncompleteDatagramsTimeOut) {
  (void)Feed(Frag(0, true, kUdpHeader + "AAAAAAAA"), 0);
  EXPECT_EQ(d_->tracker_count(), 1u);
  EXPECT_EQ(d_->Expire(30 * kSec, 10), 0u);
  EXPECT_EQ(d_->Expire(61 * kSec, 10), 1u);
  EXPECT_EQ(d_->stats().timeout, 1u);
  EXPECT_EQ(d_->memory_used(), 0u);
  // The late rest does not complete anything.
  EXPECT_TRUE(Feed(Frag(16, false, "ZZZZZZZZ"), 62 * kSec).empty());
}

TEST_F(DefragTest, CapsBoundMemoryAndAreCounted) {
  SetUpWith({.memcap = 20'000, .per_source_memcap = 8'000, .max_trackers = 50});
  std::mt19937 rng(3);
  for (int i = 0; i < 2000; ++i) {
    const std::string src = "10.0." + std::to_string(rng() % 4) + "." + std::to_string(rng() % 250);
    const craft::Bytes f = craft::BuildFrame({.ip = {.src = craft::Addr(src),
                                                     .dst = craft::Addr("10.9.9.9"),
                                                     .id = uint16_t(i),
                                                     .more_fragments = true,
                                                     .fragment_offset = 0,
                                                     .protocol = packet::kProtoUdp},
                                              .transport = craft::NoTransport{},
                                              .payload = craft::Bytes(400, 1)});
    (void)Feed(f, i);
    ASSERT_LE(d_->memory_used(), 20'000u);
    ASSERT_LE(d_->tracker_count(), 50u);
  }
  EXPECT_GT(d_->stats().evicted, 0u);
  SetUpWith({.per_source_memcap = 4'000});
  for (int i = 0; i < 50; ++i) {
    (void)Feed(craft::BuildFrame({.ip = {.src = craft::Addr("10.1.1.1"),
                                         .dst = craft::Addr("10.9.9.9"),
                                         .id = uint16_t(i),
                                         .more_fragments = true,
                                         .protocol = packet::kProtoUdp},
                                  .transport = craft::NoTransport{},
                                  .payload = craft::Bytes(400, 1)}));
  }
  EXPECT_GT(d_->stats().source_memcap_drop, 0u);
  EXPECT_LE(d_->memory_used(), 4'000u);
}

}  // namespace
}  // namespace vigil::reassembly

#include "net/reject.h"

#include <gtest/gtest.h>

#include <array>

#include "craft/frame.h"
#include "decode/decoder.h"

namespace vigil::net {
namespace {

using craft::Addr;
using craft::Bytes;

packet::Packet Decode(const Bytes& frame) {
  packet::Packet p;
  p.data = frame.data();
  p.caplen = p.wirelen = uint32_t(frame.size());
  decode::Decoder decoder;
  decoder.Decode(p);
  return p;
}

Bytes Built(std::span<const uint8_t> out, size_t n) { return Bytes(out.begin(), out.begin() + n); }

// Each reply must equal the frame craft::BuildFrame (which computes every length and checksum
// independently) gives for the fields the RFCs ask for.
struct ResetCase {
  const char* src;
  const char* dst;
};

class TcpResetTest : public ::testing::TestWithParam<ResetCase> {};

TEST_P(TcpResetTest, BackToTheSenderOfAnAcknowledgingSegment) {
  craft::EthernetHeader eth{.vlans = {{.id = 42}}};
  Bytes seg =
      craft::BuildFrame({.ethernet = eth,
                         .ip = {.src = Addr(GetParam().src), .dst = Addr(GetParam().dst)},
                         .transport = craft::TcpHeader{.src_port = 40000,
                                                       .dst_port = 80,
                                                       .seq = 1000,
                                                       .ack = 5000,
                                                       .flags = packet::kTcpAck | packet::kTcpPsh},
                         .payload = craft::ToBytes("GET /attack HTTP/1.1\r\n\r\n")});
  std::array<uint8_t, kMaxReplyBytes> out;
  size_t n = BuildTcpReset(Decode(seg), ReplyTo::kSource, out);
  craft::EthernetHeader back{
      .src = craft::kServerMac, .dst = craft::kClientMac, .vlans = {{.id = 42}}};
  Bytes want = craft::BuildFrame(
      {.ethernet = back,
       .ip = {.src = Addr(GetParam().dst), .dst = Addr(GetParam().src), .ttl = 64},
       .transport = craft::TcpHeader{
           .src_port = 80, .dst_port = 40000, .seq = 5000, .flags = packet::kTcpRst, .window = 0}});
  EXPECT_EQ(Built(out, n), want);
}

TEST_P(TcpResetTest, OnToTheDestinationAtTheDroppedSegmentsSequence) {
  Bytes seg = craft::BuildFrame({.ip = {.src = Addr(GetParam().src), .dst = Addr(GetParam().dst)},
                                 .transport = craft::TcpHeader{.src_port = 40000,
                                                               .dst_port = 80,
                                                               .seq = 1000,
                                                               .ack = 5000,
                                                               .flags = packet::kTcpAck},
                                 .payload = craft::ToBytes("xyz")});
  std::array<uint8_t, kMaxReplyBytes> out;
  size_t n = BuildTcpReset(Decode(seg), ReplyTo::kDestination, out);
  Bytes want = craft::BuildFrame(
      {.ip = {.src = Addr(GetParam().src), .dst = Addr(GetParam().dst), .ttl = 64},
       .transport = craft::TcpHeader{.src_port = 40000,
                                     .dst_port = 80,
                                     .seq = 1000,
                                     .ack = 5000,
                                     .flags = packet::kTcpRst | packet::kTcpAck,
                                     .window = 0}});
  EXPECT_EQ(Built(out, n), want);
}

TEST_P(TcpResetTest, ASynIsAnsweredWithAnAcknowledgingReset) {
  Bytes syn = craft::BuildFrame(
      {.ip = {.src = Addr(GetParam().src), .dst = Addr(GetParam().dst)},
       .transport = craft::TcpHeader{
           .src_port = 40000, .dst_port = 80, .seq = 77, .flags = packet::kTcpSyn}});
  std::array<uint8_t, kMaxReplyBytes> out;
  size_t n = BuildTcpReset(Decode(syn), ReplyTo::kSource, out);
  craft::EthernetHeader back{.src = craft::kServerMac, .dst = craft::kClientMac};
  Bytes want = craft::BuildFrame(
      {.ethernet = back,
       .ip = {.src = Addr(GetParam().dst), .dst = Addr(GetParam().src), .ttl = 64},
       .transport = craft::TcpHeader{.src_port = 80,
                                     .dst_port = 40000,
                                     .ack = 78,
                                     .flags = packet::kTcpRst | packet::kTcpAck,
                                     .window = 0}});
  EXPECT_EQ(Built(out, n), want);
}

INSTANTIATE_TEST_SUITE_P(Families, TcpResetTest,
                         ::testing::Values(ResetCase{"10.0.0.1", "10.0.0.2"},
                                           ResetCase{"2001:db8::1", "2001:db8::2"}));

TEST(Reject, NeverResetsAReset) {
  Bytes rst = craft::BuildFrame({.ip = {.src = Addr("10.0.0.1"), .dst = Addr("10.0.0.2")},
                                 .transport = craft::TcpHeader{.flags = packet::kTcpRst}});
  std::array<uint8_t, kMaxReplyBytes> out;
  EXPECT_EQ(BuildTcpReset(Decode(rst), ReplyTo::kSource, out), 0u);
}

TEST(Reject, UdpGetsAPortUnreachableQuotingIt) {
  Bytes dns = craft::UdpFrame({Addr("10.0.0.1"), 5353}, {Addr("10.0.0.2"), 53},
                              craft::ToBytes("a query of some length"));
  std::array<uint8_t, kMaxReplyBytes> out;
  size_t n = BuildPortUnreachable(Decode(dns), out);
  craft::EthernetHeader back{.src = craft::kServerMac, .dst = craft::kClientMac};
  Bytes quote(dns.begin() + 14, dns.begin() + 14 + 20 + 8);
  Bytes want = craft::BuildFrame({.ethernet = back,
                                  .ip = {.src = Addr("10.0.0.2"), .dst = Addr("10.0.0.1")},
                                  .transport = craft::IcmpHeader{.type = 3, .code = 3},
                                  .payload = quote});
  EXPECT_EQ(Built(out, n), want);
  // No error about an error.
  packet::Packet icmp_error = Decode(want);
  EXPECT_EQ(BuildPortUnreachable(icmp_error, out), 0u);
}

TEST(Reject, Ipv6UdpGetsAnIcmpv6PortUnreachable) {
  Bytes dns = craft::UdpFrame({Addr("2001:db8::1"), 5353}, {Addr("2001:db8::2"), 53},
                              craft::ToBytes("query"));
  std::array<uint8_t, kMaxReplyBytes> out;
  size_t n = BuildPortUnreachable(Decode(dns), out);
  craft::EthernetHeader back{.src = craft::kServerMac, .dst = craft::kClientMac};
  Bytes want =
      craft::BuildFrame({.ethernet = back,
                         .ip = {.src = Addr("2001:db8::2"), .dst = Addr("2001:db8::1"), .ttl = 64},
                         .transport = craft::IcmpHeader{.type = 1, .code = 4},
                         .payload = Bytes(dns.begin() + 14, dns.end())});
  EXPECT_EQ(Built(out, n), want);
}

}  // namespace
}  // namespace vigil::net

#include "craft/tcp_session.h"

#include <gtest/gtest.h>

#include "craft/craft_test_util.h"

namespace vigil::craft {
namespace {

using testing::Dissect;
using testing::Dissected;

constexpr uint8_t kSyn = packet::kTcpSyn;
constexpr uint8_t kAck = packet::kTcpAck;
constexpr uint8_t kPsh = packet::kTcpPsh;
constexpr uint8_t kFin = packet::kTcpFin;
constexpr uint8_t kRst = packet::kTcpRst;

struct Seg {
  bool from_client;
  uint8_t flags;
  uint32_t seq;
  uint32_t ack;
  std::string payload;
  friend bool operator==(const Seg&, const Seg&) = default;
};

std::ostream& operator<<(std::ostream& os, const Seg& s) {
  return os << (s.from_client ? "C>S" : "S>C") << " flags=0x" << std::hex << int(s.flags)
            << std::dec << " seq=" << s.seq << " ack=" << s.ack << " len=" << s.payload.size();
}

// Parses frames independently of the builder and checks what every segment must satisfy.
std::vector<Seg> Segments(const std::vector<Bytes>& frames, const TcpSession& session,
                          bool ethernet = true) {
  std::vector<Seg> out;
  for (const Bytes& f : frames) {
    auto d = Dissect(f, ethernet);
    EXPECT_TRUE(d);
    if (!d) continue;
    EXPECT_EQ(d->protocol, 6);
    EXPECT_TRUE(d->l4_checksum_ok);
    if (d->version == 4) {
      EXPECT_TRUE(d->ip_checksum_ok);
    }
    const bool from_client = d->src_port == session.client().port;
    EXPECT_EQ(d->dst_port, from_client ? session.server().port : session.client().port);
    out.push_back({from_client, d->tcp_flags, d->seq, d->ack,
                   std::string(d->payload.begin(), d->payload.end())});
  }
  return out;
}

TEST(TcpSessionTest, SequenceAndAcknowledgmentNumbersFollowTheData) {
  TcpSession s({Addr("10.0.0.1"), 40000}, {Addr("10.0.0.2"), 80},
               {.client_isn = 100, .server_isn = 9000});
  const uint32_t c = 100, v = 9000;
  std::vector<Seg> want = {
      // SYN consumes one sequence number on each side.
      {true, kSyn, c, 0, ""},
      {false, kSyn | kAck, v, c + 1, ""},
      {true, kAck, c + 1, v + 1, ""},
      // 11 bytes in segments of 5: 5 + 5 + 1, PSH on the last, then the server's ACK.
      {true, kAck, c + 1, v + 1, "hello"},
      {true, kAck, c + 6, v + 1, " worl"},
      {true, kAck | kPsh, c + 11, v + 1, "d"},
      {false, kAck, v + 1, c + 12, ""},
      {false, kAck | kPsh, v + 1, c + 12, "HTTP/1.0 200 OK\r\n"},
      {true, kAck, c + 12, v + 18, ""},
      // FIN consumes one sequence number.
      {true, kFin | kAck, c + 12, v + 18, ""},
      {false, kFin | kAck, v + 18, c + 13, ""},
      {true, kAck, c + 13, v + 19, ""},
  };
  std::vector<Bytes> frames = s.Handshake();
  for (auto part :
       {s.ClientSends("hello world", 5), s.ServerSends("HTTP/1.0 200 OK\r\n"), s.Close()}) {
    frames.insert(frames.end(), part.begin(), part.end());
  }
  EXPECT_EQ(Segments(frames, s), want);
  EXPECT_EQ(s.next_seq(Side::kClient), c + 13);
  EXPECT_EQ(s.next_seq(Side::kServer), v + 19);
}

TEST(TcpSessionTest, ServerCanCloseAndSequenceNumbersWrap) {
  TcpSession s({Addr("10.0.0.1"), 1}, {Addr("10.0.0.2"), 2},
               {.client_isn = 0xfffffffe, .server_isn = 0xffffffff, .ack_data = false});
  std::vector<Bytes> frames = s.Handshake();
  for (auto part : {s.ClientSends("abcd"), s.Close(Side::kServer)}) {
    frames.insert(frames.end(), part.begin(), part.end());
  }
  std::vector<Seg> want = {
      {true, kSyn, 0xfffffffe, 0, ""},
      {false, kSyn | kAck, 0xffffffff, 0xffffffff, ""},
      {true, kAck, 0xffffffff, 0, ""},
      {true, kAck | kPsh, 0xffffffff, 0, "abcd"},  // no receiver ACK with ack_data = false
      {false, kFin | kAck, 0, 3, ""},
      {true, kFin | kAck, 3, 1, ""},
      {false, kAck, 1, 4, ""},
  };
  EXPECT_EQ(Segments(frames, s), want);
}

TEST(TcpSessionTest, ResetAndExplicitSegmentsDoNotDisturbTheState) {
  TcpSession s({Addr("10.0.0.1"), 1}, {Addr("10.0.0.2"), 2}, {.client_isn = 10, .server_isn = 20});
  (void)s.Handshake();
  const Bytes payload = ToBytes("xyz");
  Bytes retransmit = s.SegmentAt(Side::kClient, 5, kAck, payload);
  EXPECT_EQ(s.next_seq(Side::kClient), 11u);
  std::vector<Bytes> rst = s.Reset(Side::kServer);
  EXPECT_EQ(s.next_seq(Side::kServer), 21u);  // RST consumes nothing
  Bytes manual = s.Segment(Side::kClient, kAck | kPsh, payload);
  EXPECT_EQ(s.next_seq(Side::kClient), 14u);
  EXPECT_EQ(Segments({retransmit, rst[0], manual}, s),
            (std::vector<Seg>{{true, kAck, 5, 21, "xyz"},
                              {false, kRst | kAck, 21, 11, ""},
                              {true, kAck | kPsh, 11, 21, "xyz"}}));
}

TEST(TcpSessionTest, Ipv6SessionWithoutEthernetAndWithSynOptions) {
  TcpSession s({Addr("2001:db8::1"), 5555}, {Addr("2001:db8::2"), 443},
               {.ethernet = std::nullopt, .syn_options = {2, 4, 0x05, 0xb4}});
  std::vector<Bytes> frames = s.Handshake();
  auto data = s.ServerSends(Bytes(3000, 'z'), 1460);
  frames.insert(frames.end(), data.begin(), data.end());
  std::vector<Seg> segs = Segments(frames, s, /*ethernet=*/false);
  ASSERT_EQ(segs.size(), 3u + 3u + 1u);
  EXPECT_EQ(segs[4].payload.size(), 1460u);
  EXPECT_EQ(segs[5].payload.size(), 3000u - 2 * 1460);
  EXPECT_EQ(segs[5].seq, 50000u + 1 + 2 * 1460);
  EXPECT_EQ(segs[6].ack, 50000u + 1 + 3000);
  // The SYN carries the options (data offset 6 words), the data segments do not.
  auto syn = Dissect(frames[0], false);
  ASSERT_TRUE(syn);
  EXPECT_EQ(syn->version, 6);
  EXPECT_EQ(frames[0][syn->l4 + 12] >> 4, 6);
  EXPECT_EQ(frames[0][syn->l4 + 20], 2);
  auto seg = Dissect(frames[4], false);
  ASSERT_TRUE(seg);
  EXPECT_EQ(frames[4][seg->l4 + 12] >> 4, 5);
}

TEST(TcpSessionTest, ServerFramesSwapTheMacAddresses) {
  TcpSession s({Addr("10.0.0.1"), 1}, {Addr("10.0.0.2"), 2},
               {.ethernet = EthernetHeader{.vlans = {{.id = 42}}}});
  std::vector<Bytes> frames = s.Handshake();
  const Bytes client_to_server(frames[0].begin(), frames[0].begin() + 12);
  const Bytes server_to_client(frames[1].begin(), frames[1].begin() + 12);
  EXPECT_EQ(client_to_server, (Bytes{2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1}));
  EXPECT_EQ(server_to_client, (Bytes{2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2}));
  auto d = Dissect(frames[1]);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->vlan_tcis, std::vector<uint16_t>{42});
  // Each IPv4 packet of a side gets its own identification.
  auto d0 = Dissect(frames[0]);
  auto d2 = Dissect(frames[2]);
  ASSERT_TRUE(d0 && d2);
  EXPECT_NE(d0->ip_id, d2->ip_id);
}

}  // namespace
}  // namespace vigil::craft

#include "flow/tcp_tracker.h"

#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "craft/tcp_session.h"
#include "decode/decoder.h"
#include "flow/flow_table.h"

namespace vigil::flow {
namespace {

using craft::Side;

struct Fed {
  Lookup l;
  TcpVerdict v;
};

class TcpTrackerTest : public ::testing::Test {
 protected:
  Fed Feed(const craft::Bytes& frame, TcpTracker& tracker) {
    packet::Packet p;
    p.data = frame.data();
    p.caplen = p.wirelen = uint32_t(frame.size());
    decoder_.Decode(p);
    EXPECT_TRUE(p.has_tcp);
    KeyedPacket k;
    EXPECT_TRUE(MakeKey(p, &k));
    Fed f;
    f.l = table_->FindOrCreate(k, 0, p.caplen);
    f.v = tracker.Update(*f.l.flow, f.l.dir, TcpSegment::From(p));
    return f;
  }
  Fed Feed(const craft::Bytes& frame) { return Feed(frame, tracker_); }

  craft::TcpSession Session(uint32_t client_isn = 1000, uint32_t server_isn = 50000) {
    return craft::TcpSession({craft::Addr("10.0.0.1"), 40000}, {craft::Addr("10.0.0.2"), 80},
                             {.client_isn = client_isn, .server_isn = server_isn});
  }

  std::unique_ptr<FlowTable> table_ = std::move(*FlowTable::Create({.max_flows = 64}));
  TcpTracker tracker_{{.midstream = true}};
  decode::Decoder decoder_;
};

TEST_F(TcpTrackerTest, ThreeWayHandshakeEstablishes) {
  craft::TcpSession s = Session();
  const std::vector<craft::Bytes> hs = s.Handshake();
  Fed syn = Feed(hs[0]);
  EXPECT_EQ(syn.l.dir, Direction::kToServer);
  EXPECT_EQ(syn.l.flow->tcp_state, TcpState::kSynSent);
  EXPECT_FALSE(syn.l.flow->established());
  Fed synack = Feed(hs[1]);
  EXPECT_EQ(synack.l.dir, Direction::kToClient);
  EXPECT_EQ(synack.l.flow->tcp_state, TcpState::kSynReceived);
  EXPECT_FALSE(synack.l.flow->established());
  Fed ack = Feed(hs[2]);
  EXPECT_EQ(ack.l.dir, Direction::kToServer);
  EXPECT_EQ(ack.l.flow->tcp_state, TcpState::kEstablished);
  EXPECT_EQ(ack.l.flow->state, FlowState::kEstablished);
  EXPECT_TRUE(ack.l.flow->established());
  EXPECT_EQ(tracker_.stats().handshakes, 1u);
  const std::vector<craft::Bytes> data = s.ClientSends("GET / HTTP/1.0\r\n\r\n");
  Fed d = Feed(data[0]);
  EXPECT_TRUE(d.v.payload_ok);
  EXPECT_EQ(d.v.payload_seq, 1001u);
}

TEST_F(TcpTrackerTest, FinCloseAndRstClose) {
  craft::TcpSession s = Session();
  for (const auto& f : s.Handshake()) (void)Feed(f);
  const std::vector<craft::Bytes> close = s.Close();
  Fed fin1 = Feed(close[0]);
  EXPECT_EQ(fin1.l.flow->state, FlowState::kClosing);
  Fed fin2 = Feed(close[1]);
  EXPECT_EQ(fin2.l.flow->tcp_state, TcpState::kBothFin);
  Fed last = Feed(close[2]);
  EXPECT_EQ(last.l.flow->state, FlowState::kClosed);
  EXPECT_TRUE(last.l.flow->established());  // sticky for the flow's life

  craft::TcpSession r({craft::Addr("10.0.0.3"), 40001}, {craft::Addr("10.0.0.2"), 80});
  for (const auto& f : r.Handshake()) (void)Feed(f);
  Fed rst = Feed(r.Reset(Side::kServer)[0]);
  EXPECT_EQ(rst.l.flow->state, FlowState::kClosed);
}

TEST_F(TcpTrackerTest, RstOutsideTheWindowIsIgnored) {
  craft::TcpSession s = Session();
  for (const auto& f : s.Handshake()) (void)Feed(f);
  // A forged reset far from the client's sequence space must not end tracking.
  Fed forged = Feed(s.SegmentAt(Side::kClient, 1000 + 10'000'000, packet::kTcpRst));
  EXPECT_EQ(forged.l.flow->state, FlowState::kEstablished);
  EXPECT_EQ(tracker_.stats().rst_invalid, 1u);
  Fed real = Feed(s.SegmentAt(Side::kClient, s.next_seq(Side::kClient), packet::kTcpRst));
  EXPECT_EQ(real.l.flow->state, FlowState::kClosed);
}

TEST_F(TcpTrackerTest, MidstreamPickupIsOffByDefault) {
  // Suricata's default: a flow whose handshake was not seen is not established (its data reaches
  // detection packet by packet), however long it runs.
  TcpTracker plain;
  craft::TcpSession s = Session();
  (void)s.Handshake();
  for (const craft::Bytes& seg : s.ClientSends("hello, no handshake")) {
    Fed f = Feed(seg, plain);
    EXPECT_FALSE(f.v.payload_ok);
    EXPECT_FALSE(f.l.flow->established());
  }
  EXPECT_GE(plain.stats().midstream_ignored, 1u);
  EXPECT_EQ(plain.stats().midstream, 0u);
}

TEST_F(TcpTrackerTest, MidstreamPickupIsConfigurable) {
  craft::TcpSession s = Session();
  (void)s.Handshake();  // not fed: the capture starts midstream
  const std::vector<craft::Bytes> data = s.ClientSends("hello");
  Fed on = Feed(data[0]);
  EXPECT_TRUE(on.v.payload_ok);
  EXPECT_TRUE(on.l.flow->established());
  EXPECT_EQ(on.l.dir, Direction::kToServer);
  EXPECT_EQ(tracker_.stats().midstream, 1u);

  TcpTracker strict({.midstream = false});
  craft::TcpSession t({craft::Addr("10.0.0.9"), 40000}, {craft::Addr("10.0.0.2"), 80});
  (void)t.Handshake();
  Fed off = Feed(t.ClientSends("hello")[0], strict);
  EXPECT_FALSE(off.v.payload_ok);
  EXPECT_FALSE(off.l.flow->established());
  EXPECT_EQ(strict.stats().midstream_ignored, 1u);
}

TEST_F(TcpTrackerTest, MidstreamServerFirstIsRecognisedByPort) {
  craft::TcpSession s = Session();
  (void)s.Handshake();
  Fed f = Feed(s.ServerSends("HTTP/1.0 200 OK\r\n")[0]);
  EXPECT_EQ(f.l.dir, Direction::kToClient);  // port 80 -> 40000 is the server talking
}

TEST_F(TcpTrackerTest, SynAckSeenFirstMakesItsReceiverTheClient) {
  craft::TcpSession s = Session();
  const std::vector<craft::Bytes> hs = s.Handshake();
  Fed synack = Feed(hs[1]);
  EXPECT_EQ(synack.l.dir, Direction::kToClient);
  Fed ack = Feed(hs[2]);
  EXPECT_EQ(ack.l.dir, Direction::kToServer);
  EXPECT_TRUE(ack.l.flow->established());
}

TEST_F(TcpTrackerTest, SynRetransmissionAndDataOnSyn) {
  craft::TcpSession s = Session();
  const craft::Bytes syn = s.SegmentAt(Side::kClient, 1000, packet::kTcpSyn);
  (void)Feed(syn);
  (void)Feed(syn);
  EXPECT_EQ(tracker_.stats().syn_retransmit, 1u);

  craft::TcpSession fo({craft::Addr("10.0.0.5"), 40000}, {craft::Addr("10.0.0.2"), 80});
  const craft::Bytes tfo = fo.SegmentAt(Side::kClient, 777, packet::kTcpSyn, craft::ToBytes("GET"));
  Fed f = Feed(tfo);
  EXPECT_TRUE(f.v.payload_ok);
  EXPECT_EQ(f.v.payload_seq, 778u);  // the SYN itself takes one sequence number
  EXPECT_EQ(tracker_.stats().data_on_syn, 1u);
}

TEST_F(TcpTrackerTest, SequenceWrapAroundIsFollowed) {
  craft::TcpSession s = Session(0xfffffff0u, 0xffffff00u);
  for (const auto& f : s.Handshake()) (void)Feed(f);
  const std::string body(100, 'x');
  int taken = 0;
  for (const auto& f : s.ClientSends(body, 10)) taken += Feed(f).v.payload_ok;
  EXPECT_EQ(taken, 10);  // all ten segments, across the 2^32 boundary
  EXPECT_EQ(tracker_.stats().seq_out_of_window, 0u);
  const Flow* flow = table_->Find(
      MakeKey(craft::Addr("10.0.0.1"), 40000, craft::Addr("10.0.0.2"), 80, packet::kProtoTcp));
  ASSERT_NE(flow, nullptr);
  EXPECT_EQ(flow->tcp[0].next_seq, 0xfffffff0u + 1 + 100);
}

TEST_F(TcpTrackerTest, DataBeyondTheWindowIsRefused) {
  craft::TcpSession s({craft::Addr("10.0.0.1"), 40000}, {craft::Addr("10.0.0.2"), 80},
                      {.window = 1000});
  for (const auto& f : s.Handshake()) (void)Feed(f);
  Fed far = Feed(s.SegmentAt(Side::kClient, 1001 + 5000, packet::kTcpAck, craft::ToBytes("zz")));
  EXPECT_FALSE(far.v.payload_ok);
  EXPECT_EQ(tracker_.stats().seq_out_of_window, 1u);
  Fed near = Feed(s.SegmentAt(Side::kClient, 1001 + 500, packet::kTcpAck, craft::ToBytes("zz")));
  EXPECT_TRUE(near.v.payload_ok);
}

TEST_F(TcpTrackerTest, NewSynAfterCloseRestarts) {
  craft::TcpSession s = Session();
  for (const auto& f : s.Handshake()) (void)Feed(f);
  for (const auto& f : s.Close()) (void)Feed(f);
  Fed again = Feed(s.SegmentAt(Side::kClient, 90000, packet::kTcpSyn));
  EXPECT_TRUE(again.v.restarted);
  EXPECT_EQ(again.l.flow->tcp_state, TcpState::kSynSent);
  EXPECT_FALSE(again.l.flow->established());
  EXPECT_EQ(tracker_.stats().reused, 1u);
}

}  // namespace
}  // namespace vigil::flow

#include "reassembly/tcp_reassembler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "craft/frame.h"
#include "flow/flow_key.h"

namespace vigil::reassembly {
namespace {

using flow::Direction;

flow::Flow MakeFlow(uint32_t client_isn, const char* server = "10.0.0.2") {
  const flow::KeyedPacket k =
      flow::MakeKey(craft::Addr("10.0.0.1"), 40000, craft::Addr(server), 80, packet::kProtoTcp);
  flow::Flow f;
  f.key = k.key;
  f.flags = flow::Flow::kInUse | (k.src_is_lo ? flow::Flow::kClientIsLo : 0);
  f.tcp[0].isn = client_isn;
  f.tcp[0].flags = flow::TcpHalf::kStarted | flow::TcpHalf::kSynSeen;
  return f;
}

// Concatenates the new part of every view, checking that views are contiguous and that each
// view's history is exactly the tail of what came before.
struct Collector {
  std::string out;
  int views = 0;
  void Take(const StreamView& v) {
    if (!v.has_new()) return;
    ++views;
    ASSERT_EQ(v.stream_offset + v.new_from, out.size());
    ASSERT_LE(v.new_from, out.size());
    EXPECT_EQ(std::string(v.data, v.data + v.new_from), out.substr(out.size() - v.new_from));
    out.append(v.data + v.new_from, v.data + v.len);
  }
};

class ReassemblerTest : public ::testing::Test {
 protected:
  void SetUpWith(ReassemblyConfig config) { r_ = std::move(*TcpReassembler::Create(config)); }
  void SetUp() override { SetUpWith({}); }
  void TearDown() override {
    if (r_) r_->Reset(flow_);
  }
  // Sends `data` at stream offset `offset` (sequence number isn + 1 + offset).
  void Send(uint64_t offset, const std::string& data) {
    c_.Take(r_->Add(flow_, Direction::kToServer, uint32_t(isn_ + 1 + offset),
                    reinterpret_cast<const uint8_t*>(data.data()), uint32_t(data.size())));
  }

  uint32_t isn_ = 999;
  flow::Flow flow_ = MakeFlow(999);
  std::unique_ptr<TcpReassembler> r_;
  Collector c_;
};

TEST_F(ReassemblerTest, InOrderTakesTheFastPath) {
  Send(0, "GET /index");
  Send(10, ".html HTTP/1.0\r\n");
  EXPECT_EQ(c_.out, "GET /index.html HTTP/1.0\r\n");
  EXPECT_EQ(r_->stats().fast_path, 2u);
  EXPECT_EQ(r_->stats().slow_path, 0u);
}

TEST_F(ReassemblerTest, OutOfOrderDeliveryIsReordered) {
  Send(12, "EFGH");
  Send(8, "ABCD");
  EXPECT_EQ(c_.out, "");
  Send(0, "01234567");
  EXPECT_EQ(c_.out, "01234567ABCDEFGH");
  EXPECT_EQ(c_.views, 1);  // the filled hole and the queued data come as one view
  EXPECT_EQ(r_->stats().slow_path, 2u);
}

TEST_F(ReassemblerTest, OneByteSegmentsStillMatchOncePerPattern) {
  const std::string stream = "xx/etc/passwd yy /etc/passwd";
  const std::string pattern = "/etc/passwd";
  int matches = 0;
  for (size_t i = 0; i < stream.size(); ++i) {
    const StreamView v = r_->Add(flow_, Direction::kToServer, uint32_t(isn_ + 1 + i),
                                 reinterpret_cast<const uint8_t*>(&stream[i]), 1);
    c_.Take(v);
    const std::string_view view(reinterpret_cast<const char*>(v.data), v.len);
    for (size_t pos = view.find(pattern); pos != std::string_view::npos;
         pos = view.find(pattern, pos + 1)) {
      if (pos + pattern.size() > v.new_from) ++matches;  // ends in the new bytes
    }
  }
  EXPECT_EQ(c_.out, stream);
  EXPECT_EQ(matches, 2);
}

TEST_F(ReassemblerTest, RetransmissionWithChangedDataIsAnAnomaly) {
  Send(0, "attack payload");
  Send(0, "attack payload");  // a plain retransmission
  EXPECT_EQ(r_->stats().retransmit, 1u);
  EXPECT_EQ(r_->stats().retransmit_changed, 0u);
  Send(0, "benign payload");  // same sequence numbers, other bytes
  EXPECT_EQ(r_->stats().retransmit_changed, 1u);
  Send(7, "PAYLOAD!!");  // half old (changed), half new
  EXPECT_EQ(r_->stats().retransmit_changed, 2u);
  EXPECT_EQ(c_.out, "attack payload!!");  // delivered bytes are final
}

TEST_F(ReassemblerTest, SequenceNumbersWrapAround) {
  isn_ = 0xfffffff8u;
  flow_ = MakeFlow(isn_);
  Send(0, "0123");
  Send(12, "cdef");  // seq wrapped past 2^32
  Send(4, "456789ab");
  EXPECT_EQ(c_.out, "0123456789abcdef");
}

TEST_F(ReassemblerTest, HistoryZeroGivesZeroCopyViews) {
  SetUpWith({.history_bytes = 0});
  const std::string a = "abcdef";
  const StreamView v =
      r_->Add(flow_, Direction::kToServer, isn_ + 1, reinterpret_cast<const uint8_t*>(a.data()), 6);
  EXPECT_EQ(v.data, reinterpret_cast<const uint8_t*>(a.data()));
  EXPECT_EQ(v.new_from, 0u);
  EXPECT_EQ(r_->memory_used(), 0u);
}

TEST_F(ReassemblerTest, HistoryIsBoundedByHistoryBytes) {
  SetUpWith({.history_bytes = 16});
  std::string all;
  for (int i = 0; i < 200; ++i) {
    const std::string piece(37, char('a' + i % 26));
    const StreamView v = r_->Add(flow_, Direction::kToServer, uint32_t(isn_ + 1 + all.size()),
                                 reinterpret_cast<const uint8_t*>(piece.data()), 37);
    EXPECT_EQ(v.new_from, std::min<size_t>(16, all.size()));
    all += piece;
    c_.out = all.substr(0, all.size() - 37);
    c_.Take(v);
  }
  EXPECT_LE(r_->memory_used(), 1024u);  // the block stays a few times history + segment
}

// TCP overlap policies. Offset 0 is a one-byte hole filled last with 'X', so the old ('A') and
// new ('B') data both wait in the queue, as in a real evasion; the output is what the target
// would read. Columns: first, last, linux, bsd, windows, solaris, macos.
TEST_F(ReassemblerTest, OverlapPoliciesPerShape) {
  struct Case {
    const char* rule;
    uint64_t old_at;
    std::string old_data;
    uint64_t new_at;
    std::string new_data;
    std::string expected[7];
  };
  const Case cases[] = {
      {"left (old starts first): old wins, except last; solaris lets new win when old does not "
       "reach the new end",
       1,
       "AAAA",
       3,
       "BBBB",
       {"AAAABB", "AABBBB", "AAAABB", "AAAABB", "AAAABB", "AABBBB", "AAAABB"}},
      {"left, old covers new: old wins except last (which splits the old segment)",
       1,
       "AAAAAA",
       3,
       "BB",
       {"AAAAAA", "AABBAA", "AAAAAA", "AAAAAA", "AAAAAA", "AAAAAA", "AAAAAA"}},
      {"right partial, new starts first: new wins (old truncated) except first and solaris",
       3,
       "AAAA",
       1,
       "BBBB",
       {"BBAAAA", "BBBBAA", "BBBBAA", "BBBBAA", "BBBBAA", "BBAAAA", "BBBBAA"}},
      {"right partial, same start: old wins except last",
       1,
       "AAAAAA",
       1,
       "BBB",
       {"AAAAAA", "BBBAAA", "AAAAAA", "AAAAAA", "AAAAAA", "AAAAAA", "AAAAAA"}},
      {"full, new covers old on both sides: new wins except first",
       3,
       "AA",
       1,
       "BBBBBB",
       {"BBAABB", "BBBBBB", "BBBBBB", "BBBBBB", "BBBBBB", "BBBBBB", "BBBBBB"}},
      {"full, exact repeat (no hole before it): old wins except last and solaris",
       1,
       "AAAA",
       1,
       "BBBB",
       {"AAAA", "BBBB", "AAAA", "AAAA", "AAAA", "BBBB", "AAAA"}},
      {"full, same start, new longer: linux, solaris and last take new; bsd family keeps old",
       1,
       "AAA",
       1,
       "BBBBBB",
       {"AAABBB", "BBBBBB", "BBBBBB", "AAABBB", "AAABBB", "BBBBBB", "AAABBB"}},
      {"full, new starts first, same end: new wins except first",
       3,
       "AAAA",
       1,
       "BBBBBB",
       {"BBAAAA", "BBBBBB", "BBBBBB", "BBBBBB", "BBBBBB", "BBBBBB", "BBBBBB"}},
  };
  const Policy columns[] = {Policy::kFirst,   Policy::kLast,    Policy::kLinux, Policy::kBsd,
                            Policy::kWindows, Policy::kSolaris, Policy::kMacos};
  for (const Case& c : cases) {
    for (size_t p = 0; p < std::size(columns); ++p) {
      SCOPED_TRACE(std::string(c.rule) + " / " + std::string(PolicyName(columns[p])));
      SetUpWith({.policies = PolicyTable(columns[p])});
      flow_ = MakeFlow(isn_);
      c_ = Collector{};
      Send(c.old_at, c.old_data);
      Send(c.new_at, c.new_data);
      EXPECT_EQ(r_->stats().overlap_conflict, 1u);
      Send(0, "X");
      EXPECT_EQ(c_.out, "X" + c.expected[p]);
      r_->Reset(flow_);
    }
  }
}

TEST_F(ReassemblerTest, SolarisKeepsTheOldSegmentOnARepeatAfterAHole) {
  // Solaris: a new segment with the same start and length as a queued one, when the segment
  // before it does not end where it starts, loses to the old one (Snort's os3 rule).
  SetUpWith({.policies = PolicyTable(Policy::kSolaris)});
  Send(1, "L");
  Send(3, "AAAA");
  Send(3, "BBBB");
  Send(0, "X");
  Send(2, "Y");
  EXPECT_EQ(c_.out, "XLYAAAA");
}

TEST_F(ReassemblerTest, PolicyIsChosenByTheReceiversNetwork) {
  PolicyTable table(Policy::kFirst);
  ASSERT_TRUE(table.Add("10.2.0.0/16", "last"));
  SetUpWith({.policies = table});
  for (const char* server : {"10.1.0.1", "10.2.0.1"}) {
    flow::Flow f = MakeFlow(999, server);
    Collector c;
    const std::string a = "AAAA", b = "BBBB", x = "X";
    auto add = [&](uint64_t off, const std::string& d) {
      c.Take(r_->Add(f, Direction::kToServer, uint32_t(1000 + off),
                     reinterpret_cast<const uint8_t*>(d.data()), uint32_t(d.size())));
    };
    add(1, a);
    add(1, b);
    add(0, x);
    EXPECT_EQ(c.out, std::string(server) == "10.1.0.1" ? "XAAAA" : "XBBBB") << server;
    r_->Reset(f);
  }
}

TEST_F(ReassemblerTest, QueueCapsDropAndCount) {
  SetUpWith({.max_queued_bytes = 100, .max_queued_segments = 4});
  const std::string d(30, 'q');
  for (int i = 0; i < 4; ++i) Send(100 + 40 * i, d);  // 120 bytes wanted, 100 allowed
  EXPECT_EQ(r_->stats().queue_bytes_cap, 1u);
  SetUpWith({.max_queued_bytes = 1000, .max_queued_segments = 4});
  flow_ = MakeFlow(isn_);
  for (int i = 0; i < 6; ++i) Send(100 + 40 * i, "z");
  EXPECT_EQ(r_->stats().queue_segments_cap, 2u);
  SetUpWith({.memcap = 500});
  flow_ = MakeFlow(isn_);
  for (int i = 0; i < 20; ++i) Send(100 + 100 * i, d);
  EXPECT_GT(r_->stats().memcap_drop, 0u);
  EXPECT_LE(r_->memory_used(), 500u);
}

TEST_F(ReassemblerTest, MemcapHoldsWhenOneSegmentFillsManyGaps) {
  // One segment spanning 20 gaps between queued bytes becomes 21 pieces: the cap must count
  // them all before accepting it.
  SetUpWith({.memcap = 1500});
  for (int i = 0; i < 20; ++i) Send(2 + 2 * i, "a");
  ASSERT_EQ(r_->stats().memcap_drop, 0u);
  Send(1, std::string(60, 'b'));
  EXPECT_EQ(r_->stats().memcap_drop, 1u);
  EXPECT_LE(r_->memory_used(), 1500u);
}

TEST_F(ReassemblerTest, AcknowledgedHoleIsSkipped) {
  Send(0, "abc");
  Send(10, "later");  // bytes 3..9 never captured
  Collector before = c_;
  const StreamView v = r_->SkipGap(flow_, Direction::kToServer, isn_ + 1 + 12);
  ASSERT_TRUE(v.has_new());
  EXPECT_EQ(v.stream_offset, 10u);
  EXPECT_EQ(v.new_from, 0u);
  EXPECT_EQ(std::string(v.data, v.data + v.len), "later");
  EXPECT_EQ(r_->stats().gap_skipped, 1u);
  // An ACK that covers nothing queued changes nothing.
  EXPECT_FALSE(r_->SkipGap(flow_, Direction::kToServer, isn_ + 1 + 100).has_new());
}

// Differential: any segmentation and any order of a random stream, with or without duplicate
// (identical) retransmissions, reassembles to the stream itself.
TEST(ReassemblerDifferentialTest, RandomSegmentationsAndOrders) {
  std::mt19937 rng(12345);
  for (int round = 0; round < 300; ++round) {
    auto r = std::move(*TcpReassembler::Create(
        {.history_bytes = uint32_t(rng() % 3 == 0 ? 0 : 1 + rng() % 64),
         .policies = PolicyTable(static_cast<Policy>(rng() % kPolicyCount))}));
    const uint32_t isn = rng();
    flow::Flow f = MakeFlow(isn);
    std::string stream(1 + rng() % 4000, '\0');
    for (char& ch : stream) ch = char(rng());
    std::vector<std::pair<size_t, size_t>> pieces;  // offset, length
    for (size_t at = 0; at < stream.size();) {
      const size_t n = std::min<size_t>(stream.size() - at, 1 + rng() % (round % 2 ? 8 : 300));
      pieces.emplace_back(at, n);
      at += n;
    }
    if (round % 3 == 0) {
      const size_t dups = pieces.size() / 4;
      for (size_t i = 0; i < dups; ++i) pieces.push_back(pieces[rng() % pieces.size()]);
    }
    // Mostly forward with local disorder, or fully shuffled.
    if (round % 4 == 0) {
      std::shuffle(pieces.begin(), pieces.end(), rng);
    } else {
      for (size_t i = 0; i + 1 < pieces.size(); ++i) {
        if (rng() % 4 == 0)
          std::swap(pieces[i], pieces[i + 1 + rng() % std::min<size_t>(3, pieces.size() - i - 1)]);
      }
    }
    Collector c;
    for (const auto& [at, n] : pieces) {
      c.Take(r->Add(f, Direction::kToServer, uint32_t(isn + 1 + at),
                    reinterpret_cast<const uint8_t*>(stream.data() + at), uint32_t(n)));
      ASSERT_LE(c.out.size(), stream.size());  // never more than was sent
    }
    ASSERT_EQ(c.out, stream) << "round " << round;
    EXPECT_EQ(r->stats().retransmit_changed + r->stats().overlap_conflict, 0u);
    r->Reset(f);
    EXPECT_EQ(r->memory_used(), 0u);
  }
}

// With history, a detector that counts matches ending in the new bytes finds each occurrence of a
// pattern no longer than history + 1 exactly once, whatever the segmentation.
TEST(ReassemblerDifferentialTest, BoundaryPatternsAreFoundExactlyOnce) {
  std::mt19937 rng(99);
  const std::string pattern = "EVIL-PATTERN-0123456789";
  for (int round = 0; round < 100; ++round) {
    auto r = std::move(*TcpReassembler::Create({.history_bytes = uint32_t(pattern.size() - 1)}));
    flow::Flow f = MakeFlow(1);
    std::string stream;
    int planted = 0;
    while (stream.size() < 3000) {
      if (rng() % 5 == 0) {
        stream += pattern;
        ++planted;
      } else {
        stream += char('a' + rng() % 26);
      }
    }
    std::vector<std::pair<size_t, size_t>> pieces;
    for (size_t at = 0; at < stream.size();) {
      const size_t n = std::min<size_t>(stream.size() - at, 1 + rng() % 40);
      pieces.emplace_back(at, n);
      at += n;
    }
    for (size_t i = 0; i + 1 < pieces.size(); i += 2) {
      if (rng() % 3 == 0) std::swap(pieces[i], pieces[i + 1]);
    }
    int found = 0;
    for (const auto& [at, n] : pieces) {
      const StreamView v =
          r->Add(f, Direction::kToServer, uint32_t(2 + at),
                 reinterpret_cast<const uint8_t*>(stream.data() + at), uint32_t(n));
      const std::string_view view(reinterpret_cast<const char*>(v.data), v.len);
      for (size_t pos = view.find(pattern); pos != std::string_view::npos;
           pos = view.find(pattern, pos + 1)) {
        if (pos + pattern.size() > v.new_from) ++found;
      }
    }
    EXPECT_EQ(found, planted) << "round " << round;
    r->Reset(f);
  }
}

}  // namespace
}  // namespace vigil::reassembly

#include "detect/detector.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "rules/parser.h"
#include "rules/variables.h"

namespace vigil::detect {
namespace {

rules::Rule R(const std::string& text) {
  rules::Variables vars;
  auto r = rules::ParseRule(text, vars);
  EXPECT_TRUE(r) << text << ": " << (r ? "" : r.error().ToString());
  return r ? *r : rules::Rule{};
}

// A decoded TCP/UDP packet over a payload, without going through the decoder.
struct TestPacket {
  std::string payload;
  packet::Packet p;
  TestPacket(std::string data, bool tcp = true, const char* src = "10.0.0.1",
             uint16_t sport = 40000, const char* dst = "192.168.0.5", uint16_t dport = 80)
      : payload(std::move(data)) {
    p.ip_version = 4;
    p.src_ip = *base::IpAddress::Parse(src);
    p.dst_ip = *base::IpAddress::Parse(dst);
    p.ip_proto = tcp ? packet::kProtoTcp : packet::kProtoUdp;
    p.has_tcp = tcp;
    p.has_udp = !tcp;
    p.src_port = sport;
    p.dst_port = dport;
    p.payload = reinterpret_cast<const uint8_t*>(payload.data());
    p.payload_len = uint32_t(payload.size());
  }
};

std::vector<uint32_t> Sids(Detector& d, const packet::Packet& p) {
  std::vector<Alert> alerts;
  d.Inspect(p, alerts);
  std::vector<uint32_t> sids;
  for (const Alert& a : alerts) sids.push_back(a.rule->rule.sid);
  return sids;
}

std::unique_ptr<const DetectionPlan> Plan(std::vector<std::string> texts,
                                          const PlanOptions& options = {}) {
  std::vector<rules::Rule> rs;
  for (const auto& t : texts) rs.push_back(R(t));
  auto plan = DetectionPlan::Build(std::move(rs), rules::ClassificationTable::Default(), options);
  EXPECT_TRUE(plan);
  return std::move(*plan);
}

TEST(DetectorTest, FastPatternCandidatesAreFullyEvaluated) {
  auto plan = Plan({
      R"(alert tcp any any -> any 80 (msg:"passwd"; content:"/etc/passwd"; sid:1;))",
      R"(alert tcp any any -> any 80 (msg:"two"; content:"GET"; depth:3; content:"admin"; sid:2;))",
      R"(alert tcp any any -> any 443 (msg:"port"; content:"GET"; sid:3;))",
      R"(alert udp any any -> any any (msg:"udp"; content:"GET"; sid:4;))",
  });
  auto d = Detector::Create(*plan);
  ASSERT_TRUE(d);
  EXPECT_EQ(Sids(**d, TestPacket("GET /etc/passwd HTTP/1.0").p), (std::vector<uint32_t>{1}));
  EXPECT_EQ(Sids(**d, TestPacket("GET /admin HTTP/1.0").p), (std::vector<uint32_t>{2}));
  EXPECT_EQ(Sids(**d, TestPacket(" GET /admin").p), (std::vector<uint32_t>{}));  // depth
  EXPECT_EQ(Sids(**d, TestPacket("GET x", false).p), (std::vector<uint32_t>{4}));
}

TEST(DetectorTest, HeaderDirectionAddressesAndBidirectional) {
  auto plan = Plan({
      R"(alert tcp 10.0.0.0/8 any -> 192.168.0.0/16 80 (msg:"fwd"; content:"x"; sid:1;))",
      R"(alert tcp 192.168.0.0/16 80 <> 10.0.0.0/8 any (msg:"bi"; content:"x"; sid:2;))",
      R"(alert tcp !10.0.0.0/8 any -> any any (msg:"neg"; content:"x"; sid:3;))",
  });
  auto d = Detector::Create(*plan);
  ASSERT_TRUE(d);
  EXPECT_EQ(Sids(**d, TestPacket("x").p), (std::vector<uint32_t>{1, 2}));
  TestPacket back("x", true, "192.168.0.5", 80, "10.0.0.1", 40000);
  EXPECT_EQ(Sids(**d, back.p), (std::vector<uint32_t>{2, 3}));
}

TEST(DetectorTest, RulesWithoutContentAreAlwaysCandidates) {
  auto plan = Plan({
      R"(alert ip any any -> 192.168.0.5 any (msg:"addr"; sid:1;))",
      R"(alert tcp any any -> any any (msg:"neg only"; content:!"safe"; sid:2;))",
  });
  auto d = Detector::Create(*plan);
  ASSERT_TRUE(d);
  EXPECT_EQ(Sids(**d, TestPacket("").p), (std::vector<uint32_t>{1, 2}));
  EXPECT_EQ(Sids(**d, TestPacket("safe").p), (std::vector<uint32_t>{1}));
  EXPECT_EQ((**d).stats().packets, 2u);
}

// Rules without content are keyed by the packet's flag byte (TCP) or type (ICMP): a rule whose
// flags or itype test rejects the packet's key is no candidate at all (no condition reject).
TEST(DetectorTest, RulesWithoutContentAreCandidatesOnlyForTheKeysTheirTestsAdmit) {
  auto plan = Plan({
      R"(alert tcp any any -> any any (msg:"syn"; flags:S; sid:1;))",
      R"(alert tcp any any -> any 80 (msg:"syn fin to 80"; flags:SF+; sid:2;))",
      R"(alert icmp any any -> any any (msg:"echo"; itype:8; sid:3;))",
      R"(alert icmp any any -> any any (msg:"code 0"; icode:0; sid:4;))",
      R"(alert tcp any any -> any any (msg:"empty ack"; flags:A+; dsize:0; sid:5;))",
  });
  auto d = Detector::Create(*plan);
  ASSERT_TRUE(d);
  const DetectStats& st = (**d).stats();
  TestPacket syn("");
  syn.p.tcp_flags = 0x02;
  EXPECT_EQ(Sids(**d, syn.p), (std::vector<uint32_t>{1}));
  TestPacket ack("data");
  ack.p.tcp_flags = 0x10;
  EXPECT_EQ(Sids(**d, ack.p), (std::vector<uint32_t>{}));
  EXPECT_EQ(st.condition_rejects, 1u);  // only sid 5 (dsize) was tried on the ACK
  TestPacket syn_fin("");
  syn_fin.p.tcp_flags = 0x03;
  EXPECT_EQ(Sids(**d, syn_fin.p), (std::vector<uint32_t>{2}));
  EXPECT_EQ(st.condition_rejects, 1u);
  TestPacket icmp("");
  icmp.p.has_tcp = false;
  icmp.p.has_icmp = true;
  icmp.p.ip_proto = packet::kProtoIcmp;
  icmp.p.icmp_type = 8;
  EXPECT_EQ(Sids(**d, icmp.p), (std::vector<uint32_t>{3, 4}));
  icmp.p.icmp_type = 0;  // echo reply: sid 3 is not tried
  EXPECT_EQ(Sids(**d, icmp.p), (std::vector<uint32_t>{4}));
  EXPECT_EQ(st.condition_rejects, 1u);
}

// KeysAdmitted agrees with MatchPacketConditions on every key, for each flags modifier.
TEST(DetectorTest, KeysAdmittedAgreesWithTheFlagsTest) {
  for (const char* flags : {"S", "SA", "S+", "FSRPAU*", "!R", "S,12", "0", "A+,CE"}) {
    CompiledRule cr;
    cr.rule = R(fmt::format(R"(alert tcp any any -> any any (flags:{}; sid:1;))", flags));
    ASSERT_TRUE(CompileRule(cr)) << flags;
    const KeySet keys = KeysAdmitted(cr, GroupKind::kTcp);
    TestPacket t("");
    FlowContext flow;
    for (int k = 0; k < 256; ++k) {
      t.p.tcp_flags = uint8_t(k);
      MatchInput in = MatchInput::OfPacket(t.p, &flow);
      EXPECT_EQ(Admits(keys, uint8_t(k)), MatchPacketConditions(cr, in)) << flags << " " << k;
    }
  }
}

TEST(DetectorTest, LiteralFilterDropsCandidatesMissingALiteral) {
  auto plan = Plan({
      R"(alert tcp any any -> any any (msg:"both"; content:"GET"; content:"passwd"; sid:1;))",
      R"(alert tcp any any -> any any (msg:"one"; content:"shadow"; sid:2;))",
  });
  auto d = Detector::Create(*plan);
  ASSERT_TRUE(d);
  // "passwd" is rule 1's fast pattern; without "GET" the filter drops it before the full match.
  EXPECT_EQ(Sids(**d, TestPacket("POST /etc/passwd").p), (std::vector<uint32_t>{}));
  EXPECT_EQ((**d).stats().literal_filter_rejects, 1u);
  EXPECT_EQ((**d).stats().packets_full_match, 0u);
  EXPECT_EQ(Sids(**d, TestPacket("GET /etc/passwd").p), (std::vector<uint32_t>{1}));
  EXPECT_EQ(Sids(**d, TestPacket("cat /etc/shadow").p), (std::vector<uint32_t>{2}));
  EXPECT_EQ((**d).stats().literal_filter_rejects, 1u);
  EXPECT_EQ((**d).stats().packets_full_match, 2u);
}

// A fast-pattern hit that ends past where its content may end (offset + depth, or an absolute
// isdataat:!N) selects no rule: in the packet, in a chunk deep in the stream, and — for a chunk
// that stands for the packet too — counted from the packet's own start.
TEST(DetectorTest, FastPatternHitsPastTheirReachSelectNoRule) {
  auto plan = Plan({
      R"(alert tcp any any -> any 80 (msg:"gnutella"; content:"GNUTELLA"; depth:8; sid:1;))",
      R"(alert tcp any any -> any 80 (msg:"one byte"; content:"|13|"; isdataat:!1; sid:2;))",
      R"(alert tcp any any -> any 80 (msg:"late"; content:"HELLO"; offset:4; depth:5; sid:3;))",
  });
  auto d = Detector::Create(*plan);
  ASSERT_TRUE(d);
  const DetectStats& st = (**d).stats();
  EXPECT_EQ(Sids(**d, TestPacket("GNUTELLA CONNECT").p), (std::vector<uint32_t>{1}));
  EXPECT_EQ(Sids(**d, TestPacket(" GNUTELLA CONNECT").p), (std::vector<uint32_t>{}));
  EXPECT_EQ(st.fast_pattern_out_of_reach, 1u);
  EXPECT_EQ(Sids(**d, TestPacket("\x13").p), (std::vector<uint32_t>{2}));
  EXPECT_EQ(Sids(**d, TestPacket("a\x13").p), (std::vector<uint32_t>{}));
  EXPECT_EQ(Sids(**d, TestPacket("abcdHELLO").p), (std::vector<uint32_t>{3}));
  EXPECT_EQ(Sids(**d, TestPacket("abcdeHELLO").p), (std::vector<uint32_t>{}));
  EXPECT_EQ(st.fast_pattern_out_of_reach, 3u);
  EXPECT_EQ(st.packets_full_match, 3u);  // only the three that alert

  const FlowContext flow{.has_flow = true, .established = true, .reassembled = true};
  auto inspect = [&](const TestPacket& t, const std::string& chunk, uint32_t new_from,
                     uint64_t stream_offset) {
    const StreamChunk c{.data = reinterpret_cast<const uint8_t*>(chunk.data()),
                        .len = uint32_t(chunk.size()),
                        .new_from = new_from,
                        .stream_offset = stream_offset};
    std::vector<Alert> alerts;
    (**d).Inspect(t.p, flow, {&c, 1}, alerts);
    std::vector<std::pair<uint32_t, bool>> got;
    for (const Alert& a : alerts) got.emplace_back(a.rule->rule.sid, a.in_stream);
    return got;
  };
  using Got = std::vector<std::pair<uint32_t, bool>>;
  // The chunk is the stream's start: the content is in reach of both the packet and the stream.
  TestPacket start("GNUTELLA CONNECT");
  EXPECT_EQ(inspect(start, start.payload, 0, 0), (Got{{1, false}}));
  // 4,000 bytes into the stream, behind 4 bytes of history: in reach of the packet only.
  TestPacket later("GNUTELLA CONNECT");
  EXPECT_EQ(inspect(later, "abcd" + later.payload, 4, 4000), (Got{{1, false}}));
  // A packet whose own start is not the content's: in reach of neither.
  TestPacket neither("x GNUTELLA");
  uint64_t before = st.fast_pattern_out_of_reach;
  EXPECT_EQ(inspect(neither, "abcd" + neither.payload, 4, 4000), (Got{}));
  EXPECT_EQ(st.fast_pattern_out_of_reach, before + 1);
  // A chunk that does not begin with the packet's payload (out-of-order data completed it) is
  // scanned on its own: at stream offset 0 the content is in reach.
  TestPacket tail("zzzz");
  EXPECT_EQ(inspect(tail, "GNUTELLAzzzz", 0, 0), (Got{{1, true}}));
  EXPECT_EQ(inspect(tail, "GNUTELLAzzzz", 0, 100), (Got{}));
}

// Stream chunks of one flow direction, each its history (the bytes before) plus new bytes: once
// a chunk held no fast-pattern hit, the next one's history is not scanned again, yet a literal
// in the history, or one straddling the boundary, is still found.
TEST(DetectorTest, CleanHistoryIsNotScannedAgain) {
  auto plan = Plan({
      R"(alert tcp any any -> any 80 (msg:"pair"; content:"EVIL"; content:"TAIL"; distance:0; sid:1;))",
  });
  auto d = Detector::Create(*plan);
  ASSERT_TRUE(d);
  const DetectStats& st = (**d).stats();
  const FlowContext flow{.has_flow = true, .flow_id = 7, .established = true, .reassembled = true};
  std::string stream;  // the direction so far
  // Appends `bytes` as the packet's payload and inspects the chunk (up to 16 bytes of history).
  auto feed = [&](const std::string& bytes, uint64_t flow_id = 7) {
    const uint64_t offset = stream.size() > 16 ? stream.size() - 16 : 0;
    std::string chunk = stream.substr(offset) + bytes;
    stream += bytes;
    TestPacket t(bytes);
    const StreamChunk c{.data = reinterpret_cast<const uint8_t*>(chunk.data()),
                        .len = uint32_t(chunk.size()),
                        .new_from = uint32_t(chunk.size() - bytes.size()),
                        .stream_offset = offset};
    FlowContext f = flow;
    f.flow_id = flow_id;
    std::vector<Alert> alerts;
    (**d).Inspect(t.p, f, {&c, 1}, alerts);
    std::vector<uint32_t> sids;
    for (const Alert& a : alerts) sids.push_back(a.rule->rule.sid);
    return sids;
  };
  using Sids = std::vector<uint32_t>;
  EXPECT_EQ(feed("nothing here...."), Sids{});  // clean
  EXPECT_EQ(st.history_scans_skipped, 0u);
  EXPECT_EQ(feed("still nothing..."), Sids{});  // history skipped, clean again
  EXPECT_EQ(st.history_scans_skipped, 1u);
  EXPECT_EQ(feed("..............EV"), Sids{});  // EV of a straddling EVIL
  EXPECT_EQ(feed("IL and TAIL"), Sids{1});      // found across the boundary
  EXPECT_EQ(st.history_scans_skipped, 3u);
  // The last window held EVIL: the next chunk scans its history, which still holds it.
  EXPECT_EQ(feed("TAIL"), Sids{1});
  EXPECT_EQ(st.history_scans_skipped, 3u);
  // Another flow in the same slot range has no entry: its history is scanned.
  stream = "xxxxEVILxxxxxxxx";
  EXPECT_EQ(feed("TAIL", 8), Sids{1});
  EXPECT_EQ(st.history_scans_skipped, 3u);
}

TEST(DetectorTest, AddressOnlyRulesAreFoundThroughTheIndex) {
  auto plan = Plan({
      R"(alert ip [198.51.100.7,203.0.113.0/24] any -> any any (msg:"reputation src"; sid:1;))",
      R"(alert tcp any any -> [192.168.0.5,192.168.0.6] 80 (msg:"dst list"; sid:2;))",
      R"(alert udp [198.51.100.7] any <> any any (msg:"bidi udp"; sid:3;))",
  });
  auto d = Detector::Create(*plan);
  ASSERT_TRUE(d);
  EXPECT_EQ(Sids(**d, TestPacket("x", true, "198.51.100.7").p), (std::vector<uint32_t>{1, 2}));
  EXPECT_EQ(Sids(**d, TestPacket("x", true, "203.0.113.9", 1, "10.0.0.1", 80).p),
            (std::vector<uint32_t>{1}));
  EXPECT_EQ(Sids(**d, TestPacket("x", false, "10.0.0.1", 5, "198.51.100.7", 53).p),
            (std::vector<uint32_t>{3}));
  EXPECT_EQ(Sids(**d, TestPacket("x", true, "10.0.0.1", 5, "192.168.0.6", 81).p),
            (std::vector<uint32_t>{}));
  EXPECT_GT((**d).stats().address_candidates, 0u);
}

TEST(DetectorTest, PassRuleSuppressesAlertsAndDropIsFlagged) {
  auto plan = Plan({
      R"(drop tcp any any -> any any (msg:"drop"; content:"evil"; sid:1;))",
      R"(pass tcp 10.0.0.2 any -> any any (msg:"trusted"; sid:2;))",
      R"(sdrop tcp any any -> any any (msg:"silent"; content:"evil"; sid:3;))",
  });
  auto d = Detector::Create(*plan);
  ASSERT_TRUE(d);
  std::vector<Alert> alerts;
  (**d).Inspect(TestPacket("evil").p, alerts);
  ASSERT_EQ(alerts.size(), 1u);  // sdrop drops without an alert
  EXPECT_EQ(alerts[0].rule->rule.sid, 1u);
  EXPECT_TRUE(alerts[0].wants_drop);
  alerts.clear();
  (**d).Inspect(TestPacket("evil", true, "10.0.0.2").p, alerts);
  EXPECT_TRUE(alerts.empty());
}

TEST(DetectorTest, LiteralStartingWithNulAndNocase) {
  auto plan = Plan({
      R"(alert udp any any -> any any (msg:"nul"; content:"|00 00 01|abc"; sid:1;))",
      R"(alert udp any any -> any any (msg:"case"; content:"CMD.EXE"; nocase; sid:2;))",
  });
  auto d = Detector::Create(*plan);
  ASSERT_TRUE(d);
  EXPECT_EQ(Sids(**d, TestPacket(std::string("zz\0\0\1abc", 8), false).p),
            (std::vector<uint32_t>{1}));
  EXPECT_EQ(Sids(**d, TestPacket("run cmd.exe /c", false).p), (std::vector<uint32_t>{2}));
}

// The Detector's prefilter must never lose a match: compare with evaluating every rule on every
// packet, over payloads built from the rules' own literals with random noise and near misses.
TEST(DetectorTest, AgreesWithEvaluatingEveryRule) {
  std::vector<std::string> words = {"GET",    "POST",  "admin",    "passwd", "cmd",
                                    "select", "union", "\x90\x90", "evil",   "ok"};
  std::mt19937 rng(7);
  auto pick = [&](size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng); };
  std::vector<std::string> texts;
  for (int sid = 1; sid <= 150; ++sid) {
    std::string opts;
    int n = int(pick(4));
    for (int k = 0; k < n; ++k) {
      std::string w = words[pick(words.size())];
      std::string hex;
      for (unsigned char c : w) hex += fmt::format("{:02X} ", c);
      opts += fmt::format("content:{}\"|{}|\"; ", pick(5) == 0 ? "!" : "", hex);
      if (pick(3) == 0) opts += "nocase; ";
      if (k > 0 && pick(2) == 0)
        opts += fmt::format("distance:{}; within:{}; ", pick(3), 8 + pick(8));
      else if (pick(4) == 0)
        opts += fmt::format("offset:{}; depth:{}; ", pick(3), 10 + pick(10));
    }
    const char* protos[] = {"tcp", "ip", "udp"};
    // Port specifications that land in destination sets, source sets, any, or wide ranges.
    const char* headers[] = {"any any -> any any",       "any any -> any 80",
                             "any any -> any [80,8080]", "any 80 -> any any",
                             "any any <> any 80",        "any any -> any !80",
                             "any 1024: -> any any",     "any [53,80] <> any 40000",
                             "any any -> any 0:2000",    "any any -> any [1:100,!53]"};
    texts.push_back(fmt::format("alert {} {} (msg:\"r{}\"; {}sid:{};)", protos[pick(3)],
                                headers[pick(10)], sid, opts, sid));
  }
  // Every match is reported, however many a packet has (not Suricata's 15 per packet).
  auto plan = Plan(texts, {.packet_alert_max = UINT32_MAX});
  auto d = Detector::Create(*plan);
  ASSERT_TRUE(d);
  size_t total_alerts = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string payload;
    int parts = int(pick(5));
    for (int k = 0; k < parts; ++k) {
      std::string w = words[pick(words.size())];
      if (pick(3) == 0) w[pick(w.size())] ^= 0x20;  // case flip or near miss
      payload += w;
      payload += std::string(pick(4), "xyz "[pick(4)]);
    }
    const uint16_t ports[] = {80, 8080, 40000, 53, 2001};
    TestPacket tp(payload, pick(3) != 0, "10.0.0.1", ports[pick(5)], "192.168.0.5", ports[pick(5)]);
    std::vector<uint32_t> expected;
    for (size_t r = 0; r < plan->rule_count(); ++r) {
      if (MatchRule(plan->rule(r), tp.p)) expected.push_back(plan->rule(r).rule.sid);
    }
    ASSERT_EQ(Sids(**d, tp.p), expected) << "payload '" << payload << "'";
    total_alerts += expected.size();
  }
  EXPECT_GT(total_alerts, 1000u);
}

}  // namespace
}  // namespace vigil::detect

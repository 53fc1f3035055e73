// trafgen's traffic: determinism, read-back by PcapReader, tcpdump and tshark, and clean decoding.
#include "trafgen/trafgen.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <set>
#include <sstream>
#include <string>

#include "decode/decoder.h"
#include "io/pcap_reader.h"
#include "trafgen/protocols.h"
#include "trafgen/random.h"

namespace vigil::trafgen {
namespace {

class TempDir {
 public:
  TempDir() {
    std::string pattern = "/tmp/vigil-trafgen-test-XXXXXX";
    char* made = mkdtemp(pattern.data());
    EXPECT_NE(made, nullptr);
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  [[nodiscard]] std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Output of a shell command, and whether it exited 0.
struct CommandResult {
  std::string out;
  bool ok = false;
};
CommandResult RunCommand(const std::string& command) {
  CommandResult r;
  std::FILE* p = popen(command.c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  r.ok = pclose(p) == 0;
  return r;
}

size_t CountLines(const std::string& s) {
  size_t n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

bool HaveTool(const char* name) {
  return RunCommand(std::string("command -v ") + name + " >/dev/null 2>&1").ok;
}

Options Mixed(uint64_t seed) {
  Options o;
  o.seed = seed;
  o.flows = 120;
  o.concurrency = 16;
  o.ipv6_fraction = 0.3;
  return o;
}

Summary GenerateTo(const Options& o, const std::string& path) {
  auto sink = PcapSink::Open(path);
  EXPECT_TRUE(sink) << sink.error().ToString();
  auto summary = Generate(o, **sink);
  EXPECT_TRUE(summary) << summary.error().ToString();
  EXPECT_TRUE((*sink)->Close());
  return *summary;
}

TEST(RngTest, EngineIsTheStandardMersenneTwister) {
  // The standard fixes mt19937_64's 10000th output for the default seed 5489.
  Rng rng(5489);
  for (int i = 0; i < 9999; ++i) (void)rng.Next();
  EXPECT_EQ(rng.Next(), 9981545732273789042ULL);
}

TEST(RngTest, BoundedDrawsStayInRangeAndCoverIt) {
  Rng rng(3);
  std::vector<int> seen(7, 0);
  for (int i = 0; i < 7000; ++i) {
    uint64_t v = rng.Below(7);
    ASSERT_LT(v, 7u);
    ++seen[v];
  }
  for (int count : seen) EXPECT_GT(count, 800);  // about 1000 each
  for (int i = 0; i < 1000; ++i) {
    uint64_t v = rng.Range(10, 12);
    EXPECT_GE(v, 10u);
    EXPECT_LE(v, 12u);
  }
  EXPECT_EQ(rng.Below(0), 0u);
  EXPECT_EQ(rng.Below(1), 0u);
  EXPECT_EQ(rng.Range(5, 5), 5u);
  EXPECT_FALSE(rng.Chance(0.0));
  EXPECT_TRUE(rng.Chance(1.0));
  const uint32_t weights[] = {0, 5, 0};
  for (int i = 0; i < 100; ++i) EXPECT_EQ(rng.Weighted(weights), 1u);
}

TEST(TrafgenTest, SameSeedGivesByteIdenticalPcap) {
  TempDir dir;
  Options o = Mixed(11);
  o.reorder_rate = 0.1;
  o.retransmit_rate = 0.05;
  GenerateTo(o, dir.File("a.pcap"));
  GenerateTo(o, dir.File("b.pcap"));
  std::string a = ReadFile(dir.File("a.pcap"));
  ASSERT_GT(a.size(), 10'000u);
  EXPECT_TRUE(a == ReadFile(dir.File("b.pcap")));

  o.seed = 12;
  GenerateTo(o, dir.File("c.pcap"));
  EXPECT_FALSE(a == ReadFile(dir.File("c.pcap")));
}

TEST(TrafgenTest, MemorySinkHoldsWhatThePcapHolds) {
  TempDir dir;
  Options o = Mixed(5);
  Summary s = GenerateTo(o, dir.File("t.pcap"));
  MemorySink memory;
  auto again = Generate(o, memory);
  ASSERT_TRUE(again);
  ASSERT_EQ(memory.size(), s.packets);

  auto reader = io::PcapReader::Open(dir.File("t.pcap"));
  ASSERT_TRUE(reader) << reader.error().ToString();
  packet::Batch batch;
  size_t i = 0;
  uint64_t bytes = 0;
  while (true) {
    batch.Clear();
    auto n = (*reader)->ReadBatch(batch);
    ASSERT_TRUE(n) << n.error().ToString();
    if (*n == 0) break;
    for (const packet::Packet& p : batch) {
      ASSERT_LT(i, memory.size());
      std::span<const uint8_t> f = memory.frame(i);
      ASSERT_EQ(p.caplen, f.size()) << "packet " << i + 1;
      EXPECT_TRUE(std::equal(f.begin(), f.end(), p.data)) << "packet " << i + 1;
      EXPECT_EQ(p.ts.sec, memory.timestamp(i).sec);
      EXPECT_EQ(p.ts.nsec / 1000, memory.timestamp(i).nsec / 1000);  // microsecond file
      bytes += p.caplen;
      ++i;
    }
  }
  EXPECT_EQ(i, s.packets);
  EXPECT_EQ(bytes, s.bytes);
}

TEST(TrafgenTest, EveryFrameDecodesWithoutAnomalies) {
  Options o = Mixed(21);
  o.flows = 300;
  o.reorder_rate = 0.1;
  o.retransmit_rate = 0.05;
  o.segment_sizes = {{1460, 1}, {536, 1}, {100, 1}};
  MemorySink memory;
  auto s = Generate(o, memory);
  ASSERT_TRUE(s);
  EXPECT_GT(s->http_flows, 0u);
  EXPECT_GT(s->dns_flows, 0u);
  EXPECT_GT(s->tls_flows, 0u);
  EXPECT_GT(s->raw_tcp_flows + s->raw_udp_flows, 0u);
  EXPECT_GT(s->ipv6_flows, 0u);
  EXPECT_GT(s->reordered_segments, 0u);
  EXPECT_GT(s->retransmitted_segments, 0u);
  decode::Decoder decoder;
  uint64_t v6 = 0;
  for (size_t i = 0; i < memory.size(); ++i) {
    std::span<const uint8_t> f = memory.frame(i);
    packet::Packet p;
    p.data = f.data();
    p.caplen = p.wirelen = uint32_t(f.size());
    p.number = i + 1;
    decoder.Decode(p);
    ASSERT_NE(p.ip_version, 0) << "packet " << i + 1;
    ASSERT_TRUE(p.has_tcp || p.has_udp) << "packet " << i + 1;
    v6 += p.ip_version == 6;
  }
  EXPECT_EQ(decoder.stats().TotalAnomalies(), 0u);
  EXPECT_GT(v6, 0u);
}

TEST(TrafgenTest, MixAndPacketLimitAreHonoured) {
  Options o = Mixed(4);
  o.mix = {.http = 0, .dns = 100, .tls = 0, .raw = 0};
  MemorySink memory;
  auto s = Generate(o, memory);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->dns_flows, o.flows);
  EXPECT_EQ(s->dns_queries * 2, s->packets);  // a query and an answer each

  o = Mixed(4);
  o.max_packets = 777;
  MemorySink limited;
  s = Generate(o, limited);
  ASSERT_TRUE(s);
  EXPECT_EQ(limited.size(), 777u);

  o.concurrency = 0;
  EXPECT_FALSE(Generate(o, limited));
  o = Mixed(4);
  o.client_v4 = "10.0.0.0/33";
  EXPECT_FALSE(Generate(o, limited));
  o = Mixed(4);
  o.mix = {0, 0, 0, 0};
  EXPECT_FALSE(Generate(o, limited));
}

TEST(TrafgenTest, ConcurrencyInterleavesFlows) {
  // With one flow at a time, a flow's packets are contiguous: a TCP flow's 5-tuple never comes
  // back after another flow started. With a window, they interleave.
  auto switches = [](uint64_t concurrency) {
    Options o = Mixed(8);
    o.ipv6_fraction = 0;
    o.concurrency = concurrency;
    MemorySink memory;
    EXPECT_TRUE(Generate(o, memory));
    decode::Decoder decoder;
    std::string last;
    std::set<std::string> finished;
    size_t returns = 0;
    for (size_t i = 0; i < memory.size(); ++i) {
      packet::Packet p;
      auto f = memory.frame(i);
      p.data = f.data();
      p.caplen = p.wirelen = uint32_t(f.size());
      decoder.Decode(p);
      std::string a = p.src_ip.ToString() + ":" + std::to_string(p.src_port);
      std::string b = p.dst_ip.ToString() + ":" + std::to_string(p.dst_port);
      std::string key = a < b ? a + "-" + b : b + "-" + a;
      if (key != last) {
        if (finished.count(key)) ++returns;
        if (!last.empty()) finished.insert(last);
        last = key;
      }
    }
    return returns;
  };
  EXPECT_EQ(switches(1), 0u);
  EXPECT_GT(switches(16), 50u);
}

TEST(TrafgenTest, TcpdumpReadsEveryPacket) {
  if (!HaveTool("tcpdump")) GTEST_SKIP() << "tcpdump not installed";
  TempDir dir;
  Options o = Mixed(31);
  o.reorder_rate = 0.05;
  o.retransmit_rate = 0.02;
  Summary s = GenerateTo(o, dir.File("t.pcap"));
  CommandResult r = RunCommand("tcpdump -nr " + dir.File("t.pcap") + " 2>/dev/null");
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(CountLines(r.out), s.packets);
}

TEST(TrafgenTest, TsharkDecodesHttpDnsAndTls) {
  if (!HaveTool("tshark")) GTEST_SKIP() << "tshark not installed";
  TempDir dir;
  Options o = Mixed(41);
  o.flows = 80;
  Summary s = GenerateTo(o, dir.File("t.pcap"));
  ASSERT_GT(s.http_requests, 0u);
  const std::string tshark = "tshark -n -r " + dir.File("t.pcap");

  CommandResult http =
      RunCommand(tshark + " -Y http.request -T fields -e http.request.method 2>/dev/null");
  ASSERT_TRUE(http.ok);
  EXPECT_EQ(CountLines(http.out), s.http_requests);
  EXPECT_NE(http.out.find("GET\n"), std::string::npos);
  CommandResult responses = RunCommand(tshark +
                                       " -Y http.response -T fields -e http.response.code"
                                       " 2>/dev/null");
  EXPECT_EQ(CountLines(responses.out), s.http_requests);

  CommandResult dns = RunCommand(tshark +
                                 " -Y 'dns.flags.response == 0' -T fields -e dns.qry.name"
                                 " 2>/dev/null");
  EXPECT_EQ(CountLines(dns.out), s.dns_queries);
  CommandResult answers = RunCommand(tshark +
                                     " -Y 'dns.flags.response == 1' -T fields -e dns.qry.name"
                                     " 2>/dev/null");
  EXPECT_EQ(CountLines(answers.out), s.dns_queries);

  CommandResult sni = RunCommand(tshark +
                                 " -Y 'tls.handshake.type == 1' -T fields -e "
                                 "tls.handshake.extensions_server_name 2>/dev/null");
  EXPECT_EQ(CountLines(sni.out), s.tls_flows);
  EXPECT_EQ(sni.out.find("\n\n"), std::string::npos) << "a ClientHello without a parsed SNI";
  CommandResult hello = RunCommand(tshark + " -Y 'tls.handshake.type == 2' 2>/dev/null");
  EXPECT_EQ(CountLines(hello.out), s.tls_flows);

  CommandResult malformed = RunCommand(tshark + " -Y '_ws.malformed' 2>/dev/null");
  EXPECT_EQ(malformed.out, "");
}

// Reordered and retransmitted segments, IPv4 and IPv6: tshark, told to reassemble out-of-order
// segments as a stack would, finds nothing malformed and no warning or error outside its TCP
// sequence analysis (which rightly notes the reordering itself). With its default of not
// reassembling out of order, tshark parses a late segment's bytes as a new message and reports
// "illegal characters" in HTTP headers: a property of the dissector, not of the traffic.
//
// One tshark 4.0 defect is allowed for: when the last LF of a chunked body ("0\r\n\r\n") is the
// only byte of the next segment, tshark dissects the message one byte early and reports it
// malformed (a hand-made six-packet capture of a valid chunked response shows the same). Each
// malformed frame must be exactly that: its direction's next segment is that one LF.
TEST(TrafgenTest, TsharkFindsNoErrorsInReorderedTraffic) {
  if (!HaveTool("tshark")) GTEST_SKIP() << "tshark not installed";
  TempDir dir;
  Options o = Mixed(43);
  o.flows = 400;
  o.concurrency = 50;
  o.reorder_rate = 0.02;
  o.retransmit_rate = 0.02;
  Summary s = GenerateTo(o, dir.File("t.pcap"));
  ASSERT_GT(s.reordered_segments, 0u);
  ASSERT_GT(s.retransmitted_segments, 0u);
  const std::string tshark =
      "tshark -n -o tcp.reassemble_out_of_order:TRUE -r " + dir.File("t.pcap");
  // Severity warning is 0x00600000 and up; group 0x02000000 is "Sequence" (TCP analysis).
  CommandResult bad = RunCommand(tshark +
                                 " -Y '(_ws.expert.severity >= 0x00600000 &&"
                                 " _ws.expert.group != 0x02000000) && !_ws.malformed' 2>/dev/null");
  ASSERT_TRUE(bad.ok);
  EXPECT_EQ(bad.out, "");
  // Malformed frames as "stream nextseq", and every one-byte LF segment as "stream seq".
  CommandResult malformed = RunCommand(tshark +
                                       " -Y _ws.malformed -T fields -e tcp.stream"
                                       " -e tcp.srcport -e tcp.nxtseq 2>/dev/null");
  CommandResult lone_lf = RunCommand(tshark +
                                     " -Y 'tcp.len == 1 && tcp.payload == 0a' -T fields"
                                     " -e tcp.stream -e tcp.srcport -e tcp.seq"
                                     " 2>/dev/null");
  ASSERT_TRUE(malformed.ok && lone_lf.ok);
  std::set<std::string> lf_segments;
  std::istringstream lf(lone_lf.out);
  for (std::string line; std::getline(lf, line);) lf_segments.insert(line);
  std::istringstream m(malformed.out);
  for (std::string line; std::getline(m, line);) {
    EXPECT_TRUE(lf_segments.count(line))
        << "malformed, and not the split chunk terminator: " << line;
  }
  CommandResult http = RunCommand(tshark +
                                  " -Y http.request -T fields -e http.request.method"
                                  " 2>/dev/null");
  EXPECT_EQ(CountLines(http.out), s.http_requests);
}

TEST(ProtocolsTest, DnsAnswersUseCompressionPointers) {
  Rng rng(9);
  int pointers = 0;
  int cname_targets = 0;
  for (int i = 0; i < 200; ++i) {
    DnsExchange d = MakeDnsExchange(rng, "www.example.com");
    ASSERT_GE(d.response.size(), d.query.size());
    // The question is repeated verbatim after the 12-byte header.
    EXPECT_TRUE(std::equal(d.query.begin() + 12, d.query.end(), d.response.begin() + 12));
    uint16_t answers = uint16_t(d.response[6] << 8 | d.response[7]);
    if (answers == 0) continue;
    size_t at = d.query.size();
    // Every answer's owner name is a pointer (0xC0 prefix) into the message.
    for (uint16_t a = 0; a < answers; ++a) {
      ASSERT_LT(at + 12, d.response.size());
      EXPECT_EQ(d.response[at] & 0xc0, 0xc0);
      uint16_t target = uint16_t((d.response[at] & 0x3f) << 8 | d.response[at + 1]);
      EXPECT_LT(target, at);
      ++pointers;
      cname_targets += target != 12;
      uint16_t rdlength = uint16_t(d.response[at + 10] << 8 | d.response[at + 11]);
      at += 12 + rdlength;
    }
    EXPECT_EQ(at, d.response.size());
  }
  EXPECT_GT(pointers, 200);
  EXPECT_GT(cname_targets, 0);  // A records owned by a CNAME target, not the question
}

}  // namespace
}  // namespace vigil::trafgen

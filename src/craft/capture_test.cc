#include "craft/capture.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <sstream>
#include <string>

#include "craft/tcp_session.h"
#include "io/pcap_reader.h"

namespace vigil::craft {
namespace {

class TempDir {
 public:
  TempDir() {
    std::string pattern = "/tmp/vigil-craft-test-XXXXXX";
    EXPECT_NE(mkdtemp(pattern.data()), nullptr);
    path_ = pattern;
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  [[nodiscard]] std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

struct ReadBack {
  std::vector<Bytes> frames;
  std::vector<packet::Timestamp> times;
  packet::LinkType linktype = packet::LinkType::kEthernet;
};

ReadBack ReadCapture(const std::string& path) {
  ReadBack out;
  auto reader = io::PcapReader::Open(path);
  EXPECT_TRUE(reader) << reader.error().ToString();
  if (!reader) return out;
  out.linktype = (*reader)->linktype();
  packet::Batch batch;
  while (true) {
    batch.Clear();
    auto n = (*reader)->ReadBatch(batch);
    EXPECT_TRUE(n) << n.error().ToString();
    if (!n || *n == 0) break;
    for (const packet::Packet& p : batch) {
      out.frames.emplace_back(p.data, p.data + p.caplen);
      out.times.push_back(p.ts);
      EXPECT_EQ(p.wirelen, p.caplen);
    }
  }
  return out;
}

// A session that touches every builder feature tcpdump should decode cleanly.
Capture EverythingCapture(CaptureOptions options = {}) {
  Capture capture(options);
  TcpSession v4(
      {Addr("192.0.2.1"), 40000}, {Addr("198.51.100.7"), 80},
      {.ethernet = EthernetHeader{.vlans = {{.id = 100, .tpid = kEtherTypeQinQ}, {.id = 200}}},
       .syn_options = {2, 4, 0x05, 0xb4}});
  capture.Add(v4.Handshake());
  capture.Add(v4.ClientSends("GET /index.html HTTP/1.1\r\nHost: example\r\n\r\n"));
  capture.Add(v4.ServerSends(Bytes(4000, 'a'), 1460));
  capture.Add(v4.Close());
  TcpSession v6({Addr("2001:db8::1"), 50000}, {Addr("2001:db8::2"), 443});
  capture.Add(v6.Handshake());
  capture.Add(v6.ClientSends(Bytes(100, 'b')));
  capture.Add(v6.Reset(Side::kServer));
  capture.Add(UdpFrame({Addr("10.0.0.1"), 5555}, {Addr("10.0.0.9"), 9999}, ToBytes("hello")));
  capture.Add(IcmpEchoFrame(Addr("10.0.0.1"), Addr("10.0.0.2"), false, 1, 1, Bytes(56, 0)));
  capture.Add(IcmpEchoFrame(Addr("fe80::1"), Addr("fe80::2"), true, 1, 1, Bytes(56, 0)));
  Bytes big = UdpFrame({Addr("10.0.0.1"), 1000}, {Addr("10.0.0.2"), 2000}, Bytes(3000, 'c'));
  capture.Add(*Fragment(big, 1480));
  Bytes big6 = BuildFrame({
      .ip = {.src = Addr("2001:db8::1"), .dst = Addr("2001:db8::2"), .extensions = {HopByHop()}},
      .transport = UdpHeader{.src_port = 1000, .dst_port = 2000},
      .payload = Bytes(3000, 'd'),
  });
  capture.Add(*Fragment(big6, 1232));
  return capture;
}

TEST(CaptureTest, WrittenCaptureReadsBackIdentically) {
  TempDir dir;
  Capture capture({.start = {1'600'000'000, 999'999'000}, .step_ns = 1'000'000});
  const Bytes a = UdpFrame({Addr("10.0.0.1"), 1}, {Addr("10.0.0.2"), 2}, ToBytes("a"));
  const Bytes b = UdpFrame({Addr("10.0.0.1"), 1}, {Addr("10.0.0.2"), 2}, ToBytes("bb"));
  capture.Add(a).Add(b).Wait(5'000'000'000).Add(a).AddAt({1'700'000'000, 0}, b).Add(a);
  ASSERT_TRUE(capture.WriteTo(dir.File("t.pcap")));

  ReadBack got = ReadCapture(dir.File("t.pcap"));
  ASSERT_EQ(got.frames.size(), 5u);
  for (size_t i = 0; i < 5; ++i) EXPECT_EQ(got.frames[i], capture.records()[i].data);
  const std::vector<std::pair<int64_t, uint32_t>> want = {{1'600'000'000, 999'999'000},
                                                          {1'600'000'001, 999'000},
                                                          {1'600'000'006, 1'999'000},
                                                          {1'700'000'000, 0},
                                                          {1'700'000'000, 1'000'000}};
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(got.times[i].sec, want[i].first) << i;
    EXPECT_EQ(got.times[i].nsec, want[i].second) << i;
  }
}

TEST(CaptureTest, RawLinkTypeAndNanosecondsRoundTrip) {
  TempDir dir;
  Capture capture(
      {.start = {5, 1}, .step_ns = 3, .linktype = packet::LinkType::kRaw, .nanosecond = true});
  TcpSession s({Addr("10.0.0.1"), 1}, {Addr("10.0.0.2"), 2}, {.ethernet = std::nullopt});
  capture.Add(s.Handshake());
  ASSERT_TRUE(capture.WriteTo(dir.File("raw.pcap")));
  ReadBack got = ReadCapture(dir.File("raw.pcap"));
  EXPECT_EQ(got.linktype, packet::LinkType::kRaw);
  ASSERT_EQ(got.frames.size(), 3u);
  EXPECT_EQ(got.frames[2], capture.records()[2].data);
  EXPECT_EQ(got.times[2].nsec, 7u);
}

TEST(CaptureTest, EverythingReadsBackIdentically) {
  TempDir dir;
  Capture capture = EverythingCapture();
  ASSERT_TRUE(capture.WriteTo(dir.File("all.pcap")));
  ReadBack got = ReadCapture(dir.File("all.pcap"));
  ASSERT_EQ(got.frames.size(), capture.size());
  for (size_t i = 0; i < got.frames.size(); ++i)
    EXPECT_EQ(got.frames[i], capture.records()[i].data);
}

TEST(CaptureTest, WriteToABadPathFails) {
  Capture capture;
  auto s = capture.WriteTo("/nonexistent-dir/x.pcap");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().file, "/nonexistent-dir/x.pcap");
}

// Runs a command and returns its standard output and error together.
std::string RunCommand(const std::string& command) {
  std::string out;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), pipe)) > 0) out.append(buf, n);
  pclose(pipe);
  return out;
}

TEST(CaptureTest, TcpdumpDecodesEveryFrameWithoutComplaint) {
  if (RunCommand("command -v tcpdump").empty()) {
    GTEST_SKIP() << "tcpdump is not on PATH; this cross-check needs it";
  }
  TempDir dir;
  Capture capture = EverythingCapture();
  const std::string path = dir.File("all.pcap");
  ASSERT_TRUE(capture.WriteTo(path));
  // -v makes tcpdump verify the IP, TCP, UDP and ICMP checksums; -e shows the VLAN tags; -tt starts
  // each packet's line with its epoch time, so packet lines are easy to count.
  const std::string out = RunCommand("tcpdump -nn -v -e -tt -r " + path);
  size_t packets = 0;
  std::istringstream lines(out);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("1700000", 0) == 0) ++packets;
    for (const char* complaint : {"truncated", "bad", "incorrect", "[|", "malformed", "invalid"}) {
      EXPECT_EQ(line.find(complaint), std::string::npos) << complaint << " in: " << line;
    }
  }
  EXPECT_EQ(packets, capture.size()) << out;
  // Spot checks that tcpdump saw what was built.
  EXPECT_NE(out.find("vlan 200"), std::string::npos) << out;
  EXPECT_NE(out.find("Flags [S], cksum"), std::string::npos) << out;
  EXPECT_NE(out.find("(correct)"), std::string::npos) << out;
  EXPECT_NE(out.find("frag (0x00c0ffee:"), std::string::npos) << out;
  EXPECT_NE(out.find("ICMP echo request"), std::string::npos) << out;
}

}  // namespace
}  // namespace vigil::craft

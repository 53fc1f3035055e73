// `vigil bpf run` (src/cli/bpf_command.cc): the parser program of tests/ebpf over a crafted capture
// gives the right per-packet verdicts, histogram, instruction count and map dump, on every engine;
// `vigil bpf bench` times each.
#include "cli/bpf_command.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "craft/capture.h"
#include "craft/frame.h"

namespace vigil::cli {
namespace {

struct Output {
  int rc;
  std::string out, err;
};

Output RunCommand(std::vector<std::string> args) {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  char *out_buf = nullptr, *err_buf = nullptr;
  size_t out_len = 0, err_len = 0;
  std::FILE* out = open_memstream(&out_buf, &out_len);
  std::FILE* err = open_memstream(&err_buf, &err_len);
  const int rc = RunBpfCommand(int(argv.size()), argv.data(), out, err);
  std::fclose(out);
  std::fclose(err);
  Output o{rc, std::string(out_buf, out_len), std::string(err_buf, err_len)};
  free(out_buf);
  free(err_buf);
  return o;
}

class BpfCommand : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("vigil_bpf_cmd_" + std::to_string(getpid()));
    std::filesystem::create_directories(dir_);
    pcap_ = (dir_ / "in.pcap").string();
    craft::Capture capture;
    const uint16_t ports[] = {80, 23, 445, 53};
    for (uint16_t port : ports)
      capture.Add(
          craft::BuildFrame({.ip = {.src = craft::Addr("10.0.0.1"), .dst = craft::Addr("10.0.0.2")},
                             .transport = craft::TcpHeader{.src_port = 1234, .dst_port = port}}));
    ASSERT_TRUE(capture.WriteTo(pcap_));
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::filesystem::path dir_;
  std::string pcap_;
  const std::string object_ = std::string(VIGIL_BPF_OBJ_DIR) + "/parser.o";
};

TEST_F(BpfCommand, PrintsVerdictsHistogramAndMaps) {
  Output o = RunCommand(
      {"bpf", "run", object_, "--section", "xdp", "--pcap", pcap_, "--checked", "--map-dump"});
  ASSERT_EQ(o.rc, 0) << o.err;
  EXPECT_NE(o.out.find("packet 1: XDP_PASS\n"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("packet 2: XDP_DROP\n"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("packet 3: XDP_DROP\n"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("packet 4: XDP_PASS\n"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("verdicts: XDP_ABORTED 0 XDP_DROP 2 XDP_PASS 2 XDP_TX 0 XDP_REDIRECT 0\n"),
            std::string::npos)
      << o.out;
  // Checked mode counts instructions: a few dozen per packet.
  auto pos = o.out.find("instructions executed: ");
  ASSERT_NE(pos, std::string::npos);
  const long count = std::stol(o.out.substr(pos + 23));
  EXPECT_GT(count, 4 * 20);
  EXPECT_LT(count, 4 * 200);
  // verdicts[1] = 2 and verdicts[2] = 2; ports has (6, 80), (6, 23), (6, 445), (6, 53).
  EXPECT_NE(o.out.find("map verdicts (array, key 4 bytes, value 8 bytes): 2 non-zero entries"),
            std::string::npos)
      << o.out;
  EXPECT_NE(o.out.find("  key 01000000 value 0200000000000000\n"), std::string::npos);
  EXPECT_NE(o.out.find("  key 02000000 value 0200000000000000\n"), std::string::npos);
  EXPECT_NE(o.out.find("map ports (hash, key 4 bytes, value 8 bytes): 4 non-zero entries"),
            std::string::npos);
  EXPECT_NE(o.out.find("  key 06001700 value 0100000000000000\n"), std::string::npos);  // port 23
}

// Records a program writes to a ring buffer are read and printed per packet, and counted.
TEST_F(BpfCommand, PrintsAndCountsEvents) {
  const std::string object = std::string(VIGIL_BPF_OBJ_DIR) + "/verifier/pass/ringbuf_events.v1.o";
  Output o = RunCommand({"bpf", "run", object, "--pcap", pcap_, "--map-dump"});
  ASSERT_EQ(o.rc, 0) << o.err;
  // struct event: saddr 10.0.0.1, daddr 10.0.0.2, the frame's length, protocol 6 (TCP).
  EXPECT_NE(o.out.find("packet 1: event events: 12 bytes: 0a0000010a000002"), std::string::npos)
      << o.out;
  EXPECT_NE(o.out.find("events events: 4 read, 0 dropped (map full)\n"), std::string::npos)
      << o.out;
  EXPECT_NE(o.out.find("map events (ringbuf): not dumped"), std::string::npos) << o.out;
}

TEST_F(BpfCommand, FastModeSaysItDoesNotCount) {
  Output o = RunCommand({"bpf", "run", object_, "--pcap", pcap_, "--quiet"});
  ASSERT_EQ(o.rc, 0) << o.err;
  EXPECT_EQ(o.out.find("packet 1:"), std::string::npos);
  EXPECT_NE(o.out.find("instructions executed: not counted"), std::string::npos) << o.out;
}

// Every engine gives the same per-packet verdicts and map contents, and so does the JIT with
// constant blinding.
TEST_F(BpfCommand, EnginesAgree) {
  std::string first, jit;
  for (const char* engine : {"jit", "interp", "checked"}) {
    Output o =
        RunCommand({"bpf", "run", object_, "--pcap", pcap_, "--engine", engine, "--map-dump"});
    ASSERT_EQ(o.rc, 0) << engine << ": " << o.err;
    EXPECT_NE(o.out.find("packet 2: XDP_DROP\n"), std::string::npos) << o.out;
    if (jit.empty()) jit = o.out;
    // Only the instruction count line may differ.
    const size_t count = o.out.find("instructions executed");
    ASSERT_NE(count, std::string::npos);
    const std::string report = o.out.substr(0, count) + o.out.substr(o.out.find('\n', count));
    if (first.empty()) first = report;
    EXPECT_EQ(report, first) << engine;
  }
  Output blinded =
      RunCommand({"bpf", "run", object_, "--pcap", pcap_, "--blind-constants", "--map-dump"});
  ASSERT_EQ(blinded.rc, 0) << blinded.err;
  EXPECT_EQ(blinded.out, jit);
  EXPECT_EQ(RunCommand({"bpf", "run", object_, "--pcap", pcap_, "--engine", "fast"}).rc, 1);
}

TEST_F(BpfCommand, BenchTimesEveryEngine) {
  Output o =
      RunCommand({"bpf", "bench", object_, "-r", pcap_, "--seconds", "0.01", "--rounds", "1"});
  ASSERT_EQ(o.rc, 0) << o.err;
  EXPECT_NE(o.out.find("4 frames, median of 1 rounds"), std::string::npos) << o.out;
  for (const char* line : {"  jit ", "  interp ", "  checked ", "  kernel "}) {
    EXPECT_NE(o.out.find(line), std::string::npos) << line << " in " << o.out;
  }
  EXPECT_NE(o.out.find(" 1.00x the JIT\n"), std::string::npos) << o.out;
}

TEST_F(BpfCommand, ErrorsAreReported) {
  EXPECT_EQ(RunCommand({"bpf", "run", object_}).rc, 1);  // --pcap missing
  EXPECT_EQ(RunCommand({"bpf"}).rc, 1);                  // no subcommand
  Output o = RunCommand({"bpf", "run", object_, "--section", "tc", "--pcap", pcap_});
  EXPECT_EQ(o.rc, 1);
  EXPECT_NE(o.err.find("no program in section 'tc'"), std::string::npos) << o.err;
  o = RunCommand({"bpf", "run", pcap_, "--pcap", pcap_});  // a pcap is not an object
  EXPECT_EQ(o.rc, 1);
  EXPECT_NE(o.err.find("not an ELF file"), std::string::npos) << o.err;
  o = RunCommand({"bpf", "run", object_, "--pcap", (dir_ / "missing.pcap").string()});
  EXPECT_EQ(o.rc, 1);
}

TEST_F(BpfCommand, VerifyAcceptsWithStatistics) {
  Output o = RunCommand({"bpf", "verify", object_});
  ASSERT_EQ(o.rc, 0) << o.out << o.err;
  // "accepted: 205 instructions, 159 states, 0.220 ms"
  EXPECT_TRUE(o.out.starts_with("accepted: ")) << o.out;
  EXPECT_NE(o.out.find(" instructions, "), std::string::npos) << o.out;
  EXPECT_NE(o.out.find(" states, "), std::string::npos) << o.out;
  EXPECT_TRUE(o.out.ends_with(" ms\n")) << o.out;
}

TEST_F(BpfCommand, VerifyRefusesWithTheSourceLineAndRunRunsNothing) {
  const std::string unsafe =
      std::string(VIGIL_BPF_OBJ_DIR) + "/verifier/fail/c_missing_ip_check.v1.o";
  Output o = RunCommand({"bpf", "verify", unsafe, "--section", "xdp"});
  EXPECT_EQ(o.rc, 1);
  // The C line, the register and what was proven.
  EXPECT_NE(o.out.find("refused: "), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("c_missing_ip_check.c:13: `return ip->protocol == IPPROTO_TCP"),
            std::string::npos)
      << o.out;
  EXPECT_NE(o.out.find("r1 = packet reads 1 byte at offset 23, but only 14 bytes are proven "
                       "before data_end (compare data + 24 with data_end first)"),
            std::string::npos)
      << o.out;
  o = RunCommand({"bpf", "run", unsafe, "--pcap", pcap_});
  EXPECT_EQ(o.rc, 1);
  EXPECT_NE(o.err.find("refused by the verifier"), std::string::npos) << o.err;
  EXPECT_EQ(o.out.find("packet 1"), std::string::npos) << o.out;
  EXPECT_EQ(RunCommand({"bpf", "verify", object_, "--section", "tc"}).rc, 1);
}

}  // namespace
}  // namespace vigil::cli

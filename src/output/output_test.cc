#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "output/alert_writers.h"
#include "output/summary.h"

namespace vigil::output {
namespace {

struct Fixture {
  detect::CompiledRule rule;
  packet::Packet packet;
  Fixture() {
    rule.rule.gid = 1;
    rule.rule.sid = 2019401;
    rule.rule.rev = 3;
    rule.rule.msg = "ET POLICY \"quoted\" \\ test";
    rule.class_description = "Potential Corporate Privacy Violation";
    rule.priority = 1;
    packet.ts = {1700000000, 123456789};  // 2023-11-14 22:13:20.123456 UTC
    packet.number = 42;
    packet.ip_version = 4;
    packet.src_ip = *base::IpAddress::Parse("10.0.0.1");
    packet.dst_ip = *base::IpAddress::Parse("192.168.1.9");
    packet.ip_proto = packet::kProtoTcp;
    packet.has_tcp = true;
    packet.src_port = 51234;
    packet.dst_port = 80;
  }
};

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string TempPath(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() / "vigil_output_test";
  std::filesystem::create_directories(dir);
  return (dir / name).string();
}

class OutputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    setenv("TZ", "UTC", 1);
    tzset();
  }
};

TEST_F(OutputTest, AlertFastLineHasSnortLayout) {
  Fixture f;
  auto path = TempPath("fast.txt");
  {
    auto w = AlertFastWriter::Open(path);
    ASSERT_TRUE(w);
    (*w)->Write(f.packet, {&f.rule, false});
  }
  EXPECT_EQ(ReadAll(path),
            "11/14-22:13:20.123456 [**] [1:2019401:3] \"ET POLICY \"quoted\" \\ test\" [**] "
            "[Classification: Potential Corporate Privacy Violation] [Priority: 1] {TCP} "
            "10.0.0.1:51234 -> 192.168.1.9:80\n");
}

TEST_F(OutputTest, AlertFastIcmpAndIpv6Forms) {
  Fixture f;
  f.rule.class_description.clear();
  f.packet.has_tcp = false;
  f.packet.has_icmp = true;
  f.packet.ip_proto = packet::kProtoIcmp;
  auto path = TempPath("fast_icmp.txt");
  {
    auto w = AlertFastWriter::Open(path);
    ASSERT_TRUE(w);
    (*w)->Write(f.packet, {&f.rule, true});
    f.packet = Fixture().packet;
    f.packet.src_ip = *base::IpAddress::Parse("2001:db8::1");
    f.packet.dst_ip = *base::IpAddress::Parse("2001:db8::2");
    (*w)->Write(f.packet, {&f.rule, false});
  }
  std::string text = ReadAll(path);
  EXPECT_NE(text.find("[Drop] [**] [1:2019401:3]"), std::string::npos);
  EXPECT_NE(text.find("[Priority: 1] {ICMP} 10.0.0.1 -> 192.168.1.9\n"), std::string::npos);
  EXPECT_EQ(text.find("Classification"), std::string::npos);
  EXPECT_NE(text.find("{TCP} [2001:db8::1]:51234 -> [2001:db8::2]:80\n"), std::string::npos);
}

// A tenant with `policy: ids` in an inline run: its drop rules' alerts read as would-drop.
TEST_F(OutputTest, AlertOnlyPipelineReportsWouldDrop) {
  Fixture f;
  auto fast_path = TempPath("fast_alert_only.txt");
  auto eve_path = TempPath("eve_alert_only.json");
  {
    auto fast = AlertFastWriter::Open(fast_path);
    auto eve = EveWriter::Open(eve_path, /*inline_mode=*/true);
    ASSERT_TRUE(fast && eve);
    const detect::Alert a{&f.rule, true};
    (*fast)->Write(f.packet, a, /*alert_only=*/true);
    (*fast)->Write(f.packet, a);
    (*eve)->Write(f.packet, a, {.alert_only = true});
    (*eve)->Write(f.packet, a);
  }
  const std::string fast = ReadAll(fast_path);
  const size_t would = fast.find("[wDrop] [**] [1:2019401:3]");
  ASSERT_NE(would, std::string::npos) << fast;
  EXPECT_NE(fast.find("[Drop] [**] [1:2019401:3]", would), std::string::npos) << fast;
  const std::string eve = ReadAll(eve_path);
  const size_t allowed = eve.find(R"("action":"allowed")");
  ASSERT_NE(allowed, std::string::npos) << eve;
  EXPECT_LT(allowed, eve.find('\n')) << "the first record's alert is allowed";
  EXPECT_NE(eve.find(R"("verdict":{"action":"alert")"), std::string::npos) << eve;
  EXPECT_NE(eve.find(R"("action":"blocked")", eve.find('\n')), std::string::npos) << eve;
}

TEST_F(OutputTest, EveAlertHasSuricataFields) {
  Fixture f;
  auto path = TempPath("eve.json");
  {
    auto w = EveWriter::Open(path);
    ASSERT_TRUE(w);
    (*w)->Write(f.packet, {&f.rule, true});
  }
  std::string line = ReadAll(path);
  std::string expected_prefix = R"({"timestamp":"2023-11-14T22:13:20.123456+0000","flow_id":)";
  EXPECT_EQ(line.substr(0, expected_prefix.size()), expected_prefix);
  EXPECT_NE(
      line.find(
          R"("pcap_cnt":42,"event_type":"alert","src_ip":"10.0.0.1","src_port":51234,)"
          R"("dest_ip":"192.168.1.9","dest_port":80,"proto":"TCP","ip_v":4,"pkt_src":"wire/pcap",)"
          R"("stream":0,"alert":{)"),
      std::string::npos);
  EXPECT_NE(line.find(R"("alert":{"action":"allowed","gid":1,"signature_id":2019401,"rev":3,)"
                      R"("signature":"ET POLICY \"quoted\" \\ test",)"
                      R"("category":"Potential Corporate Privacy Violation","severity":1},)"),
            std::string::npos);
  EXPECT_EQ(line.back(), '\n');
}

TEST_F(OutputTest, EvePacketSourceNamesTheStageThatMadeThePacket) {
  // Suricata's pkt_src: the defragmenter, else the decoder of the tunnel that held the packet.
  Fixture f;
  packet::Packet gre_outer = Fixture().packet;
  gre_outer.ip_proto = 47;
  packet::Packet v6_outer = Fixture().packet;
  v6_outer.ip_version = 6;
  v6_outer.ip_proto = packet::kProtoIpv6;
  auto path = TempPath("eve_pkt_src.json");
  {
    auto w = EveWriter::Open(path);
    ASSERT_TRUE(w);
    f.packet.outer = &gre_outer;
    (*w)->Write(f.packet, {&f.rule, false});
    (*w)->Write(f.packet, {&f.rule, false}, AlertMeta{.rebuilt = true});
    f.packet.outer = &v6_outer;
    (*w)->Write(f.packet, {&f.rule, false});
  }
  std::istringstream lines(ReadAll(path));
  std::string line;
  std::vector<std::string> sources;
  while (std::getline(lines, line)) {
    size_t at = line.find(R"("pkt_src":")");
    ASSERT_NE(at, std::string::npos) << line;
    at += 11;
    sources.push_back(line.substr(at, line.find('"', at) - at));
    EXPECT_NE(line.find(R"("tunnel":{"src_ip":"10.0.0.1","dest_ip":"192.168.1.9","proto":)"),
              std::string::npos)
        << line;
  }
  EXPECT_EQ(sources, (std::vector<std::string>{"gre tunnel", "defrag", "ipv6 tunnel"}));
}

TEST_F(OutputTest, EveAlertCarriesPacketAndVerdict) {
  // Suricata's `packet: yes` and `verdict: yes` fields: the captured bytes in base64, the link
  // type by libpcap's number and Suricata's name, and the packet's final verdict.
  Fixture f;
  const uint8_t frame[] = {0x00, 0x01, 0x02, 0x03, 0xfe, 0xff, 0x10};
  f.packet.data = frame;
  f.packet.caplen = sizeof frame;
  f.packet.linktype = packet::LinkType::kLinuxSll;
  detect::CompiledRule drop_rule = f.rule;
  drop_rule.rule.sid = 7;
  auto path = TempPath("eve_packet.json");
  {
    auto w = EveWriter::Open(path);
    ASSERT_TRUE(w);
    (*w)->Write(f.packet, {&f.rule, false});
  }
  std::string line = ReadAll(path);
  EXPECT_NE(line.find(R"("packet":"AAECA/7/EA==","packet_info":{"linktype":113,)"
                      R"("linktype_name":"LINUX_SLL"},"verdict":{"action":"alert"}})"),
            std::string::npos)
      << line;
}

TEST_F(OutputTest, VerdictFollowsSuricata) {
  Fixture f;
  detect::CompiledRule r = f.rule;
  detect::Alert alert{&r, false};
  detect::Alert drop{&r, true};
  drop.action = rules::Action::kDrop;
  detect::Alert reject{&r, true};
  reject.action = rules::Action::kRejectBoth;
  detect::Alert pass{&r, false};
  pass.action = rules::Action::kPass;
  auto verdict = [&](std::initializer_list<detect::Alert> alerts, bool inline_mode) {
    std::vector<detect::Alert> v(alerts);
    return VerdictOf(f.packet, v, inline_mode);
  };
  EXPECT_STREQ(verdict({alert, alert}, false).action, "alert");
  EXPECT_STREQ(verdict({alert, drop}, false).action, "alert");  // IDS: nothing is dropped
  EXPECT_STREQ(verdict({alert, drop}, true).action, "drop");
  EXPECT_EQ(verdict({alert, drop}, true).reject_target, nullptr);
  EXPECT_STREQ(verdict({reject}, false).action, "alert");
  EXPECT_STREQ(verdict({reject}, false).reject_target, "both");
  EXPECT_STREQ(verdict({reject}, true).action, "drop");
  EXPECT_STREQ(verdict({pass}, false).action, "pass");
}

TEST_F(OutputTest, Base64AndDataLinkNames) {
  auto b64 = [](std::string_view s) {
    return Base64({reinterpret_cast<const uint8_t*>(s.data()), s.size()});
  };
  EXPECT_EQ(b64(""), "");
  EXPECT_EQ(b64("f"), "Zg==");
  EXPECT_EQ(b64("fo"), "Zm8=");
  EXPECT_EQ(b64("foo"), "Zm9v");
  EXPECT_EQ(b64("foobar"), "Zm9vYmFy");
  EXPECT_EQ(DataLinkOf(packet::LinkType::kEthernet).value, 1u);
  EXPECT_STREQ(DataLinkOf(packet::LinkType::kEthernet).name, "EN10MB");
  EXPECT_EQ(DataLinkOf(packet::LinkType::kRaw).value, 12u);  // DLT_RAW, as Suricata reports it
  EXPECT_STREQ(DataLinkOf(packet::LinkType::kIpv6).name, "IPv6");
  EXPECT_STREQ(DataLinkOf(packet::LinkType::kLinuxSll2).name, "LINUX_SLL2");
}

TEST_F(OutputTest, FlowIdIsSymmetricAndDistinguishesFlows) {
  Fixture f;
  packet::Packet reverse = f.packet;
  std::swap(reverse.src_ip, reverse.dst_ip);
  std::swap(reverse.src_port, reverse.dst_port);
  EXPECT_EQ(FlowId(f.packet), FlowId(reverse));
  packet::Packet other = f.packet;
  other.src_port = 51235;
  EXPECT_NE(FlowId(f.packet), FlowId(other));
  EXPECT_LT(FlowId(f.packet), uint64_t(1) << 51);
  EXPECT_GT(FlowId(f.packet), 0u);
}

TEST_F(OutputTest, JsonEscapingCoversControlBytes) {
  std::string out;
  AppendJsonEscaped(out, std::string("a\"b\\c\n\x01", 7));
  EXPECT_EQ(out, R"(a\"b\\c\n\u0001)");
}

TEST_F(OutputTest, SummaryTextAndJson) {
  RunSummary s;
  s.packets = 10;
  s.bytes = 1'000'000;
  s.alerts = 2;
  s.seconds = 0.5;
  s.Add("decode.ipv4.bad_checksum", 3);
  s.Add("decode.tcp.bad_data_offset", 0);
  EXPECT_DOUBLE_EQ(s.Mbps(), 16.0);
  std::string text = s.ToText();
  EXPECT_NE(text.find("decode.ipv4.bad_checksum"), std::string::npos);
  EXPECT_EQ(text.find("bad_data_offset"), std::string::npos);  // zero counters are not shown
  s.startup = {{"parse_s", 0.25}, {"cache_hits", 12}};
  EXPECT_EQ(s.ToJson(),
            R"({"packets":10,"bytes":1000000,"alerts":2,"seconds":0.500000,"mbit_per_s":16.000,)"
            R"("counters":{"decode.ipv4.bad_checksum":3,"decode.tcp.bad_data_offset":0},)"
            R"("startup":{"parse_s":0.25,"cache_hits":12}})"
            "\n");
  EXPECT_EQ(s.ToText().find("parse_s"), std::string::npos);  // start-up figures: with -v only
}

}  // namespace
}  // namespace vigil::output

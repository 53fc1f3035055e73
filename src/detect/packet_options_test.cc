// packet_options.h: numeric comparisons, header fields, TCP flags, flow, sameip and SIP.
#include "detect/packet_options.h"

#include <gtest/gtest.h>

#include <cstring>

#include "rules/parser.h"
#include "rules/variables.h"

namespace vigil::detect {
namespace {

using Op = rules::NumberTest::Op;

TEST(MatchNumberTest, EveryForm) {
  struct Case {
    rules::NumberTest test;
    int64_t value;
    bool want;
  };
  const Case cases[] = {
      {{Op::kEq, 5}, 5, true},
      {{Op::kEq, 5}, 6, false},
      {{Op::kNe, 5}, 5, false},
      {{Op::kNe, 5}, 4, true},
      {{Op::kLt, 5}, 4, true},
      {{Op::kLt, 5}, 5, false},
      {{Op::kLe, 5}, 5, true},
      {{Op::kLe, 5}, 6, false},
      {{Op::kGt, 5}, 6, true},
      {{Op::kGt, 5}, 5, false},
      {{Op::kGe, 5}, 5, true},
      {{Op::kGe, 5}, 4, false},
      // lo<>hi: exclusive (Snort 3, Suricata).
      {{Op::kRange, 9, 18}, 9, false},
      {{Op::kRange, 9, 18}, 10, true},
      {{Op::kRange, 9, 18}, 17, true},
      {{Op::kRange, 9, 18}, 18, false},
      // lo<=>hi: inclusive (Snort 3).
      {{Op::kRangeInclusive, 9, 18}, 8, false},
      {{Op::kRangeInclusive, 9, 18}, 9, true},
      {{Op::kRangeInclusive, 9, 18}, 18, true},
      {{Op::kRangeInclusive, 9, 18}, 19, false},
      // lo-hi: exclusive, as Suricata reads it.
      {{Op::kDashRange, 3, 5}, 3, false},
      {{Op::kDashRange, 3, 5}, 4, true},
      {{Op::kDashRange, 3, 5}, 5, false},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(MatchNumber(c.test, c.value), c.want) << rules::ToText(c.test) << " on " << c.value;
  }
}

// The first option of a parsed rule.
rules::Option FirstOption(const std::string& options) {
  rules::Variables vars;
  auto r = rules::ParseRule("alert ip any any -> any any (" + options + " sid:1;)", vars);
  EXPECT_TRUE(r) << options << ": " << (r ? "" : r.error().ToString());
  if (!r || r->options.empty()) return rules::OtherOption{};
  return r->options[0];
}

packet::Packet Ipv4() {
  packet::Packet p;
  p.ip_version = 4;
  p.src_ip = *base::IpAddress::Parse("10.0.0.1");
  p.dst_ip = *base::IpAddress::Parse("10.0.0.2");
  return p;
}

TEST(MatchNumericTest, HeaderFields) {
  packet::Packet tcp = Ipv4();
  tcp.ip_proto = packet::kProtoTcp;
  tcp.has_tcp = true;
  tcp.ttl = 3;
  tcp.ip_id = 4321;
  tcp.payload_len = 12;
  tcp.tcp_seq = 1000;
  tcp.tcp_ack = 0;
  tcp.tcp_window = 512;
  packet::Packet icmp = Ipv4();
  icmp.ip_proto = packet::kProtoIcmp;
  icmp.has_icmp = true;
  icmp.icmp_type = 8;
  icmp.icmp_code = 0;
  packet::Packet icmp6 = icmp;
  icmp6.ip_version = 6;
  icmp6.ip_proto = packet::kProtoIcmpv6;
  icmp6.icmp_type = 128;
  icmp6.ip_id = 4321;
  struct Case {
    const char* option;
    const packet::Packet* p;
    bool want;
  };
  const Case cases[] = {
      {"seq:1000;", &tcp, true},      {"ack:0;", &tcp, true},
      {"ack:0;", &icmp, false},       {"window:512;", &tcp, true},
      {"window:>512;", &tcp, false},  {"seq:!1000;", &tcp, false},
      {"dsize:12;", &tcp, true},      {"dsize:>12;", &tcp, false},
      {"dsize:10<>13;", &tcp, true},  {"dsize:12<>20;", &tcp, false},
      {"dsize:0;", &icmp, true},      {"ttl:3;", &tcp, true},
      {"ttl:<3;", &tcp, false},       {"ttl:<=3;", &tcp, true},
      {"id:4321;", &tcp, true},       {"id:4320;", &tcp, false},
      {"id:4321;", &icmp6, false},  // IPv4 identification only
      {"ip_proto:6;", &tcp, true},    {"ip_proto:tcp;", &tcp, true},
      {"ip_proto:!6;", &tcp, false},  {"ip_proto:!6;", &icmp, true},
      {"ip_proto:58;", &icmp6, true}, {"itype:8;", &icmp, true},
      {"itype:>8;", &icmp, false},    {"icode:0;", &icmp, true},
      {"itype:128;", &icmp6, true},  // ICMPv6 types too
      {"itype:0;", &tcp, false},     // not ICMP: never
      {"icode:0;", &tcp, false},
  };
  for (const Case& c : cases) {
    auto o = FirstOption(c.option);
    const auto* n = std::get_if<rules::NumericOption>(&o);
    ASSERT_NE(n, nullptr) << c.option;
    EXPECT_EQ(MatchNumeric(*n, *c.p), c.want) << c.option;
  }
}

TEST(WireTcpFlagsTest, CwrAndEceSitWhereTheHeaderHasThem) {
  EXPECT_EQ(WireTcpFlags(rules::kTcpSyn | rules::kTcpAck), packet::kTcpSyn | packet::kTcpAck);
  EXPECT_EQ(WireTcpFlags(rules::kTcpCwr), 0x80);
  EXPECT_EQ(WireTcpFlags(rules::kTcpEce), 0x40);
  EXPECT_EQ(WireTcpFlags(0xff), 0xff);
}

TEST(MatchFlagsTest, ModifiersAndMask) {
  struct Case {
    const char* option;
    uint8_t tcp_flags;
    bool want;
  };
  using packet::kTcpAck, packet::kTcpSyn, packet::kTcpFin, packet::kTcpPsh, packet::kTcpCwr,
      packet::kTcpEce, packet::kTcpRst;
  const Case cases[] = {
      {"flags:S;", kTcpSyn, true},
      {"flags:S;", kTcpSyn | kTcpAck, false},  // exactly these
      {"flags:SA;", kTcpSyn | kTcpAck, true},
      {"flags:S+;", kTcpSyn | kTcpAck, true},  // at least these
      {"flags:+S;", kTcpAck, false},
      {"flags:SF+;", kTcpSyn | kTcpFin | kTcpPsh, true},
      {"flags:SF+;", kTcpSyn, false},
      {"flags:*SF;", kTcpFin | kTcpAck, true},  // any of these
      {"flags:*SF;", kTcpAck, false},
      {"flags:!SF;", kTcpAck, true},  // none of these
      {"flags:!SF;", kTcpAck | kTcpFin, false},
      {"flags:0;", 0, true},  // no flag at all
      {"flags:0;", kTcpAck, false},
      // The mask lists flags to ignore (Snort's "flags:S,12": SYN whatever CWR and ECE say).
      {"flags:S,12;", kTcpSyn | kTcpCwr | kTcpEce, true},
      {"flags:S,12;", kTcpSyn | kTcpRst, false},
      {"flags:S,CE;", kTcpSyn | kTcpEce, true},
      {"flags:C;", kTcpCwr, true},  // C is CWR (0x80), E is ECE (0x40)
      {"flags:C;", kTcpEce, false},
      {"flags:E;", kTcpEce, true},
      {"flags:12;", kTcpCwr | kTcpEce, true},
  };
  for (const Case& c : cases) {
    auto o = FirstOption(c.option);
    const auto* f = std::get_if<rules::FlagsOption>(&o);
    ASSERT_NE(f, nullptr) << c.option;
    packet::Packet p = Ipv4();
    p.has_tcp = true;
    p.tcp_flags = c.tcp_flags;
    EXPECT_EQ(MatchFlags(*f, p), c.want) << c.option << " on 0x" << std::hex << int(c.tcp_flags);
  }
  // Not TCP: never.
  auto o = FirstOption("flags:0;");
  packet::Packet udp = Ipv4();
  udp.has_udp = true;
  EXPECT_FALSE(MatchFlags(std::get<rules::FlagsOption>(o), udp));
}

TEST(MatchFlowTest, StateDirectionStreamAndFragments) {
  packet::Packet p = Ipv4();
  packet::Packet frag = Ipv4();
  frag.is_fragment = true;
  const FlowContext up{.has_flow = true, .established = true, .to_server = true};
  const FlowContext down{.has_flow = true, .established = true, .to_server = false};
  const FlowContext opening{.has_flow = true, .established = false, .to_server = true};
  const FlowContext untracked{.has_flow = false, .established = true, .to_server = true};
  struct Case {
    const char* option;
    const FlowContext* flow;
    bool rebuilt;
    const packet::Packet* p;
    bool want;
  };
  const Case cases[] = {
      {"flow:established;", &up, false, &p, true},
      {"flow:established;", &opening, false, &p, false},
      {"flow:established;", nullptr, false, &p, false},  // no flow: a state never holds
      {"flow:established;", &untracked, false, &p, false},
      {"flow:not_established;", &opening, false, &p, true},
      {"flow:not_established;", &up, false, &p, false},
      {"flow:not_established;", nullptr, false, &p, false},
      {"flow:stateless;", nullptr, false, &p, true},  // always
      {"flow:stateless;", &up, false, &p, true},
      {"flow:to_server;", &up, false, &p, true},
      {"flow:from_client;", &up, false, &p, true},
      {"flow:to_server;", &down, false, &p, false},
      {"flow:to_client;", &down, false, &p, true},
      {"flow:from_server;", &down, false, &p, true},
      {"flow:to_client;", nullptr, false, &p, false},  // no flow: a direction never holds
      {"flow:to_server;", &untracked, false, &p, false},
      {"flow:established,to_server;", &up, false, &p, true},
      {"flow:established,to_client;", &up, false, &p, false},
      {"flow:stateless,to_server;", nullptr, false, &p, false},
      {"flow:only_stream;", &up, true, &p, true},
      {"flow:only_stream;", &up, false, &p, false},
      {"flow:no_stream;", &up, false, &p, true},
      {"flow:no_stream;", &up, true, &p, false},
      {"flow:no_stream;", nullptr, false, &p, true},  // no state or direction: needs no flow
      {"flow:only_frag;", nullptr, false, &frag, true},
      {"flow:only_frag;", nullptr, false, &p, false},
      {"flow:no_frag;", nullptr, false, &p, true},
      {"flow:no_frag;", nullptr, false, &frag, false},
      {"flow:to_server,established,no_stream,no_frag;", &up, false, &p, true},
  };
  for (const Case& c : cases) {
    auto o = FirstOption(c.option);
    const auto* f = std::get_if<rules::FlowOption>(&o);
    ASSERT_NE(f, nullptr) << c.option;
    MatchInput in = MatchInput::OfPacket(*c.p, c.flow);
    in.rebuilt = c.rebuilt;
    EXPECT_EQ(MatchFlow(*f, in), c.want) << c.option;
  }
}

// An IPv4 packet whose header (at data[0]) carries `flags` in its fragment bits, with an ICMP
// header behind it.
struct RawIcmp {
  uint8_t bytes[28] = {0x45};
  packet::Packet p;
  RawIcmp(uint8_t flags, uint8_t type, uint16_t id, uint16_t seq) {
    bytes[6] = flags;
    bytes[20] = type;
    bytes[24] = uint8_t(id >> 8);
    bytes[25] = uint8_t(id);
    bytes[26] = uint8_t(seq >> 8);
    bytes[27] = uint8_t(seq);
    p = Ipv4();
    p.data = bytes;
    p.caplen = sizeof(bytes);
    p.l3_offset = 0;
    p.l4_offset = 20;
    p.ip_proto = packet::kProtoIcmp;
    p.has_icmp = true;
    p.icmp_type = type;
    p.more_fragments = (flags & 0x20) != 0;
  }
};

TEST(MatchFragbitsTest, ReadsTheIpv4FlagBits) {
  const RawIcmp df(0x40, 8, 0, 0), mf(0x20, 8, 0, 0), rb_df(0xc0, 8, 0, 0), none(0, 8, 0, 0);
  auto match = [](const char* option, const packet::Packet& p) {
    rules::Option o = FirstOption(option);
    return MatchFragbits(std::get<rules::FragbitsOption>(o), p);
  };
  EXPECT_TRUE(match("fragbits:D;", df.p));
  EXPECT_FALSE(match("fragbits:D;", rb_df.p));  // exactly
  EXPECT_TRUE(match("fragbits:D+;", rb_df.p));
  EXPECT_TRUE(match("fragbits:*MR;", rb_df.p));
  EXPECT_FALSE(match("fragbits:*MR;", df.p));
  EXPECT_TRUE(match("fragbits:!M;", df.p));  // sid 29456's test
  EXPECT_FALSE(match("fragbits:!M;", mf.p));
  EXPECT_TRUE(match("fragbits:!M;", none.p));
  packet::Packet v6 = none.p;
  v6.ip_version = 6;
  EXPECT_TRUE(match("fragbits:!M;", v6));
  v6.more_fragments = true;
  EXPECT_TRUE(match("fragbits:M;", v6));
}

TEST(MatchNumericTest, IcmpIdAndSeqOfQueriesOnly) {
  const RawIcmp echo(0, 8, 678, 9), unreachable(0, 3, 678, 9);
  auto match = [](const char* option, const packet::Packet& p) {
    rules::Option o = FirstOption(option);
    return MatchNumeric(std::get<rules::NumericOption>(o), p);
  };
  EXPECT_TRUE(match("icmp_id:678;", echo.p));
  EXPECT_FALSE(match("icmp_id:679;", echo.p));
  EXPECT_TRUE(match("icmp_seq:9;", echo.p));
  EXPECT_TRUE(match("icmp_seq:>8;", echo.p));
  EXPECT_FALSE(match("icmp_id:678;", unreachable.p));  // not a query: no identifier
  RawIcmp truncated(0, 0, 678, 9);
  truncated.p.caplen = 25;
  EXPECT_FALSE(match("icmp_id:678;", truncated.p));
}

TEST(MatchSameipTest, ComparesTheAddresses) {
  packet::Packet p = Ipv4();
  EXPECT_FALSE(MatchSameip(p));
  p.dst_ip = p.src_ip;
  EXPECT_TRUE(MatchSameip(p));
  p.src_ip = *base::IpAddress::Parse("fe80::1");
  p.dst_ip = *base::IpAddress::Parse("fe80::1");
  p.ip_version = 6;
  EXPECT_TRUE(MatchSameip(p));
}

TEST(MatchTlsVersionTest, EachSidesVersion) {
  packet::Packet p = Ipv4();
  p.has_tcp = true;
  app::TlsHandshake hs;
  hs.client_hello = true;
  hs.client_tls_version = 0x0304;  // offered 1.3
  FlowContext up{.has_flow = true, .to_server = true, .tls_handshake = &hs};
  FlowContext down{.has_flow = true, .to_server = false, .tls_handshake = &hs};
  EXPECT_TRUE(MatchTlsVersion(0x0304, MatchInput::OfPacket(p, &up)));
  EXPECT_FALSE(MatchTlsVersion(0x0303, MatchInput::OfPacket(p, &up)));
  EXPECT_FALSE(MatchTlsVersion(0x0303, MatchInput::OfPacket(p, &down)));  // no ServerHello yet
  hs.server_hello = true;
  hs.server_tls_version = 0x0303;
  EXPECT_TRUE(MatchTlsVersion(0x0303, MatchInput::OfPacket(p, &down)));
  FlowContext gone{.has_flow = true, .to_server = false};
  EXPECT_FALSE(MatchTlsVersion(0x0303, MatchInput::OfPacket(p, &gone)));
}

TEST(MatchStreamSizeTest, SidesAndSession) {
  packet::Packet p = Ipv4();
  p.has_tcp = true;
  FlowContext flow{.has_flow = true, .tcp_session = true, .stream_size = {120, 1}};
  MatchInput in = MatchInput::OfPacket(p, &flow);
  struct Case {
    const char* option;
    bool want;
  };
  const Case cases[] = {
      {"stream_size:server,<,5;", true},     {"stream_size:server,=,1;", true},
      {"stream_size:client,<,5;", false},    {"stream_size:client,>=,120;", true},
      {"stream_size:both,>,0;", true},       {"stream_size:both,>,1;", false},
      {"stream_size:either,>,100;", true},   {"stream_size:either,>,200;", false},
      {"stream_size:client,!=,120;", false},
  };
  for (const Case& c : cases) {
    auto o = FirstOption(c.option);
    const auto* s = std::get_if<rules::StreamSizeOption>(&o);
    ASSERT_NE(s, nullptr) << c.option;
    EXPECT_EQ(MatchStreamSize(*s, in), c.want) << c.option;
  }
  auto server_small = FirstOption("stream_size:server,<,5;");
  const auto& s = std::get<rules::StreamSizeOption>(server_small);
  flow.tcp_session = false;  // no TCP session: never
  EXPECT_FALSE(MatchStreamSize(s, in));
  flow.tcp_session = true;
  p.has_tcp = false;  // not TCP: never
  EXPECT_FALSE(MatchStreamSize(s, in));
}

TEST(MatchSipTest, MethodsAndStatusCodes) {
  struct Case {
    const char* option;
    const char* payload;
    bool want;
  };
  const Case cases[] = {
      {"sip_method:invite;", "INVITE sip:bob@example.com SIP/2.0\r\nVia: x\r\n", true},
      {"sip_method:invite;", "invite sip:bob@example.com SIP/2.0\r\n", true},  // without case
      {"sip_method:options;", "INVITE sip:bob@example.com SIP/2.0\r\n", false},
      {"sip_method:!options;", "INVITE sip:bob@example.com SIP/2.0\r\n", true},
      {"sip_method:!invite;", "INVITE sip:bob@example.com SIP/2.0\r\n", false},
      {"sip_method:invite;", "INVITE / HTTP/1.1\r\n", false},               // not SIP
      {"sip_method:invite;", "INVITE sip:bob@example.com SIP/2.0", false},  // no line end
      {"sip_method:!options;", "SIP/2.0 200 OK\r\n", false},  // a response is no request
      {"sip_stat_code:180;", "SIP/2.0 180 Ringing\r\n", true},
      {"sip_stat_code:4;", "SIP/2.0 404 Not Found\r\n", true},
      {"sip_stat_code:4;", "SIP/2.0 503 Service Unavailable\r\n", false},
      {"sip_stat_code:200,180;", "SIP/2.0 180 Ringing\r\n", true},
      {"sip_stat_code:180;", "INVITE sip:bob@example.com SIP/2.0\r\n", false},
      {"sip_stat_code:180;", "SIP/2.0 18x Ringing\r\n", false},
  };
  for (const Case& c : cases) {
    auto o = FirstOption(c.option);
    const auto* sip = std::get_if<rules::SipOption>(&o);
    ASSERT_NE(sip, nullptr) << c.option;
    packet::Packet p = Ipv4();
    p.payload = reinterpret_cast<const uint8_t*>(c.payload);
    p.payload_len = uint32_t(std::strlen(c.payload));
    EXPECT_EQ(MatchSip(*sip, p), c.want) << c.option << " on " << c.payload;
  }
}

}  // namespace
}  // namespace vigil::detect

// What the detector evaluates today (support.h), rule by rule, and how many rules of the real
// rulesets that enables.
#include "detect/support.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "detect/option_program.h"
#include "rules/parser.h"
#include "rules/rule_file.h"
#include "rules/variables.h"

namespace vigil::detect {
namespace {

std::optional<std::string> ReasonFor(const std::string& text) {
  static const rules::Variables vars;
  auto r = rules::ParseRule(text, vars, "t.rules", 1);
  EXPECT_TRUE(r) << text << ": " << r.error().ToString();
  if (!r) return "parse error";
  return UnsupportedReason(*r);
}

TEST(UnsupportedReason, SupportedRules) {
  const char* rules[] = {
      "alert tcp any any -> any 80 (msg:\"x\"; content:\"GET\"; sid:1;)",
      "drop udp 10.0.0.0/8 any <> any [53,5353] (content:\"|00 01|\"; nocase; rawbytes; offset:2; "
      "depth:9; content:!\"x\"; distance:0; within:5; fast_pattern; sid:2;)",
      "pass icmp any any -> any any (content:\"ab\"; fast_pattern:only; sid:3;)",
      "reject ip any any -> any any (content:\"abcd\",fast_pattern,fast_pattern_offset 1,"
      "fast_pattern_length 2; sid:4;)",
      // Rule fields never disable a rule.
      "alert tcp any any -> any any (msg:\"x\"; reference:cve,1; classtype:misc-activity; "
      "priority:2; metadata:a b; service:http; target:dest_ip; gid:3; sid:5; rev:2;)",
      // A header with no option at all.
      "alert ip any any -> any any (sid:6;)",
      // Snort 3's `alert tcp (...)`: a transport, no service.
      "alert tcp (content:\"x\"; sid:7;)",
      // pkt_data after a buffer brings the payload back.
      "alert tcp any any -> any any (pkt_data; content:\"x\"; sid:8;)",
      // The option evaluators of the full matcher.
      "alert tcp any any -> any any (flow:established,to_server; content:\"x\"; startswith; "
      "content:\"y\"; endswith; pcre:\"/a(b|c)+/smixAEGRBO\"; sid:9;)",
      "alert tcp any any -> any any (content:\"x\"; byte_test:2,!&,0x10,0,relative,little; "
      "byte_jump:4,0,relative,align,multiplier 2,post_offset -2,bitmask 0xff00; "
      "byte_extract:1,0,len,relative,string,dec; content:\"y\"; distance:len; within:len; "
      "byte_math:bytes 2,offset 0,oper *,rvalue len,result area,relative; "
      "byte_test:2,>,area,0; isdataat:!10,relative; sid:10;)",
      "alert tcp any any -> any any (dsize:10<>20; ttl:<5; id:123; ip_proto:!17; flags:S+,12; "
      "sameip; sid:11;)",
      "alert icmp any any -> any any (itype:8; icode:0; flow:stateless,only_frag; sid:12;)",
      // HTTP: the header protocol and the transaction buffers (app/http.h).
      "alert http any any -> any any (sid:13;)",
      "alert http (content:\"x\"; sid:14;)",
      "alert tcp any any -> any any (content:\"x\"; http_uri; sid:15;)",
      "alert tcp any any -> any any (uricontent:\"x\"; sid:16;)",
      "alert tcp any any -> any any (http.uri; content:\"x\"; isdataat:1,relative; sid:17;)",
      "alert tcp any any -> any any (http.header; byte_test:1,=,1,0; sid:18;)",
      // Flowbits (flowbits.h), thresholds and noalert (thresholds.h) run beside the option walk.
      "alert tcp any any -> any any (content:\"x\"; flow:established,to_server; "
      "flowbits:isset,a; pcre:\"/x/U\"; sid:20;)",
      "alert tcp any any -> any any (content:\"x\"; noalert; sid:21;)",
      "alert tcp any any -> any any (flowbits:set,a; noalert; sid:22;)",
      "alert tcp any any -> any any (content:\"x\"; threshold:type limit,track by_src,count 1,"
      "seconds 60; sid:23;)",
      "alert tcp any any -> any any (detection_filter:track by_src,count 1,seconds 60; sid:24;)",
      "alert tcp any any -> any any (pcre:\"/a/U\"; pcre:\"/b/H\"; pcre:\"/c/P\"; pcre:\"/d/M\"; "
      "pcre:\"/e/C\"; pcre:\"/f/S\"; pcre:\"/g/Y\"; pcre:\"/h/V\"; pcre:\"/i/W\"; pcre:\"/j/I\"; "
      "pcre:\"/k/D\"; pcre:\"/l/Z\"; sid:19;)",
      // Evaluated since issue 23 (file.data, DNS, TLS, the http.* and numeric keywords).
      "alert dns any any -> any any (sid:1;)",
      "alert tls (content:\"x\"; sid:1;)",
      "alert tcp any any -> any any (content:\"x\"; pcre:\"/x/U\"; file_data; content:\"y\"; "
      "sid:1;)",
      "alert tcp any any -> any any (file_data; content:\"x\"; sid:1;)",
      "alert tcp any any -> any any (http.accept; content:\"x\"; sid:1;)",
      "alert tcp any any -> any any (icmp_id:5; sid:1;)",
      "alert tcp any any -> any any (window:5; sid:1;)",
      "alert tcp any any -> any any (http.uri; bsize:5; sid:1;)",
      "alert tcp any any -> any any (fragbits:M; sid:1;)",
      "alert udp any any -> any any (dns.query; dotprefix; content:\".x\"; sid:1;)",
      "alert tls any any -> any any (tls.cert_subject; content:\"CN=x\"; tls.cert_issuer; "
      "content:\"O=y\"; tls.cert_serial; content:\"00\"; tls.cert_fingerprint; content:\"be:\"; "
      "sid:1;)",
      "alert tcp-pkt any any -> any any (content:\"x\"; sid:1;)",
      "alert tcp-stream any any -> any any (content:\"x\"; sid:1;)",
      "alert tcp any any -> any 443 (ssl_version:sslv2,!tls1.0; ssl_state:client_hello; sid:1;)",
      "alert udp any any -> any 5060 (sip_method:invite; sip_stat_code:4,180; sid:1;)",
      "alert tcp any any -> any any (stream_size:server,<,5; content:\"x\"; sid:1;)",
      "alert tls any any -> any any (tls.version:1.2; content:\"x\"; sid:1;)",
      "alert http any any -> any any (http.host; dotprefix; content:\".x.example\"; sid:1;)",
  };
  for (const char* text : rules) EXPECT_EQ(ReasonFor(text), std::nullopt) << text;
}

TEST(UnsupportedReason, NamesTheFirstObstacleInRuleOrder) {
  struct Case {
    const char* rule;
    const char* reason;
  };
  const Case cases[] = {
      {"alert file (sid:1;)", "unsupported protocol file (application-layer detection)"},
      {"alert ipv6 any any -> any any (sid:1;)", "unsupported protocol ipv6"},
      {"alert tcp any any -> any any (content:\"x\"; pcre:\"/a(b/\"; sid:1;)",
       "pcre does not compile: missing closing parenthesis at offset 3"},
      {"alert tcp any any -> any any (pcre:\"/a{2,1}/i\"; sid:1;)",
       "pcre does not compile: numbers out of order in {} quantifier at offset 5"},
      {"alert tcp any any -> any any (byte_test:10,=,0,0; sid:1;)",
       "unsupported byte_test reading 10 bytes as a binary number"},
      {"alert tcp any any -> any any (byte_jump:9,0; sid:1;)",
       "unsupported byte_jump reading 9 bytes as a binary number"},
      {"alert tcp any any -> any any (byte_extract:1,0,a; byte_extract:1,1,b; byte_extract:1,2,c; "
       "byte_extract:1,3,d; byte_extract:1,4,e; byte_extract:1,5,f; byte_extract:1,6,g; "
       "byte_extract:1,7,h; byte_extract:1,8,a; byte_extract:1,9,i; sid:1;)",
       "more than 8 byte_extract / byte_math variables"},
      {"alert tcp any any -> any any (tos:5; sid:1;)", "unsupported keyword tos"},
      {"alert tcp any any -> any any (geoip:src,RU; sid:1;)", "unsupported keyword geoip"},
      {"alert tcp any any -> any any (flowint:n,+,1; sid:1;)", "unsupported keyword flowint"},
  };
  for (const Case& c : cases) EXPECT_EQ(ReasonFor(c.rule), c.reason) << c.rule;
}

TEST(UnsupportedReason, TheLoaderDisablesWithTheReason) {
  rules::Variables vars;
  rules::LoadReport report;
  report.support_check = UnsupportedReason;
  rules::LoadRuleText(
      "alert tcp any any -> any 80 (content:\"cmd=\"; sid:1;)\n"
      "alert tcp any any -> any 80 (flowint:a,+,1; content:\"x\"; sid:2;)\n",
      vars, "t.rules", report);
  ASSERT_EQ(report.rules.size(), 2u);
  EXPECT_TRUE(report.rules[0].enabled);
  EXPECT_FALSE(report.rules[1].enabled);
  EXPECT_EQ(report.rules[1].disabled_reason, "unsupported keyword flowint");
  EXPECT_EQ(report.disabled(), 1u);
}

// The real rulesets through the loader with the support check: how many rules are enabled, and
// the disabled ones by reason. Every enabled rule must hold only options the matcher evaluates,
// each on the payload buffer.
class RulesetSupportTest : public testing::TestWithParam<const char*> {};

// An option kind the full matcher evaluates, on the payload buffer or an HTTP transaction buffer.
bool IsEvaluated(const rules::Rule& r, const rules::Option& o) {
  if (const std::string* buffer = rules::OptionBuffer(o); buffer && !buffer->empty()) {
    // raw_data (Snort 3) is the packet's own payload, as vigil does not normalize telnet.
    if (*buffer == "raw_data") return true;
    if (!TxBufferOf(r, *buffer) && !IsDnsRule(r) && !TlsStageOf(r)) return false;
  }
  if (const auto* n = std::get_if<rules::NumericOption>(&o)) {
    using F = rules::NumericField;
    return n->field == F::kDsize || n->field == F::kTtl || n->field == F::kId ||
           n->field == F::kIpProto || n->field == F::kItype || n->field == F::kIcode ||
           n->field == F::kBsize || n->field == F::kBufferlen || n->field == F::kSeq ||
           n->field == F::kAck || n->field == F::kWindow || n->field == F::kIcmpId ||
           n->field == F::kIcmpSeq;
  }
  if (const auto* t = std::get_if<rules::TransformOption>(&o)) return t->name == "dotprefix";
  if (const auto* f = std::get_if<rules::FlagOption>(&o)) {
    return f->kind == rules::FlagOption::Kind::kSameip ||
           f->kind == rules::FlagOption::Kind::kNoalert;
  }
  return std::holds_alternative<rules::ContentOption>(o) ||
         std::holds_alternative<rules::PcreOption>(o) ||
         std::holds_alternative<rules::ByteTestOption>(o) ||
         std::holds_alternative<rules::ByteJumpOption>(o) ||
         std::holds_alternative<rules::ByteExtractOption>(o) ||
         std::holds_alternative<rules::ByteMathOption>(o) ||
         std::holds_alternative<rules::IsDataAtOption>(o) ||
         std::holds_alternative<rules::FlagsOption>(o) ||
         std::holds_alternative<rules::FragbitsOption>(o) ||
         std::holds_alternative<rules::UrilenOption>(o) ||
         std::holds_alternative<rules::FlowOption>(o) ||
         std::holds_alternative<rules::FlowbitsOption>(o) ||
         std::holds_alternative<rules::ThresholdOption>(o) ||
         std::holds_alternative<rules::SslOption>(o) ||
         std::holds_alternative<rules::SipOption>(o) ||
         std::holds_alternative<rules::StreamSizeOption>(o) ||
         std::holds_alternative<rules::TlsOption>(o);
}

TEST_P(RulesetSupportTest, DisabledRulesByReason) {
  namespace fs = std::filesystem;
  fs::path dir = fs::path("../shared/rules") / GetParam();
  if (!fs::is_directory(dir)) GTEST_SKIP() << "ruleset " << dir << " not found";
  rules::Variables vars;
  ASSERT_TRUE(vars.SetAddress("HOME_NET", "[192.168.0.0/16,10.0.0.0/8,172.16.0.0/12]"));
  ASSERT_TRUE(vars.SetAddress("EXTERNAL_NET", "!$HOME_NET"));
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() == ".rules") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  rules::LoadReport report;
  report.support_check = UnsupportedReason;
  for (const fs::path& f : files) rules::LoadRuleFile(f.string(), vars, report);
  std::map<std::string, size_t> reasons;
  for (const rules::Rule& r : report.rules) {
    if (!r.enabled) {
      ++reasons[r.disabled_reason];
      continue;
    }
    EXPECT_TRUE((r.service.empty() || r.service == "http" || r.service == "dns" ||
                 r.service == "tls" || r.service == "smtp") &&
                (r.protocol_variant.empty() || StreamOfProtocol(r)))
        << r.file << ":" << r.line;
    for (const rules::Option& o : r.options) {
      EXPECT_TRUE(IsEvaluated(r, o)) << r.file << ":" << r.line << ": " << rules::ToText(o);
    }
  }
  std::vector<std::pair<size_t, std::string>> sorted;
  for (const auto& [reason, n] : reasons) sorted.emplace_back(n, reason);
  std::sort(sorted.rbegin(), sorted.rend());
  std::cout << "== " << GetParam() << ": " << report.loaded() << " rules, " << report.enabled()
            << " enabled, " << report.disabled() << " disabled, " << report.failures.size()
            << " failed\n   disabled rules by reason:\n";
  for (const auto& [n, reason] : sorted) std::cout << "     " << n << "  " << reason << "\n";
  EXPECT_GT(report.loaded(), 0u);
  EXPECT_EQ(report.failures.size(), 0u);
}

INSTANTIATE_TEST_SUITE_P(Rulesets, RulesetSupportTest,
                         testing::Values("snort3-community", "et-open-suricata-2024",
                                         "snort2.9-community", "et-open-snort2.9-2017"),
                         [](const testing::TestParamInfo<const char*>& info) {
                           std::string name = info.param;
                           std::replace_if(
                               name.begin(), name.end(),
                               [](char c) { return !std::isalnum(static_cast<unsigned char>(c)); },
                               '_');
                           return name;
                         });

}  // namespace
}  // namespace vigil::detect

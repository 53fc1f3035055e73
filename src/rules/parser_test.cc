#include "rules/parser.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace vigil::rules {
namespace {

// 1-based column of the `nth` occurrence of `marker` in `text`.
uint32_t Col(std::string_view text, std::string_view marker, int nth = 0) {
  size_t pos = text.find(marker);
  for (int i = 0; i < nth && pos != std::string_view::npos; ++i) pos = text.find(marker, pos + 1);
  EXPECT_NE(pos, std::string_view::npos) << "marker '" << marker << "' not in " << text;
  return uint32_t(pos + 1);
}

const ContentOption& ContentAt(const Rule& r, size_t i) {
  return std::get<ContentOption>(r.options.at(i));
}

base::Result<Rule> Parse(std::string_view text) {
  static const Variables vars;
  return ParseRule(text, vars, "test.rules", 7);
}

TEST(ParseRule, BasicRule) {
  auto r = Parse(
      R"(alert tcp $HOME_NET any -> $EXTERNAL_NET 80 (msg:"hello world"; content:"GET"; sid:1000; rev:2;))");
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(r->action, Action::kAlert);
  EXPECT_EQ(r->protocol, Protocol::kTcp);
  EXPECT_EQ(r->service, "");
  EXPECT_TRUE(r->src_addr.IsAny());
  EXPECT_TRUE(r->src_port.IsAny());
  EXPECT_FALSE(r->bidirectional);
  EXPECT_EQ(r->dst_port.kind, PortExpr::Kind::kRange);
  EXPECT_EQ(r->dst_port.lo, 80);
  EXPECT_EQ(r->dst_port.hi, 80);
  EXPECT_EQ(r->msg, "hello world");
  EXPECT_EQ(r->sid, 1000u);
  EXPECT_EQ(r->rev, 2u);
  EXPECT_EQ(r->gid, 1u);
  ASSERT_EQ(r->options.size(), 1u);
  EXPECT_EQ(ContentAt(*r, 0).pattern, "GET");
  EXPECT_TRUE(r->enabled);
  EXPECT_EQ(r->file, "test.rules");
  EXPECT_EQ(r->line, 7u);
}

TEST(ParseRule, Actions) {
  const std::pair<const char*, Action> cases[] = {
      {"alert", Action::kAlert},
      {"log", Action::kLog},
      {"pass", Action::kPass},
      {"drop", Action::kDrop},
      {"reject", Action::kReject},
      {"sdrop", Action::kSdrop},
      {"rejectsrc", Action::kRejectSrc},
      {"rejectdst", Action::kRejectDst},
      {"rejectboth", Action::kRejectBoth},
  };
  for (const auto& [word, action] : cases) {
    auto r = Parse(std::string(word) + " ip any any -> any any (sid:1;)");
    ASSERT_TRUE(r) << word << ": " << r.error().ToString();
    EXPECT_EQ(r->action, action) << word;
    EXPECT_EQ(ActionName(action), word);
  }
}

TEST(ParseRule, Protocols) {
  struct Case {
    const char* word;
    Protocol protocol;
    const char* service;
    const char* variant;
  };
  const Case cases[] = {
      {"ip", Protocol::kIp, "", ""},
      {"tcp", Protocol::kTcp, "", ""},
      {"udp", Protocol::kUdp, "", ""},
      {"icmp", Protocol::kIcmp, "", ""},
      {"http", Protocol::kTcp, "http", ""},
      {"tls", Protocol::kTcp, "tls", ""},
      {"smb", Protocol::kTcp, "smb", ""},
      {"ftp-data", Protocol::kTcp, "ftp-data", ""},
      {"dns", Protocol::kUdp, "dns", ""},
      {"snmp", Protocol::kUdp, "snmp", ""},
      {"tcp-pkt", Protocol::kTcp, "", "tcp-pkt"},
      {"ipv6", Protocol::kIp, "", "ipv6"},
  };
  for (const Case& c : cases) {
    auto r = Parse(std::string("alert ") + c.word + " any any -> any any (sid:1;)");
    ASSERT_TRUE(r) << c.word << ": " << r.error().ToString();
    EXPECT_EQ(r->protocol, c.protocol) << c.word;
    EXPECT_EQ(r->service, c.service) << c.word;
    EXPECT_EQ(r->protocol_variant, c.variant) << c.word;
    // Parsing is not evaluating: the parser never disables (detect/support.h decides).
    EXPECT_TRUE(r->enabled) << c.word;
  }
}

TEST(ParseRule, Snort3ShortHeaders) {
  auto http = Parse(R"(alert http (msg:"x"; http_uri; content:"/a"; sid:1;))");
  ASSERT_TRUE(http) << http.error().ToString();
  EXPECT_EQ(http->protocol, Protocol::kTcp);
  EXPECT_EQ(http->service, "http");
  EXPECT_TRUE(http->src_addr.IsAny() && http->src_port.IsAny());
  EXPECT_TRUE(http->dst_addr.IsAny() && http->dst_port.IsAny());
  EXPECT_EQ(ContentAt(*http, 0).buffer, "http.uri");  // Snort 3: http_uri is sticky
  EXPECT_EQ(ToText(*http),
            R"(alert http any any -> any any (msg:"x"; http.uri; content:"/a"; sid:1; rev:0;))");

  auto tcp = Parse("alert tcp (sid:2;)");
  ASSERT_TRUE(tcp) << tcp.error().ToString();
  EXPECT_EQ(tcp->protocol, Protocol::kTcp);
  EXPECT_EQ(tcp->service, "");

  auto any = Parse("alert (sid:3; content:\"x\";)");
  ASSERT_TRUE(any) << any.error().ToString();
  EXPECT_EQ(any->protocol, Protocol::kIp);
  EXPECT_EQ(any->service, "");

  auto file = Parse("alert file (sid:4; file_data; content:\"MZ\";)");
  ASSERT_TRUE(file) << file.error().ToString();
  EXPECT_EQ(file->service, "file");
  EXPECT_EQ(ContentAt(*file, 0).buffer, "file.data");

  auto bad = Parse("alert httpx (sid:5;)");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().column, 7u);
}

TEST(ParseRule, AppProtocolTransports) {
  auto dns = Parse("alert dns any any -> any any (sid:1;)");
  ASSERT_TRUE(dns);
  EXPECT_TRUE(dns->AppliesToTransport(Protocol::kUdp));
  EXPECT_TRUE(dns->AppliesToTransport(Protocol::kTcp));  // DNS over TCP
  EXPECT_FALSE(dns->AppliesToTransport(Protocol::kIcmp));
  auto http = Parse("alert http any any -> any any (sid:1;)");
  ASSERT_TRUE(http);
  EXPECT_TRUE(http->AppliesToTransport(Protocol::kTcp));
  EXPECT_FALSE(http->AppliesToTransport(Protocol::kUdp));
  auto ip = Parse("alert ip any any -> any any (sid:1;)");
  ASSERT_TRUE(ip);
  EXPECT_TRUE(ip->AppliesToTransport(Protocol::kIcmp));
}

TEST(ParseRule, HeaderAddressesPortsAndDirection) {
  auto r =
      Parse("alert tcp [10.0.0.0/8, !10.1.0.0/16] [1:100,!50] <> ![1.1.1.1,2.2.2.2] !80 (sid:1;)");
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_TRUE(r->bidirectional);
  auto ip = [](const char* s) { return *base::IpAddress::Parse(s); };
  EXPECT_TRUE(r->src_addr.Matches(ip("10.2.3.4")));
  EXPECT_FALSE(r->src_addr.Matches(ip("10.1.3.4")));
  EXPECT_TRUE(r->src_port.Matches(49));
  EXPECT_FALSE(r->src_port.Matches(50));
  EXPECT_FALSE(r->src_port.Matches(101));
  EXPECT_FALSE(r->dst_addr.Matches(ip("2.2.2.2")));
  EXPECT_TRUE(r->dst_addr.Matches(ip("3.3.3.3")));
  EXPECT_FALSE(r->dst_port.Matches(80));
  EXPECT_TRUE(r->dst_port.Matches(81));
}

TEST(ParseRule, PortRangeForms) {
  const std::tuple<const char*, int, int> cases[] = {{"1:1024", 1, 1024},
                                                     {":80", 0, 80},
                                                     {"1024:", 1024, 65535},
                                                     {"0", 0, 0},
                                                     {"65535", 65535, 65535}};
  for (const auto& [text, lo, hi] : cases) {
    auto r = Parse(std::string("alert udp any any -> any ") + text + " (sid:1;)");
    ASSERT_TRUE(r) << text << ": " << r.error().ToString();
    EXPECT_EQ(r->dst_port.kind, PortExpr::Kind::kRange) << text;
    EXPECT_EQ(r->dst_port.lo, lo) << text;
    EXPECT_EQ(r->dst_port.hi, hi) << text;
  }
}

TEST(ParseRule, MetadataOptions) {
  auto r = Parse(
      "alert tcp any any -> any any (msg:\"m\"; reference:url,example.com/a?b=c; "
      "reference: cve , 2020-1234 ; classtype:trojan-activity; priority:2; gid:3; sid:4; rev:5; "
      "metadata:created_at 2010_07_30, updated_at 2019_07_26; metadata:policy max-detect; "
      "service:http,ssl;)");
  ASSERT_TRUE(r) << r.error().ToString();
  ASSERT_EQ(r->references.size(), 2u);
  EXPECT_EQ(r->references[0], (Reference{"url", "example.com/a?b=c"}));
  EXPECT_EQ(r->references[1], (Reference{"cve", "2020-1234"}));
  EXPECT_EQ(r->classtype, "trojan-activity");
  EXPECT_EQ(r->priority, 2);
  EXPECT_EQ(r->gid, 3u);
  EXPECT_EQ(r->sid, 4u);
  EXPECT_EQ(r->rev, 5u);
  EXPECT_EQ(r->metadata, (std::vector<std::string>{"created_at 2010_07_30, updated_at 2019_07_26",
                                                   "policy max-detect"}));
  EXPECT_EQ(r->services, (std::vector<std::string>{"http", "ssl"}));
  EXPECT_TRUE(r->enabled);
}

TEST(ParseRule, EscapesInMsgAndContent) {
  auto r = Parse(
      R"r(alert tcp any any -> any any (msg:"a\;b\"c\\d\:e (\w)"; content:"a\;b\"c\\d\:e"; sid:1;))r");
  ASSERT_TRUE(r) << r.error().ToString();
  // Snort and Suricata drop the '\' of any escape in msg, known or not.
  EXPECT_EQ(r->msg, "a;b\"c\\d:e (w)");
  EXPECT_EQ(ContentAt(*r, 0).pattern, "a;b\"c\\d:e");
}

TEST(ParseRule, HexInContent) {
  const std::pair<const char*, std::string> cases[] = {
      {R"("abc|0d 0a|def")", std::string("abc\r\ndef")},
      {R"("|00 01 FF|")", std::string("\x00\x01\xff", 3)},
      {R"("|0d0a|")", std::string("\r\n")},
      {R"("|  41   42 |x|43|")", std::string("ABxC")},
      {R"("a|3B|b")", std::string("a;b")},
      {R"("||a")", std::string("a")},
  };
  for (const auto& [value, bytes] : cases) {
    auto r = Parse(std::string("alert tcp any any -> any any (content:") + value + "; sid:1;)");
    ASSERT_TRUE(r) << value << ": " << r.error().ToString();
    EXPECT_EQ(ContentAt(*r, 0).pattern, bytes) << value;
  }
}

TEST(ParseRule, ContentModifiersSnort2Style) {
  auto r = Parse(
      R"(alert tcp any any -> any any (content:"abc"; nocase; offset:3; depth:10; content:!"de"; distance:-2; within:5; rawbytes; content:"fgh"; fast_pattern:only; content:"0123456789"; fast_pattern:2,4; sid:1;))");
  ASSERT_TRUE(r) << r.error().ToString();
  ASSERT_EQ(r->options.size(), 4u);
  const ContentOption& a = ContentAt(*r, 0);
  EXPECT_TRUE(a.nocase);
  EXPECT_EQ(a.offset, 3);
  EXPECT_EQ(a.depth, 10);
  EXPECT_FALSE(a.IsRelative());
  EXPECT_FALSE(a.negated);
  const ContentOption& b = ContentAt(*r, 1);
  EXPECT_TRUE(b.negated);
  EXPECT_EQ(b.distance, -2);
  EXPECT_EQ(b.within, 5);
  EXPECT_TRUE(b.rawbytes);
  EXPECT_TRUE(b.IsRelative());
  EXPECT_FALSE(b.nocase);
  const ContentOption& c = ContentAt(*r, 2);
  EXPECT_TRUE(c.fast_pattern);
  EXPECT_TRUE(c.fast_pattern_only);
  const ContentOption& d = ContentAt(*r, 3);
  EXPECT_TRUE(d.fast_pattern);
  EXPECT_FALSE(d.fast_pattern_only);
  EXPECT_EQ(d.fast_pattern_offset, 2);
  EXPECT_EQ(d.fast_pattern_length, 4);
}

TEST(ParseRule, ContentModifiersSnort3Style) {
  auto r = Parse(
      R"(alert tcp any any -> any any (content:"Remote|3A| ",depth 11,nocase; content:"x, y",distance 0, within 20 ,fast_pattern,fast_pattern_offset 1,fast_pattern_length 2; sid:1;))");
  ASSERT_TRUE(r) << r.error().ToString();
  const ContentOption& a = ContentAt(*r, 0);
  EXPECT_EQ(a.pattern, "Remote: ");
  EXPECT_EQ(a.depth, 11);
  EXPECT_TRUE(a.nocase);
  const ContentOption& b = ContentAt(*r, 1);
  EXPECT_EQ(b.pattern, "x, y");
  EXPECT_EQ(b.distance, 0);
  EXPECT_EQ(b.within, 20);
  EXPECT_TRUE(b.fast_pattern);
  EXPECT_EQ(b.fast_pattern_offset, 1);
  EXPECT_EQ(b.fast_pattern_length, 2);
}

TEST(ParseRule, ModifierAppliesToLastContentAcrossOtherOptions) {
  auto r = Parse(
      R"(alert tcp any any -> any any (content:"a"; content:"bc"; pcre:"/x/"; nocase; sid:1;))");
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_FALSE(ContentAt(*r, 0).nocase);
  EXPECT_TRUE(ContentAt(*r, 1).nocase);
}

TEST(ParseRule, OptionsAreTypedInRuleOrderAndNeverDisableTheRule) {
  auto r = Parse(
      R"(alert tcp any any -> any any (msg:"x"; flow:established,to_server; content:"a"; http_uri; pcre:"/a\;b/i"; file_data; content:"b"; sid:1;))");
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_TRUE(r->enabled);
  EXPECT_EQ(r->disabled_reason, "");
  ASSERT_EQ(r->options.size(), 4u);
  const auto& flow = std::get<FlowOption>(r->options[0]);
  EXPECT_EQ(flow.state, FlowOption::State::kEstablished);
  EXPECT_EQ(flow.direction, FlowOption::Direction::kToServer);
  EXPECT_EQ(ContentAt(*r, 1).buffer, "http.uri");  // modifier style
  const auto& pcre = std::get<PcreOption>(r->options[2]);
  EXPECT_EQ(pcre.regex, "a\\;b");
  EXPECT_EQ(pcre.flags, "i");
  EXPECT_EQ(pcre.buffer, "");  // not relative: the payload, whatever the content before
  EXPECT_EQ(ContentAt(*r, 3).buffer, "file.data");  // sticky
}

TEST(ParseRule, UricontentIsAContentInTheUriWithItsOwnModifiers) {
  auto r = Parse(
      R"(alert tcp any any -> any any (content:"a"; uricontent:"/a"; nocase; depth:2; sid:1;))");
  ASSERT_TRUE(r) << r.error().ToString();
  ASSERT_EQ(r->options.size(), 2u);
  EXPECT_FALSE(ContentAt(*r, 0).nocase);
  EXPECT_EQ(ContentAt(*r, 0).buffer, "");
  EXPECT_EQ(ContentAt(*r, 1).buffer, "http.uri");
  EXPECT_TRUE(ContentAt(*r, 1).nocase);
  EXPECT_EQ(ContentAt(*r, 1).depth, 2);
}

TEST(ParseRule, ByteExtractVariablesInModifiers) {
  auto r = Parse(
      R"(alert tcp any any -> any any (byte_extract:2,0,len,relative; content:"a"; depth:len; byte_math:bytes 2,offset 0,oper +,rvalue 1,result total; content:"b",within total; sid:1;))");
  ASSERT_TRUE(r) << r.error().ToString();
  const ContentOption& a = ContentAt(*r, 1);
  EXPECT_FALSE(a.depth.has_value());
  EXPECT_EQ(a.depth_var, "len");
  const ContentOption& b = ContentAt(*r, 3);
  EXPECT_EQ(b.within_var, "total");
  EXPECT_TRUE(b.IsRelative());
  auto undefined = Parse(R"(alert tcp any any -> any any (content:"a"; depth:nolen; sid:1;))");
  ASSERT_FALSE(undefined);
  EXPECT_EQ(undefined.error().column,
            Col(R"(alert tcp any any -> any any (content:"a"; depth:nolen; sid:1;))", "nolen"));
}

TEST(ParseRule, KeywordsAreCaseInsensitive) {
  auto r = Parse(
      R"(alert tcp any any -> any any (MSG:"x"; Content:"a"; NOCASE; Flow:established; SID:9;))");
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(r->sid, 9u);
  EXPECT_TRUE(ContentAt(*r, 0).nocase);
  EXPECT_TRUE(std::holds_alternative<FlowOption>(r->options[1]));
}

TEST(ParseRule, LastOptionMayOmitSemicolonAndSpacingIsFree) {
  for (const char* text : {
           "alert tcp any any -> any any (msg:\"a\"; sid:1)",
           "alert tcp any any -> any any (msg:\"a\"; sid:1;)",
           "  alert\ttcp  any any  ->  any  any(msg : \"a\" ;sid: 1 ; )  ",
           "alert tcp any any -> any any ( msg:\"a\"; nocase_not_here_ok:1; sid:1;)",
       }) {
    auto r = Parse(text);
    if (std::string_view(text).find("nocase_not_here_ok") != std::string_view::npos) {
      EXPECT_FALSE(r);  // an unknown keyword, whatever the spacing
      continue;
    }
    ASSERT_TRUE(r) << text << ": " << r.error().ToString();
    EXPECT_EQ(r->msg, "a");
    EXPECT_EQ(r->sid, 1u);
  }
}

TEST(ParseRule, EscapedTrailingSpaceStaysInTheValue) {
  for (const char* text : {R"(alert tcp any any -> any any (sid:1; metadata:a\ ;))",
                           R"(alert tcp any any -> any any (sid:1; metadata:a\ ))"}) {
    auto r = Parse(text);
    ASSERT_TRUE(r) << text << ": " << r.error().ToString();
    EXPECT_EQ(r->metadata.at(0), "a\\ ") << text;
    auto again = Parse(ToText(*r));
    ASSERT_TRUE(again) << ToText(*r);
    EXPECT_EQ(*again, *r);
  }
  auto r = Parse(R"(alert tcp any any -> any any (sid:1; reference:url,a\ ;))");
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(r->references.at(0).id, "a\\ ");
  auto again = Parse(ToText(*r));
  ASSERT_TRUE(again) << ToText(*r);
  EXPECT_EQ(*again, *r);
}

TEST(ParseRule, ReferenceUrlWithParenthesisInLastOption) {
  auto r = Parse("alert tcp any any -> any any (sid:1; reference:url,example.com/a(b))");
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(r->references.at(0).id, "example.com/a(b)");
}

struct BadCase {
  std::string text;
  std::string marker;   // the error's column is that of this text in `text`...
  int nth;              // ...at this occurrence (0 = first); marker "" means one past the end
  std::string message;  // a part of the expected message
};

std::string H(std::string options) { return "alert tcp any any -> any any (" + options + ")"; }

TEST(ParseRule, ErrorsNameTheExactColumn) {
  const std::vector<BadCase> cases = {
      // header
      {"alrt tcp any any -> any any (sid:1;)", "alrt", 0, "unknown rule action 'alrt'"},
      {"block tcp any any -> any any (sid:1;)", "block", 0, "action 'block' is not supported"},
      {"alert foo any any -> any any (sid:1;)", "foo", 0, "unknown protocol 'foo'"},
      {"alert tcp any any -> any (sid:1;)", "(", 0, "incomplete rule header"},
      {"alert tcp any any -> any any any (sid:1;)", "any", 4, "unexpected 'any'"},
      {"alert tcp any any <- any any (sid:1;)", "<-", 0, "expected direction '->' or '<>'"},
      {"alert tcp 1.2.3.4/33 any -> any any (sid:1;)", "33", 0, "invalid prefix length"},
      {"alert tcp 1.2.3 any -> any any (sid:1;)", "1.2.3", 0, "invalid address '1.2.3'"},
      {"alert tcp [1.1.1.1,] any -> any any (sid:1;)", "]", 0, "missing address before ']'"},
      {"alert tcp [1.1.1.1 any -> any any (sid:1;)", "[", 0, "unterminated '[' list"},
      {"alert tcp [] any -> any any (sid:1;)", "[", 0, "empty address list"},
      {"alert tcp $NOPE any -> any any (sid:1;)", "$NOPE", 0, "undefined address variable $NOPE"},
      {"alert tcp any $HOME_NET -> any any (sid:1;)", "$HOME_NET", 0, "is not a port variable"},
      {"alert tcp !any any -> any any (sid:1;)", "!any", 0, "negates 'any'"},
      {"alert tcp any any -> !$HOME_NET any (sid:1;)", "!$HOME_NET", 0, "negates 'any'"},
      {"alert tcp any 70000 -> any any (sid:1;)", "70000", 0, "invalid port '70000'"},
      {"alert tcp any 100:50 -> any any (sid:1;)", "100:50", 0, "low bound above its high bound"},
      {"alert tcp any [80,x] -> any any (sid:1;)", "x", 0, "invalid port 'x'"},
      {"alert tcp any any -> any any msg:\"x\"; sid:1;", "", 0, "expected '('"},
      // option syntax
      {H("msg:\"x\"; sid:1;").substr(0, H("msg:\"x\"; sid:1;").size() - 1), "", 0, "expected ')'"},
      {H("msg:\"x\"; sid:1;") + " extra", "extra", 0, "unexpected text after"},
      {H("msg:\"x\";; sid:1;"), ";", 1, "empty rule option"},
      {H("msg \"x\"; sid:1;"), "\"x", 0, "expected ':' or ';' after option keyword 'msg'"},
      {H("contnet:\"x\"; sid:1;"), "contnet", 0, "unknown rule option 'contnet'"},
      {H("sid:1; metadata:a\\"), "\\", 0, "ends in an escaping '\\'"},
      // values of the supported options
      {H("msg:x; sid:1;"), "x;", 0, "msg must be a quoted string"},
      {H("msg:\"a\"; msg:\"b\"; sid:1;"), "msg", 1, "duplicate msg option"},
      {H("msg:\"x\";"), "(", 0, "rule has no sid option"},
      {H("sid:0;"), "0", 0, "sid must be an integer from 1 to 4294967295, found '0'"},
      {H("sid:4294967296;"), "4294967296", 0, "sid must be an integer"},
      {H("sid:12a;"), "12a", 0, "sid must be an integer"},
      {H("sid:1; sid:2;"), "sid", 1, "duplicate sid option"},
      {H("sid:;"), "sid", 0, "sid needs a value"},
      {H("rev:-1; sid:1;"), "-1", 0, "rev must be an integer"},
      {H("priority:0; sid:1;"), "0", 0, "priority must be an integer from 1"},
      {H("classtype:a b; sid:1;"), "a b", 0, "classtype must be a class name"},
      {H("reference:nocomma; sid:1;"), "nocomma", 0, "reference must be 'system,id'"},
      {H("reference:url,; sid:1;"), ",", 0, "reference has no id"},
      {H("metadata; sid:1;"), "metadata", 0, "metadata needs a value"},
      // content
      {H("content:\"\"; sid:1;"), "\"\"", 0, "empty content"},
      {H("content:\"||\"; sid:1;"), "\"||", 0, "empty content"},
      {H("content:abc; sid:1;"), "abc", 0, "content must be a quoted string"},
      {H("content:\"abc; sid:1;"), "\"abc", 0, "unterminated quoted string"},
      {H("content:\"abc\" x; sid:1;"), "x;", 0, "unexpected text after the content string"},
      {H("content:\"a|0g|\"; sid:1;"), "g", 0, "invalid hex digit 'g'"},
      {H("content:\"a|0d 0|b\"; sid:1;"), "|", 0, "odd number of hex digits"},
      {H("content:\"a|0d\"; sid:1;"), "|", 0, "unterminated '|' hex block"},
      {H("content:\"a\\x\"; sid:1;"), "\\x", 0, "invalid escape in content"},
      {H("content;"), "content", 0, "content needs a value"},
      // modifiers
      {H("nocase; content:\"a\"; sid:1;"), "nocase", 0, "nocase must follow a content option"},
      {H("depth:3; sid:1;"), "depth", 0, "depth must follow a content option"},
      {H("content:\"a\"; nocase:1; sid:1;"), "1;", 0, "nocase takes no value"},
      {H("content:\"a\"; nocase; nocase; sid:1;"), "nocase", 1, "nocase is already set"},
      {H("content:\"abc\"; depth:2; sid:1;"), "2;", 0,
       "depth 2 is less than the content's length 3"},
      {H("content:\"abc\"; within:2; sid:1;"), "2;", 0,
       "within 2 is less than the content's length 3"},
      {H("content:\"a\"; depth:0; sid:1;"), "0;", 0,
       "depth must be an integer from 1 to 65535, found '0'"},
      {H("content:\"a\"; depth:70000; sid:1;"), "70000", 0, "depth must be an integer"},
      {H("content:\"a\"; offset:-70000; sid:1;"), "-70000", 0,
       "offset must be an integer from -65535 to 65535"},
      {H("content:\"a\"; distance:1.5; sid:1;"), "1.5", 0, "distance must be an integer"},
      {H("content:\"a\"; offset:; sid:1;"), "offset", 0, "offset needs a value"},
      {H("content:\"a\"; offset:abc; sid:1;"), "abc", 0,
       "names 'abc', which no earlier byte_extract or byte_math defines"},
      {H("content:\"a\"; depth:5; depth:6; sid:1;"), "depth", 1, "depth is already set"},
      {H("content:\"a\",depth 5; depth:6; sid:1;"), "depth", 1, "depth is already set"},
      {H("content:\"abc\",depht 3; sid:1;"), "depht", 0, "unknown content sub-option 'depht'"},
      {H("content:\"abc\",depth 2; sid:1;"), "2;", 0, "depth 2 is less than"},
      {H("content:\"abc\",,nocase; sid:1;"), ",nocase", 0, "empty content sub-option"},
      {H("content:\"abc\",fast_pattern 1; sid:1;"), "1;", 0, "takes no value"},
      {H("content:\"ab\"; fast_pattern:foo; sid:1;"), "foo", 0, "fast_pattern takes no value"},
      {H("content:\"ab\"; fast_pattern; fast_pattern; sid:1;"), "fast_pattern", 1,
       "fast_pattern is already set"},
      {H("content:\"ab\"; fast_pattern:1,2; sid:1;"), "content", 0,
       "fast_pattern offset 1 + length 2 exceeds the content's length 2"},
      {H("content:\"ab\"; fast_pattern:1,x; sid:1;"), "x;", 0, "fast_pattern length must be"},
      {H("content:!\"ab\"; fast_pattern:only; sid:1;"), "fast_pattern", 0,
       "fast_pattern:only cannot be used on a negated content"},
      {H("content:\"ab\"; fast_pattern:only; depth:5; sid:1;"), "fast_pattern", 0,
       "fast_pattern:only cannot be combined"},
  };
  for (const BadCase& c : cases) {
    auto r = Parse(c.text);
    ASSERT_FALSE(r) << "parsed but should not: " << c.text;
    uint32_t column = c.marker.empty() ? uint32_t(c.text.size() + 1) : Col(c.text, c.marker, c.nth);
    EXPECT_EQ(r.error().column, column) << c.text << "\n  " << r.error().ToString();
    EXPECT_NE(r.error().message.find(c.message), std::string::npos)
        << c.text << "\n  got: " << r.error().message << "\n  want: " << c.message;
    EXPECT_EQ(r.error().file, "test.rules");
    EXPECT_EQ(r.error().line, 7u);
  }
}

TEST(ParseRule, ErrorStringNamesFileLineColumn) {
  auto r = Parse(H("contnet:\"x\"; sid:1;"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().ToString(), "test.rules:7:31: unknown rule option 'contnet'");
}

TEST(LookupKeyword, KnowsTheThreeDialects) {
  EXPECT_EQ(LookupKeyword("content"), KeywordSupport::kTyped);
  EXPECT_EQ(LookupKeyword("FAST_PATTERN"), KeywordSupport::kTyped);
  EXPECT_EQ(LookupKeyword("service"), KeywordSupport::kRuleField);
  EXPECT_EQ(LookupKeyword("target"), KeywordSupport::kRuleField);
  EXPECT_EQ(LookupKeyword("metadata"), KeywordSupport::kRuleField);
  for (const char* k :
       {"pcre",      "flow",       "flowbits", "byte_test",       "byte_jump",   "byte_extract",
        "byte_math", "isdataat",   "dsize",    "flags",           "threshold",   "detection_filter",
        "ttl",       "tos",        "id",       "ipopts",          "fragbits",    "fragoffset",
        "seq",       "ack",        "window",   "itype",           "icode",       "icmp_id",
        "icmp_seq",  "ip_proto",   "sameip",   "stream_size",     "urilen",      "base64_decode",
        "bsize",     "startswith", "endswith", "app-layer-event", "uricontent",  "bufferlen",
        "ber_data",  "dotprefix",  "xbits",    "noalert",         "tls.version", "ssl_state",
        "dce_iface", "asn1",       "tag"}) {
    EXPECT_EQ(LookupKeyword(k), KeywordSupport::kTyped) << k;
  }
  for (const char* k : {"http_uri", "http.uri", "file_data", "pkt_data", "dns.query", "tls.sni",
                        "ja3_hash", "base64_data", "dce_stub_data", "http_raw_body"}) {
    EXPECT_EQ(LookupKeyword(k), KeywordSupport::kBuffer) << k;
  }
  EXPECT_EQ(LookupKeyword("geoip"), KeywordSupport::kOther);
  EXPECT_EQ(LookupKeyword("contnet"), KeywordSupport::kUnknown);
  EXPECT_EQ(LookupKeyword(""), KeywordSupport::kUnknown);
  EXPECT_EQ(LookupKeyword(std::string(100, 'a')), KeywordSupport::kUnknown);
}

// ToText(rule) reads back to the same rule.
TEST(ToText, RoundTripsTheParsedForms) {
  const char* rules[] = {
      R"(alert tcp $HOME_NET any -> $EXTERNAL_NET $HTTP_PORTS (msg:"a\;b\"c\\d"; content:"abc|00 3b 22 5C 3A 7C|def"; nocase; rawbytes; offset:1; depth:20; content:!"x"; distance:-3; within:9; fast_pattern; reference:url,a.b/c; classtype:misc-activity; priority:3; metadata:k v, k2 v2; service:http; gid:5; sid:6; rev:7;))",
      R"(drop udp [10.0.0.0/8,![10.1.0.0/16,10.2.0.0/16]] [1:100,!50] <> [2001:db8::/32,::1] :1023 (content:"x"; fast_pattern:only; sid:1;))",
      R"(alert tcp any any -> any any (content:"Remote|3A| ",depth 11,nocase; content:"You are",distance 0,nocase,fast_pattern,fast_pattern_offset 1,fast_pattern_length 3; sid:118; rev:12;))",
      R"(alert tcp any any -> any any (content:"abcdef",fast_pattern_offset 2; sid:1;))",
      R"(alert http any any -> any any (msg:"x"; flow:established,to_server; http.uri; content:"/a"; startswith; pcre:"/^["']?post/Ri"; pkt_data; content:"b"; http_uri; nocase; isdataat:!1,relative; sid:2;))",
      R"(alert tcp-pkt any any -> any any (uricontent:"/x"; nocase; byte_extract:2,0,n; content:"a"; within:n; sid:3;))",
      R"(alert ip any any -> any any (sid:4;))",
  };
  Variables vars;
  for (const char* text : rules) {
    auto r = ParseRule(text, vars, "f", 3);
    ASSERT_TRUE(r) << text << ": " << r.error().ToString();
    std::string printed = ToText(*r);
    auto again = ParseRule(printed, vars, "f", 3);
    ASSERT_TRUE(again) << printed << ": " << again.error().ToString();
    EXPECT_EQ(*again, *r) << "original: " << text << "\nprinted:  " << printed;
    EXPECT_EQ(ToText(*again), printed);  // the canonical form is a fixed point
  }
}

TEST(ToText, CanonicalForm) {
  auto r = Parse(
      R"(alert tcp $HOME_NET any -> $EXTERNAL_NET [80,8000:8080] (sid:9; msg:"hi"; content:"GET /|0d 0a|"; depth:8; nocase; content:"x"; http_uri; reference:cve,2020-1;))");
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(
      ToText(*r),
      R"(alert tcp any any -> any [80,8000:8080] (msg:"hi"; content:"GET /|0D 0A|"; nocase; depth:8; http.uri; content:"x"; reference:cve,2020-1; sid:9; rev:0;))");
}

// Hostile input: every prefix of a few rules and every one-byte change must parse or fail
// cleanly (run it under AddressSanitizer and UndefinedBehaviorSanitizer too).
TEST(ParseRule, TruncatedAndMutatedRulesNeverCrash) {
  const std::string rules[] = {
      R"(alert tcp [10.0.0.0/8,!$HOME_NET] [1:2,!3] <> any 80 (msg:"a\;b"; content:"a|0d 0a|b",depth 5,nocase; within:4; fast_pattern:1,1; reference:url,x; sid:1;))",
      R"(alert http $HOME_NET any -> $EXTERNAL_NET any (content:!"x"; fast_pattern:only; byte_extract:1,0,v; content:"y"; offset:v; metadata:a b; sid:2; rev:1;))",
  };
  Variables vars;
  ASSERT_TRUE(vars.SetAddress("HOME_NET", "192.168.0.0/16"));
  const char replacements[] = {'"', ';', '\\', '|', '(', ')',  '[', ']',
                               ',', '!', ':',  '$', ' ', '\0', 'x', '0'};
  size_t parsed = 0;
  for (const std::string& rule : rules) {
    for (size_t n = 0; n <= rule.size(); ++n) {
      std::string prefix =
          rule.substr(0, n);  // a copy, so AddressSanitizer sees reads past its end
      parsed += ParseRule(prefix, vars).has_value();
    }
    for (size_t i = 0; i < rule.size(); ++i) {
      for (char c : replacements) {
        std::string mutated = rule;
        mutated[i] = c;
        auto r = ParseRule(mutated, vars);
        if (r) {
          parsed++;
          // Whatever parses also prints back to itself.
          auto again = ParseRule(ToText(*r), vars);
          ASSERT_TRUE(again) << mutated << "\n" << ToText(*r) << "\n" << again.error().ToString();
          EXPECT_EQ(*again, *r) << mutated;
        }
      }
    }
  }
  EXPECT_GT(parsed, 0u);
}

}  // namespace
}  // namespace vigil::rules

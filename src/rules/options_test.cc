// Every typed option (options.h): what it parses to, its canonical text, and its errors with
// their exact columns.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "rules/parser.h"

namespace vigil::rules {
namespace {

constexpr std::string_view kHead = "alert tcp any any -> any any (";

base::Result<Rule> ParseOptions(std::string_view options) {
  static const Variables vars;
  return ParseRule(std::string(kHead) + std::string(options) + " sid:1;)", vars, "o.rules", 3);
}

// The options part of the rule's canonical text: between "(" and " sid:1; rev:0;)".
std::string OptionsText(const Rule& r) {
  std::string t = ToText(r);
  size_t open = t.find('(');
  size_t sid = t.rfind(" sid:");
  return t.substr(open + 1, sid - open - 1);
}

template <typename T>
const T& Only(const Rule& r) {
  EXPECT_EQ(r.options.size(), 1u);
  return std::get<T>(r.options.at(0));
}

// Written form -> canonical form; each canonical form parses back to the same rule.
TEST(Options, CanonicalText) {
  struct Case {
    const char* written;
    const char* canonical;
  };
  const Case cases[] = {
      // content and buffers
      {R"(content:"a"; http_uri; nocase;)", R"(http.uri; content:"a"; nocase;)"},
      {R"(content:"a"; nocase; http_raw_uri; content:"b";)",
       R"(http.uri.raw; content:"a"; nocase; pkt_data; content:"b";)"},
      {R"(http.header; content:"a"; content:"b"; distance:0;)",
       R"(http.header; content:"a"; content:"b"; distance:0;)"},
      {R"(file_data; content:"MZ"; within:2; pkt_data; content:"x";)",
       R"(file.data; content:"MZ"; within:2; pkt_data; content:"x";)"},
      {R"(dns_query; content:"evil"; nocase; endswith;)",
       R"(dns.query; content:"evil"; nocase; endswith;)"},
      {R"(http.uri; content:"/a"; startswith; fast_pattern;)",
       R"(http.uri; content:"/a"; startswith; fast_pattern;)"},
      {R"(uricontent:"/x.php"; nocase;)", R"(http.uri; content:"/x.php"; nocase;)"},
      {R"(content:"x"; http_raw_cookie;)", R"(http.cookie.raw; content:"x";)"},
      {R"(dns.query; dotprefix; content:".evil.com"; endswith;)",
       R"(dns.query; dotprefix; content:".evil.com"; endswith;)"},
      {R"(http.uri; content:"a"; to_lowercase; content:"b";)",
       R"(http.uri; content:"a"; http.uri; to_lowercase; content:"b";)"},
      {R"(http.uri; pcrexform:"[a-z]+"; content:"b";)",
       R"(http.uri; pcrexform:"[a-z]+"; content:"b";)"},
      // a relative option stays in the buffer of the content before it
      {R"(content:".php"; http_uri; isdataat:!1,relative;)",
       R"(http.uri; content:".php"; isdataat:!1,relative;)"},
      {R"(content:".php"; http_uri; isdataat:1;)",
       R"(http.uri; content:".php"; pkt_data; isdataat:1;)"},
      // pcre
      {R"(pcre:"/a\;b/smiR";)", R"(pcre:"/a\;b/smiR";)"},
      {R"(pcre:!"/^x/U";)", R"(pcre:!"/^x/U";)"},
      {R"(pcre:"/["']?x/Hi";)", R"(pcre:"/["']?x/Hi";)"},
      {R"(http.header; pcre:"/x/";)", R"(http.header; pcre:"/x/";)"},
      // flow, flowbits, flowint, xbits
      {"flow:to_server, established;", "flow:established,to_server;"},
      {"flow:from_server,not_established,no_stream,only_frag;",
       "flow:not_established,to_client,no_stream,only_frag;"},
      {"flow:stateless;", "flow:stateless;"},
      {"flowbits:set,a.b; flowbits:noalert;", "flowbits:set,a.b; flowbits:noalert;"},
      {"flowbits:isset,a|b; flowbits:set,c&d,grp;", "flowbits:isset,a|b; flowbits:set,c&d,grp;"},
      {"flowint: ET.x, +, 1; flowint:y,isset;", "flowint:ET.x,+,1; flowint:y,isset;"},
      {"xbits:set,ET.a,track ip_pair,expire 15;", "xbits:set,ET.a,track ip_pair,expire 15;"},
      // threshold, detection_filter, tag
      {"threshold: type both , track by_dst, count 50, seconds 300;",
       "threshold:type both,track by_dst,count 50,seconds 300;"},
      {"threshold:count 1, seconds 10, track by_src, type limit;",
       "threshold:type limit,track by_src,count 1,seconds 10;"},
      {"detection_filter:track by_dst,count 10,seconds 1;",
       "detection_filter:track by_dst,count 10,seconds 1;"},
      {"threshold:type limit, track by_flow, count 2, seconds 3600;",
       "threshold:type limit,track by_flow,count 2,seconds 3600;"},
      {"threshold:type backoff, track by_flow, count 1, multiplier 10;",
       "threshold:type backoff,track by_flow,count 1,multiplier 10;"},
      {"tag: session, 20, packets;", "tag:session,20,packets;"},
      {"tag:session,packets 5;", "tag:session,5,packets;"},
      {"tag:host,60,seconds,src;", "tag:host,60,seconds,src;"},
      // byte_*
      {"byte_test:4,>,0x7FFFFFFF,4,relative,little;",
       "byte_test:4,>,2147483647,4,relative,little;"},
      {"byte_test:1,!&,0xF8,2;", "byte_test:1,!&,248,2;"},
      {"byte_test:2,!,5,0;", "byte_test:2,!=,5,0;"},
      {"byte_test:0,=,0,0,string,dec;", "byte_test:0,=,0,0,string,dec;"},
      {"byte_test:1,=,8,-4,relative,bitmask fc;", "byte_test:1,=,8,-4,relative,bitmask 0xfc;"},
      {"byte_test:10,>,5,0,string;", "byte_test:10,>,5,0,string,dec;"},
      {"byte_jump:2,-10,relative,from_beginning,little,post_offset 10;",
       "byte_jump:2,-10,relative,little,from_beginning,post_offset 10;"},
      // byte_jump reads 0 bytes (a jump by post_offset alone); byte_test's offset is any 32-bit
      // integer (Suricata), one past every buffer never matching.
      {"byte_jump:0,0,relative,post_offset -7;", "byte_jump:0,0,relative,post_offset -7;"},
      {"byte_test:1,=,65,214748364;", "byte_test:1,=,65,214748364;"},
      {"byte_jump:4,0,relative,multiplier 2,align,dce;",
       "byte_jump:4,0,relative,multiplier 2,dce,align;"},
      {"byte_extract:2,26,Total.Count,relative,little; byte_jump:2,Total.Count;",
       "byte_extract:2,26,Total.Count,relative,little; byte_jump:2,Total.Count;"},
      {"byte_extract:1,0,n,align 4,string,hex;", "byte_extract:1,0,n,string,hex,align 4;"},
      {"byte_math:bytes 2,offset 0,oper <<,rvalue 3,result r,relative,endian little; "
       "isdataat:r,relative;",
       "byte_math:bytes 2,offset 0,oper <<,rvalue 3,result r,relative,endian little; "
       "isdataat:r,relative;"},
      // isdataat, sizes, header fields
      {"isdataat:!0,relative,rawbytes;", "isdataat:!0,relative,rawbytes;"},
      {"dsize:>100; dsize:10<>40; dsize:<=5; dsize:!0;",
       "dsize:>100; dsize:10<>40; dsize:<=5; dsize:!0;"},
      {"http.uri; bsize:18; bufferlen:11<=>20;", "http.uri; bsize:18; bufferlen:11<=>20;"},
      {"urilen:100<>325; urilen:11,norm;", "urilen:100<>325; urilen:11,norm;"},
      {"ttl:>220; ttl:1-5; tos:!4; id:13170; fragoffset:>0;",
       "ttl:>220; ttl:1-5; tos:!4; id:13170; fragoffset:>0;"},
      {"ip_proto:!6; ip_proto:igmp; ip_proto:>134;", "ip_proto:!6; ip_proto:2; ip_proto:>134;"},
      {"seq:1958810375; ack:0; window:!0;", "seq:1958810375; ack:0; window:!0;"},
      {"itype:>30; icode:0; icmp_id:6666; icmp_seq:0;",
       "itype:>30; icode:0; icmp_id:6666; icmp_seq:0;"},
      {"stream_size:client,<,100;", "stream_size:client,<,100;"},
      {"flags: S,12; flags:*AP; flags:A+; flags:!R; flags:0;",
       "flags:S,CE; flags:*PA; flags:A+; flags:!R; flags:0;"},
      {"fragbits:!MDR; fragbits: M+;", "fragbits:!MDR; fragbits:M+;"},
      {"ipopts:ssrr ; sameip; ftpbounce; noalert;", "ipopts:ssrr; sameip; ftpbounce; noalert;"},
      // events, protocols, decoders
      {"app-layer-event:http.invalid_transfer_encoding_value_in_request;",
       "app-layer-event:http.invalid_transfer_encoding_value_in_request;"},
      {"decode-event:ipv6.rh_type_0; app-layer-protocol:!http;",
       "decode-event:ipv6.rh_type_0; app-layer-protocol:!http;"},
      {"base64_decode:bytes 150, offset 10, relative; base64_data; content:\"x\";",
       "base64_decode:bytes 150,offset 10,relative; base64_data; content:\"x\";"},
      {"base64_decode;", "base64_decode;"},
      {"asn1:double_overflow, bitstring_overflow, relative_offset 27, oversize_length 2048;",
       "asn1:bitstring_overflow,double_overflow,oversize_length 2048,relative_offset 27;"},
      {"ber_skip:0x01,optional; ber_data:0xa1;", "ber_skip:0x1,optional; ber_data:0xa1;"},
      {"dce_iface:uuid 4B324FC8-1670-01d3-1278-5a47bf6ee188; dce_opnum:\"1-2\"; dce_stub_data; "
       "content:\"x\";",
       "dce_iface:4b324fc8-1670-01d3-1278-5a47bf6ee188; dce_opnum:1-2; dcerpc.stub_data; "
       "content:\"x\";"},
      {"dce_iface:4b324fc8-1670-01d3-1278-5a47bf6ee188,<2,any_frag; dce_opnum:0,15;",
       "dce_iface:4b324fc8-1670-01d3-1278-5a47bf6ee188,<2,any_frag; dce_opnum:0,15;"},
      {"ssl_state:client_hello; ssl_version:sslv2,!tls1.2;",
       "ssl_state:client_hello; ssl_version:sslv2,!tls1.2;"},
      {"sip_method:invite,options; sip_stat_code:180,4;",
       "sip_method:invite,options; sip_stat_code:180,4;"},
      {"tls.version:1.2; tls.fingerprint:\"09:f0:c1\"; tls.subject:!\"CN=a\\;b\";",
       "tls.version:1.2; tls.fingerprint:\"09:f0:c1\"; tls.subject:!\"CN=a\\;b\";"},
      {"geoip:src,RU;", "geoip:src,RU;"},
      // Snort 3 buffers with arguments
      {"http_header:field user-agent; content:\"x\",nocase;",
       "http.header:field user-agent; content:\"x\"; nocase;"},
  };
  for (const Case& c : cases) {
    auto r = ParseOptions(c.written);
    ASSERT_TRUE(r) << c.written << "\n" << r.error().ToString();
    std::string text = OptionsText(*r);
    EXPECT_EQ(text, c.canonical) << "written: " << c.written;
    auto again = ParseRule(ToText(*r), Variables(), r->file, r->line);
    ASSERT_TRUE(again) << ToText(*r) << "\n" << again.error().ToString();
    EXPECT_EQ(*again, *r) << ToText(*r);
  }
}

TEST(Options, Fields) {
  auto bt = ParseOptions("byte_test:4,>=,0x10,-3,relative,string,hex,bitmask 0x0F;");
  ASSERT_TRUE(bt) << bt.error().ToString();
  const auto& t = Only<ByteTestOption>(*bt);
  EXPECT_EQ(t.bytes, 4);
  EXPECT_EQ(t.op, ByteTestOption::Op::kGe);
  EXPECT_FALSE(t.negated);
  EXPECT_EQ(t.value, (IntOrVar{16, ""}));
  EXPECT_EQ(t.offset, (IntOrVar{-3, ""}));
  EXPECT_TRUE(t.relative);
  EXPECT_EQ(t.string, ByteString::kHex);
  EXPECT_EQ(t.bitmask, 15u);

  auto fb = ParseOptions("flowbits:isnotset,a&b&c;");
  ASSERT_TRUE(fb);
  const auto& f = Only<FlowbitsOption>(*fb);
  EXPECT_EQ(f.command, FlowbitsOption::Command::kIsnotset);
  EXPECT_EQ(f.names, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(f.join, FlowbitsOption::Join::kAnd);

  auto fl = ParseOptions("flags:*FPU,12;");
  ASSERT_TRUE(fl);
  const auto& flags = Only<FlagsOption>(*fl);
  EXPECT_EQ(flags.flags, kTcpFin | kTcpPsh | kTcpUrg);
  EXPECT_EQ(flags.modifier, BitsModifier::kAny);
  EXPECT_EQ(flags.ignore, kTcpCwr | kTcpEce);

  auto ds = ParseOptions("dsize:100<>2000;");
  ASSERT_TRUE(ds);
  const auto& n = Only<NumericOption>(*ds);
  EXPECT_EQ(n.field, NumericField::kDsize);
  EXPECT_EQ(n.test, (NumberTest{NumberTest::Op::kRange, 100, 2000}));

  auto pc = ParseOptions(R"(content:"a"; http_header; pcre:"/b/R"; pcre:"/c/P";)");
  ASSERT_TRUE(pc);
  EXPECT_EQ(std::get<PcreOption>(pc->options[1]).buffer, "http.header");        // relative
  EXPECT_EQ(std::get<PcreOption>(pc->options[2]).buffer, "http.request_body");  // flag P

  auto bj = ParseOptions("byte_extract:1,0,len; byte_jump:1,len,post_offset len;");
  ASSERT_TRUE(bj) << bj.error().ToString();
  const auto& j = std::get<ByteJumpOption>(bj->options[1]);
  EXPECT_EQ(j.offset.var, "len");
  EXPECT_EQ(j.post_offset->var, "len");

  auto th = ParseOptions("threshold:type threshold,track by_rule,count 5,seconds 60;");
  ASSERT_TRUE(th);
  EXPECT_EQ(Only<ThresholdOption>(*th),
            (ThresholdOption{false, ThresholdOption::Type::kThreshold, Track::kByRule, 5, 60}));
  EXPECT_EQ(OptionKeyword(th->options[0]), "threshold");
}

// Snort 2 reads http_uri after a content as its modifier; Snort 3 as the sticky buffer of what
// follows. The rule's other forms tell them apart.
TEST(Options, BufferKeywordStyleFollowsTheDialect) {
  auto snort2 = ParseOptions(R"(content:"a"; http_uri; content:"b";)");
  ASSERT_TRUE(snort2);
  EXPECT_EQ(std::get<ContentOption>(snort2->options[0]).buffer, "http.uri");
  EXPECT_EQ(std::get<ContentOption>(snort2->options[1]).buffer, "");

  auto snort3 = ParseOptions(R"(content:"a"; http_uri; content:"b"; service:http;)");
  ASSERT_TRUE(snort3);
  EXPECT_EQ(std::get<ContentOption>(snort3->options[0]).buffer, "");
  EXPECT_EQ(std::get<ContentOption>(snort3->options[1]).buffer, "http.uri");

  auto sub = ParseOptions(R"(content:"a",nocase; http_uri; content:"b";)");
  ASSERT_TRUE(sub);
  EXPECT_EQ(std::get<ContentOption>(sub->options[1]).buffer, "http.uri");

  // Snort 2: the modifier applies to the last content across other options, and wins over a
  // sticky buffer.
  auto across = ParseOptions(R"(file_data; content:"/a"; urilen:2; http_uri;)");
  ASSERT_TRUE(across);
  EXPECT_EQ(std::get<ContentOption>(across->options[0]).buffer, "http.uri");

  // Without a content before it, a modifier keyword is a sticky buffer in any dialect.
  auto first = ParseOptions(R"(http_uri; content:"b";)");
  ASSERT_TRUE(first);
  EXPECT_EQ(std::get<ContentOption>(first->options[0]).buffer, "http.uri");
}

struct BadCase {
  std::string options;
  std::string marker;  // the error's column is that of this text...
  int nth;             // ...at this occurrence; "" = the rule's '('
  std::string message;
};

TEST(Options, ErrorsNameTheExactColumn) {
  const std::vector<BadCase> cases = {
      // buffers
      {R"(content:"a"; http_uri; http_header;)", "http_header", 0, "already has the buffer"},
      {R"(pkt_data:1; content:"a";)", "1;", 0, "pkt_data takes no value"},
      {R"(http_header:fild x; content:"a";)", "fild x", 0, "unknown argument 'fild x'"},
      {R"(http_header:field; content:"a";)", "field", 0, "'field' needs a header name"},
      // pcre
      {R"(pcre:x/;)", "x/", 0, "pcre must be a quoted"},
      {R"(pcre:"x/i";)", "x/i", 0, "pcre must start with '/'"},
      {R"(pcre:"/x";)", "/x", 0, "pcre has no closing '/'"},
      {R"(pcre:"//i";)", "//i", 0, "empty pcre regex"},
      {R"(pcre:"/x/iq";)", "q", 0, "unknown pcre flag 'q'"},
      {R"(pcre:"/x/ii";)", "i\"", 0, "pcre flag 'i' given twice"},
      {R"(pcre:"/x/UH";)", "H", 0, "select two different buffers"},
      {R"(pcre:"/x/UB";)", "B", 0, "'B' (rawbytes) cannot be combined"},
      {R"(pcre;)", "pcre", 0, "pcre needs a value"},
      // flow
      {"flow:established,to_sever;", "to_sever", 0, "unknown flow word 'to_sever'"},
      {"flow:to_server,to_client;", "to_client", 0, "conflicts with an earlier direction"},
      {"flow:established,stateless;", "stateless", 0, "conflicts with an earlier state"},
      {"flow;", "flow", 0, "flow needs a value"},
      // flowbits, flowint, xbits
      {"flowbits:sett,a;", "sett", 0, "unknown flowbits command 'sett'"},
      {"flowbits:set;", ";", 0, "flowbits:set needs a flowbit name"},
      {"flowbits:noalert,a;", "a;", 0, "takes no flowbit name"},
      {"flowbits:set,a|b;", "a|b", 0, "cannot take names joined by '|'"},
      {"flowbits:isset,a|b&c;", "&", 0, "cannot mix '|' and '&'"},
      {"flowbits:isset,a||b;", "|b", 0, "needs a flowbit name"},
      {"flowbits:set,a,b,c;", "c;", 0, "at most command,names,group"},
      {"flowint:x,~,1;", "~", 0, "unknown flowint operator"},
      {"flowint:x,+;", "+", 0, "needs exactly one value"},
      {"flowint:x,isset,1;", "isset", 0, "takes no value"},
      {"xbits:set,a,track ip_x;", "ip_x", 0, "xbits track must be"},
      {"xbits:set,a,track ip_src,expire 0;", "0;", 0, "xbits expire must be an integer from 1"},
      {"xbits:put,a,track ip_src;", "put", 0, "unknown xbits command"},
      // threshold, detection_filter, tag
      {"threshold:type limit,track by_src,count 1;", ";", 0, "threshold needs 'seconds N'"},
      {"threshold:type lim,track by_src,count 1,seconds 1;", "lim", 0, "threshold type must be"},
      {"threshold:type limit,track by_x,count 1,seconds 1;", "by_x", 0, "track must be"},
      {"threshold:type limit,track by_src,count 0,seconds 1;", "0,", 0, "count must be"},
      {"threshold:type backoff,track by_flow,count 1;", ";", 0,
       "threshold type backoff needs 'multiplier N'"},
      {"threshold:type backoff,track by_flow,count 1,multiplier 2,seconds 5;", ";", 0,
       "threshold type backoff takes no 'seconds'"},
      {"threshold:type limit,track by_src,count 1,seconds 5,multiplier 2;", ";", 0,
       "'multiplier' is for threshold type backoff only"},
      {"threshold:type limit,type both,track by_src,count 1,seconds 1;", "type", 1,
       "'type' given twice"},
      {"threshold:type limit,track by_src,count 1,seconds 1,foo 2;", "foo 2", 0,
       "unknown threshold argument"},
      {"threshold:type limit,track by_src,count 1,seconds 1; threshold:type limit,track "
       "by_src,count 1,seconds 1;",
       "threshold", 1, "duplicate threshold option"},
      {"detection_filter:type limit,track by_src,count 1,seconds 1;", "type limit", 0,
       "unknown detection_filter argument"},
      {"tag:sesion,5,packets;", "sesion", 0, "tag type must be session or host"},
      {"tag:session,5,pkts;", "pkts", 0, "tag metric must be"},
      {"tag:session,5,packets,src;", "src", 0, "only tag:host takes src or dst"},
      // byte_*
      {"byte_test:4,>,1;", "4,", 0, "byte_test needs bytes,operator,value,offset"},
      {"byte_test:11,>,1,0;", "11", 0, "reads 1 to 10 bytes unless 'string'"},
      {"byte_test:0,>,1,0;", "0,", 0, "reads 1 to 10 bytes unless 'string'"},
      {"byte_test:24,>,1,0,string,dec;", "24", 0, "byte_test byte count must be an integer"},
      {"byte_test:4,=>,1,0;", "=>", 0, "byte_test operator must be one of"},
      {"byte_test:4,>,x,0;", "x,", 0, "which no earlier byte_extract or byte_math defines"},
      {"byte_test:4,>,1,0,relatve;", "relatve", 0, "unknown byte_test argument 'relatve'"},
      {"byte_test:4,>,1,0,relative,relative;", "relative", 1, "'relative' given twice"},
      {"byte_test:4,>,1,0,big,little;", "little", 0, "byte order given twice"},
      {"byte_test:4,>,1,0,string,bin;", "bin", 0, "unknown byte_test argument 'bin'"},
      {"byte_math:bytes 2,offset 0,oper +,rvalue 1,result r,string bin;", "bin", 0,
       "'string' takes hex, dec or oct"},
      {"byte_test:4,>,1,0,bitmask 0xzz;", "0xzz", 0, "bitmask must be a hexadecimal number"},
      {"byte_test:4,>,1,0,multiplier 2;", "multiplier 2", 0, "unknown byte_test argument"},
      {"byte_jump:4;", "4;", 0, "byte_jump needs bytes,offset"},
      {"byte_jump:11,0;", "11", 0, "byte_jump reads 0 to 10 bytes unless 'string'"},
      {"byte_test:1,=,65,2147483648;", "2147483648", 0, "byte_test offset must be an integer"},
      {"byte_jump:4,0,multiplier 0;", "0;", 0, "multiplier must be an integer from 1"},
      {"byte_jump:4,0,from_beginning,from_end;", "from_end", 0,
       "from_beginning and from_end may be given once"},
      {"byte_jump:4,0,post_offset 70000;", "70000", 0, "post_offset must be an integer"},
      {"byte_extract:4,0;", "4,0", 0, "byte_extract needs bytes,offset,name"},
      {"byte_extract:4,0,1abc;", "1abc", 0, "byte_extract needs a variable name"},
      {"byte_extract:4,0,n,align 3;", "3;", 0, "align must be 2 or 4"},
      {"byte_math:bytes 2,offset 0,oper %,rvalue 1,result r;", "%", 0, "byte_math oper must be"},
      {"byte_math:bytes 2,offset 0,oper +,rvalue 1;", ";", 0, "byte_math needs 'result NAME'"},
      {"byte_math:bytes 2,offset 0,oper /,rvalue 0,result r;", "bytes", 0, "divides by rvalue 0"},
      {"byte_math:bytes 2,bytes 2,offset 0,oper +,rvalue 1,result r;", "bytes", 1,
       "'bytes' given twice"},
      // isdataat, sizes, header fields
      {"isdataat:!x;", "x;", 0, "which no earlier byte_extract"},
      {"isdataat:1,relativ;", "relativ", 0, "isdataat takes 'relative' and 'rawbytes'"},
      {"isdataat:1,relative,relative;", "relative", 1, "given twice"},
      {"dsize:>70000;", "70000", 0, "dsize needs an integer from 0 to 65535"},
      {"dsize:10<>5;", "10<>5", 0, "is empty"},
      {"dsize:<>5;", ">5", 0, "dsize needs an integer from 0 to 65535, found '>5'"},
      {"dsize:abc;", "abc", 0, "dsize needs an integer"},
      {"ttl:256;", "256", 0, "ttl needs an integer from 0 to 255"},
      {"ttl:5-1;", "5-1", 0, "is empty"},
      {"ip_proto:tcpx;", "tcpx", 0, "ip_proto needs an integer"},
      {"ip_proto:!foo;", "foo", 0, "ip_proto needs an integer"},
      {"icmp_id:65536;", "65536", 0, "icmp_id needs an integer from 0 to 65535"},
      {"urilen:5,normal;", "normal", 0, "urilen takes 'norm' or 'raw'"},
      {"stream_size:client,<>,5;", "<>", 0, "stream_size operator must be"},
      {"stream_size:both,<;", "both", 0, "stream_size needs side,operator,value"},
      {"stream_size:side,<,5;", "side", 0, "stream_size side must be"},
      {"flags:SX;", "X", 0, "unknown flags letter 'X'"},
      {"flags:SS;", "S;", 0, "flags letter 'S' given twice"},
      {"flags:!*S;", "*", 0, "flags takes one modifier"},
      {"flags:S,+A;", "+A", 0, "the flags mask takes no modifier"},
      {"flags:0A;", "0A", 0, "'0' means no flag"},
      {"flags:+;", "+", 0, "flags needs at least one letter"},
      {"fragbits:MX;", "X", 0, "unknown fragbits letter 'X'"},
      {"ipopts:foo;", "foo", 0, "unknown ipopts option 'foo'"},
      {"sameip:1;", "1;", 0, "sameip takes no value"},
      {"app-layer-event:a b;", "a b", 0, "app-layer-event needs an event name"},
      {"app-layer-protocol:!;", ";", 0, "app-layer-protocol needs a protocol name"},
      // decoders, protocols
      {"base64_decode:bytes 0;", "0;", 0, "base64_decode bytes must be an integer from 1"},
      {"base64_decode:relative,relative;", "relative", 1, "base64_decode takes"},
      {"asn1:foo;", "foo", 0, "unknown or repeated asn1 argument"},
      {"asn1:absolute_offset 1,relative_offset 2;", "relative_offset", 0,
       "unknown or repeated asn1 argument"},
      {"ber_data:0x100;", "0x100", 0, "ber_data type must be an integer from 0 to 255"},
      {"ber_data:1,optional;", "optional", 0, "ber_data: unexpected argument"},
      {"dce_iface:1234;", "1234", 0, "dce_iface needs a UUID"},
      {"dce_iface:uuid 4b324fc8-1670-01d3-1278-5a47bf6ee18g;", "4b32", 0, "needs a UUID"},
      {"dce_opnum:5-2;", "5-2", 0, "dce_opnum range 5-2 is empty"},
      {"dce_opnum:x;", "x;", 0, "dce_opnum must be an integer"},
      {"ssl_state:client_helo;", "client_helo", 0, "unknown ssl_state value"},
      {"ssl_version:tls1.4;", "tls1.4", 0, "unknown ssl_version value"},
      {"sip_stat_code:42;", "42", 0, "sip_stat_code needs codes 100..999 or classes 1..9"},
      {"sip_method:in vite;", "in vite", 0, "sip_method needs method names"},
      {"tls.version:1.5;", "1.5", 0, "tls.version must be"},
      {"tls.fingerprint:abc;", "abc", 0, "tls.fingerprint must be a quoted string"},
      {"tls.subject:\"\";", "\"\"", 0, "tls.subject: empty value"},
      // transforms, Rule fields
      {"pcrexform; content:\"a\";", "pcrexform", 0, "pcrexform needs a value"},
      {"dotprefix:1; content:\"a\";", "1;", 0, "dotprefix takes no value"},
      {"target:src;", "src", 0, "target must be src_ip or dest_ip"},
      {"target:src_ip; target:dest_ip;", "target", 1, "duplicate target option"},
      // content modifiers of Suricata
      {R"(content:"a"; startswith; depth:3;)", "startswith", 0,
       "startswith cannot be combined with offset, depth, distance or within"},
      {R"(content:"a"; endswith:1;)", "1;", 0, "endswith takes no value"},
  };
  for (const BadCase& c : cases) {
    auto r = ParseOptions(c.options);
    std::string text = std::string(kHead) + c.options + " sid:1;)";
    ASSERT_FALSE(r) << "should fail: " << c.options;
    size_t pos;
    if (c.marker.empty()) {
      pos = kHead.size() - 1;
    } else {
      pos = text.find(c.marker, kHead.size());
      for (int i = 0; i < c.nth && pos != std::string::npos; ++i) {
        pos = text.find(c.marker, pos + 1);
      }
    }
    ASSERT_NE(pos, std::string::npos) << c.marker << " not in " << text;
    EXPECT_EQ(r.error().file, "o.rules");
    EXPECT_EQ(r.error().line, 3u);
    EXPECT_EQ(r.error().column, pos + 1) << c.options << "\n" << r.error().ToString();
    EXPECT_NE(r.error().message.find(c.message), std::string::npos) << c.options << "\n"
                                                                    << r.error().ToString();
  }
}

}  // namespace
}  // namespace vigil::rules

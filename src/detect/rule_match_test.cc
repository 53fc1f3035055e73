// rule_match.h / option_program.h: whole rules through CompileRule and MatchRule — the examples of
// the Snort and Suricata manuals, cursor chains, backtracking, boundaries, stream chunks (origin
// and min_end), and the matcher's costs.
#include "detect/rule_match.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "detect/count_allocations.h"
#include "detect/literal_database.h"
#include "detect/option_program.h"
#include "rules/parser.h"
#include "rules/variables.h"

namespace vigil::detect {
namespace {

CompiledRule Compile(const std::string& options, const char* proto = "tcp") {
  rules::Variables vars;
  std::string text = std::string("alert ") + proto + " any any -> any any (" + options + " sid:1;)";
  auto r = rules::ParseRule(text, vars);
  EXPECT_TRUE(r) << text << ": " << (r ? "" : r.error().ToString());
  CompiledRule cr;
  if (!r) return cr;
  cr.rule = std::move(*r);
  auto st = CompileRule(cr);
  EXPECT_TRUE(st) << text << ": " << (st ? "" : st.error().message);
  return cr;
}

std::vector<CompiledRule> CompileAll(std::initializer_list<const char*> options) {
  std::vector<CompiledRule> rules;
  for (const char* o : options) rules.push_back(Compile(o));
  return rules;
}

struct TestPacket {
  std::string payload;
  packet::Packet p;
  explicit TestPacket(std::string data) : payload(std::move(data)) {
    p.ip_version = 4;
    p.src_ip = *base::IpAddress::Parse("10.0.0.1");
    p.dst_ip = *base::IpAddress::Parse("192.168.0.5");
    p.ip_proto = packet::kProtoTcp;
    p.has_tcp = true;
    p.src_port = 40000;
    p.dst_port = 80;
    p.tcp_flags = packet::kTcpAck | packet::kTcpPsh;
    p.ttl = 64;
    p.payload = reinterpret_cast<const uint8_t*>(payload.data());
    p.payload_len = uint32_t(payload.size());
  }
};

bool Matches(const CompiledRule& cr, const std::string& payload) {
  TestPacket tp(payload);
  return MatchRule(cr, tp.p);
}

// A stream chunk: data[0, min_end) is history, data[0] is at stream offset `origin`.
bool MatchesChunk(const CompiledRule& cr, const std::string& data, uint64_t origin,
                  uint32_t min_end, const std::string& packet_payload = "x") {
  TestPacket tp(packet_payload);
  MatchInput in{.packet = &tp.p,
                .data = reinterpret_cast<const uint8_t*>(data.data()),
                .len = uint32_t(data.size()),
                .origin = origin,
                .min_end = min_end,
                .rebuilt = true};
  return MatchRule(cr, in);
}

std::string Bytes(std::initializer_list<int> bytes) {
  std::string s;
  for (int b : bytes) s.push_back(char(b));
  return s;
}

struct Case {
  const char* options;
  std::string payload;
  bool want;
};

void Check(const std::vector<Case>& cases) {
  for (const Case& c : cases) {
    CompiledRule cr = Compile(c.options);
    EXPECT_EQ(Matches(cr, c.payload), c.want) << c.options << " on \"" << c.payload << "\"";
  }
}

TEST(MatchRuleTest, ByteTestManualExamples) {
  // Snort's "AMD procedure 7 plog overflow": the length 20 bytes after "|00 00 00 07|".
  std::string plog = Bytes({0x00, 0x04, 0x93, 0xf3, 1, 2, 3, 4, 0, 0, 0, 7}) + std::string(20, 'x');
  Check({
      {"content:\"|00 04 93 F3|\"; content:\"|00 00 00 07|\"; distance:4; within:4; "
       "byte_test:4,>,1000,20,relative;",
       plog + Bytes({0, 0, 0x03, 0xe9}), true},
      {"content:\"|00 04 93 F3|\"; content:\"|00 00 00 07|\"; distance:4; within:4; "
       "byte_test:4,>,1000,20,relative;",
       plog + Bytes({0, 0, 0x03, 0xe8}), false},
      // Snort's string examples: "got 1234!", "got 123!", "got 12!", "got 1234567890!".
      {"byte_test:4,=,1234,0,string,dec;", "1234", true},
      {"byte_test:4,=,1234,0,string,dec;", "1235", false},
      {"byte_test:3,=,123,0,string,dec;", "1234", true},
      {"byte_test:2,=,12,0,string,dec;", "1234", true},
      {"byte_test:10,=,1234567890,0,string,dec;", "1234567890", true},
      {"byte_test:8,=,0xdeadbeef,0,string,hex;", "DEADBEEF", true},
      // Snort 3's bitmask example: 2 bytes AND 0x3FF0, shifted right by 4, equal to 568.
      {"byte_test:2,=,568,0,bitmask 0x3FF0;", Bytes({0x23, 0x80}), true},
      {"byte_test:2,=,568,0,bitmask 0x3FF0;", Bytes({0x23, 0x70}), false},
      {"byte_test:1,&,0x80,0;", Bytes({0x81}), true},
      {"byte_test:1,&,0x80,0;", Bytes({0x7f}), false},
      {"byte_test:1,!&,0x80,0;", Bytes({0x7f}), true},
      {"byte_test:1,^,0x0f,0;", Bytes({0x0f}), false},
      {"byte_test:1,!,0x0f,0;", Bytes({0x0e}), true},  // "!" alone: not equal
      {"byte_test:2,=,0x0102,0,little;", Bytes({0x02, 0x01}), true},
      {"byte_test:2,=,0x0102,0,dce;", Bytes({0x02, 0x01}), true},  // dce reads little endian
      {"byte_test:2,<=,0x0102,0,big;", Bytes({0x01, 0x02}), true},
      {"byte_test:2,>=,0x0103,0;", Bytes({0x01, 0x02}), false},
      // Boundaries: the last two bytes read; one byte further does not, negated or not.
      {"byte_test:2,=,0x4142,2;", "xxAB", true},
      {"byte_test:2,=,0x4142,3;", "xxAB", false},
      {"byte_test:2,!=,0,3;", "xxAB", false},
      {"byte_test:1,=,0x41,-2,relative; content:\"AB\";", "xxAB", false},  // cursor 0: before
      {"content:\"AB\"; byte_test:1,=,0x41,-2,relative;", "xxAB", true},
      {"content:\"AB\"; byte_test:1,=,0,0,relative;", "xxAB", false},  // nothing after the cursor
  });
}

TEST(MatchRuleTest, ByteJumpManualExamples) {
  // Snort's statd example: jump over a length aligned to 4, then test 20 bytes further.
  std::string statd = Bytes({0x00, 0x01, 0x86, 0xb8, 9, 9, 9, 9, 0, 0, 0, 1}) +
                      std::string(12, '\0') + Bytes({0, 0, 0, 5}) + std::string(28, '\0');
  statd.replace(56, 4, Bytes({0, 0, 0x03, 0xe8}));  // at 24 + 4 + align4(5) + 20
  const char* statd_rule =
      "content:\"|00 01 86 B8|\"; content:\"|00 00 00 01|\"; distance:4; within:4; "
      "byte_jump:4,12,relative,align; byte_test:4,>,900,20,relative;";
  // Snort 3's example: 2 bytes masked with 0x03f0, post_offset 2, then 968 right there.
  std::string catalog = "catalogX" + Bytes({0x00, 0x30}) + "yyyyy" + Bytes({0x03, 0xc8});
  Check({
      {statd_rule, statd, true},
      {"content:\"|00 01 86 B8|\"; content:\"|00 00 00 01|\"; distance:4; within:4; "
       "byte_jump:4,12,relative; byte_test:4,>,900,20,relative;",
       statd, false},  // without align the test reads 3 bytes early
      {"content:\"catalog\"; byte_jump:2,1,relative,post_offset 2,bitmask 0x03f0; "
       "byte_test:2,=,968,0,relative;",
       catalog, true},
      {"byte_jump:1,0,from_beginning,post_offset 3; content:\"Z\"; distance:0; within:1;",
       "\x02"
       "abcdZ",
       true},
      {"byte_jump:1,0,from_beginning; content:\"Z\"; distance:0; within:1;",
       "\x02"
       "abcdZ",
       false},
      {"byte_jump:1,0,from_end,post_offset -2; content:\"yz\"; distance:0; within:2;",
       std::string(1, '\0') + "abcyz", true},
      {"byte_jump:1,0,multiplier 2; content:\"X\"; distance:0; within:1;",
       "\x02"
       "abcdX",
       true},
      {"byte_jump:1,0; content:\"X\"; distance:0; within:1;",
       "\x02"
       "abcdX",
       false},
      // Jumping exactly to the end of the buffer is allowed; one further is not.
      {"byte_jump:1,0; isdataat:!1,relative;",
       "\x03"
       "abc",
       true},
      {"byte_jump:1,0;",
       "\x04"
       "abc",
       false},
      // Landing before the buffer lands on its start (Suricata).
      {"byte_jump:1,0,post_offset -5; content:\"|03|a\"; within:2;",
       "\x03"
       "abc",
       true},
      // 0 bytes: a jump by post_offset alone, from the cursor (Suricata's bug 4623 rules), also
      // when the cursor is at the end of the buffer.
      {"content:\"abc\"; byte_jump:0,0,relative,post_offset -2; content:\"bc\"; within:2;", "xabc",
       true},
      {"content:\"ab\"; byte_jump:0,0,relative,post_offset -2; pcre:\"/^abc/R\";", "xabc", true},
      {"content:\"ab\"; byte_jump:0,0,relative,post_offset -1; pcre:\"/^abc/R\";", "xabc", false},
      {"content:\"ab\"; byte_jump:0,0,relative,post_offset 3;", "xabc", false},
      // A string length moves the cursor past the digits parsed, not past all the bytes read.
      {"byte_jump:2,0,string,dec; content:\"X\"; distance:0; within:1;",
       "12" + std::string(12, '.') + "X", true},
      {"byte_jump:3,0,string,dec; content:\"X\"; distance:0; within:1;", "2abX", true},
      {"byte_jump:2,0,string,hex; content:\"X\"; distance:0; within:1;",
       "0a" + std::string(10, '.') + "X", true},
      {"byte_jump:2,0,string,dec;", "ab", false},  // no digits
  });
}

TEST(MatchRuleTest, ByteExtractAndByteMath) {
  Check({
      // Snort's example: offset and depth of a content read from the payload.
      {"byte_extract:1,0,str_offset; byte_extract:1,1,str_depth; content:\"bad stuff\"; "
       "offset:str_offset; depth:str_depth;",
       "\x04\x0b"
       "xxbad stuff",
       true},
      {"byte_extract:1,0,str_offset; byte_extract:1,1,str_depth; content:\"bad stuff\"; "
       "offset:str_offset; depth:str_depth;",
       "\x04\x08"
       "xxbad stuff",
       false},
      // The cursor after byte_extract is where it stopped reading; distance / within by variable.
      {"content:\"len=\"; byte_extract:1,0,n,relative,string,dec; content:\"!\"; distance:n; "
       "within:1;",
       "len=3abc!", true},
      {"content:\"len=\"; byte_extract:1,0,n,relative,string,dec; content:\"!\"; distance:n; "
       "within:1;",
       "len=2abc!", false},
      // multiplier then align: 3 * 3 = 9, aligned to 4: 12.
      {"byte_extract:1,0,v,multiplier 3,align 4; byte_test:1,=,v,1;", "\x03\x0c", true},
      {"byte_extract:1,0,v,multiplier 3; byte_test:1,=,v,1;", "\x03\x09", true},
      {"byte_extract:2,0,v,bitmask 0xff00; byte_test:1,=,v,2;", "\x07\x99\x07", true},
      {"byte_extract:1,0,v; byte_jump:1,v; content:\"Z\"; distance:0; within:1;",
       "\x02"
       "x\x01"
       "yZ",
       true},
      {"byte_extract:1,0,v; isdataat:v;",
       "\x05"
       "abcd",
       false},
      {"byte_extract:1,0,v; isdataat:v;",
       "\x04"
       "abcd",
       true},
      // Snort 3's byte_math example: 2 bytes times 10 into `area`, then 2 bytes at 16 > area.
      {"byte_math:bytes 2,offset 0,oper *,rvalue 10,result area; byte_test:2,>,area,16;",
       Bytes({0, 5}) + std::string(14, '.') + Bytes({0, 51}), true},
      {"byte_math:bytes 2,offset 0,oper *,rvalue 10,result area; byte_test:2,>,area,16;",
       Bytes({0, 5}) + std::string(14, '.') + Bytes({0, 50}), false},
      // Suricata's example, relative; byte_math leaves the cursor after what it read.
      {"content:\"x\"; byte_math:bytes 1,offset 0,oper +,rvalue 248,result var,relative; "
       "byte_test:2,=,var,0,relative;",
       "x\x05" + Bytes({0x00, 0xfd}), true},
      {"byte_math:bytes 1,offset 0,oper <<,rvalue 2,result v; byte_test:1,=,v,1;", "\x03\x0c",
       true},
      {"byte_math:bytes 1,offset 0,oper >>,rvalue 1,result v; byte_test:1,=,v,1;", "\x08\x04",
       true},
      {"byte_math:bytes 1,offset 0,oper -,rvalue 1,result v; byte_test:1,=,v,1;", "\x08\x07", true},
      {"byte_math:bytes 1,offset 0,oper /,rvalue 3,result v; byte_test:1,=,v,1;", "\x08\x02", true},
      {"byte_math:bytes 1,offset 0,oper +,rvalue 1,result v,string dec; byte_test:1,=,v,1;",
       "8\x09", true},
      // Division by a variable that is 0: the option fails.
      {"byte_extract:1,0,z; byte_math:bytes 1,offset 1,oper /,rvalue z,result v;", Bytes({0, 8}),
       false},
      {"byte_extract:1,0,z; byte_math:bytes 1,offset 1,oper /,rvalue z,result v;", Bytes({2, 8}),
       true},
  });
}

TEST(MatchRuleTest, IsDataAt) {
  std::string user30 = "USER " + std::string(30, 'a');
  Check({
      // Snort's example: 30 bytes after USER, none of them a newline.
      {"content:\"USER\"; isdataat:30,relative; content:!\"|0a|\"; within:30;", user30, true},
      {"content:\"USER\"; isdataat:30,relative; content:!\"|0a|\"; within:30;",
       user30.substr(0, 33), false},
      {"content:\"USER\"; isdataat:30,relative; content:!\"|0a|\"; within:30;",
       "USER aaaa\naaaaaaaaaaaaaaaaaaaaaaaaaa", false},
      {"isdataat:5;", "abcdef", true},  // byte 5 exists
      {"isdataat:5;", "abcde", false},
      {"isdataat:!5;", "abcde", true},
      // Relative: N more bytes after the cursor (Suricata; issue 8031's test), so the cursor may
      // be N bytes before the end, one closer than absolute isdataat allows.
      {"content:\"c\"; isdataat:!1,relative;", "abc", true},  // nothing after "c"
      {"content:\"c\"; isdataat:!1,relative;", "abcd", false},
      {"content:\"c\"; isdataat:1,relative;", "abcd", true},
      {"content:\"c\"; isdataat:2,relative;", "abcd", false},
      {"content:\"c\"; isdataat:0,relative;", "abc", true},
      {"isdataat:4,relative;", "abcd", true},
      {"isdataat:4;", "abcd", false},
      {"isdataat:0;", "", false},
      {"isdataat:!0;", "", true},
  });
}

TEST(MatchRuleTest, PcreFlagsAndCursor) {
  Check({
      {"content:\"a\"; pcre:\"/^b/R\";", "xab", true},  // R: the subject starts at the cursor
      {"content:\"a\"; pcre:\"/^b/R\";", "xacb", false},
      {"pcre:\"/^b/\";", "xab", false},
      {"pcre:\"/a+/\"; content:\"b\"; distance:0; within:1;", "aaab", true},  // match end
      {"pcre:\"/a+/\"; content:\"b\"; distance:0; within:1;", "aaa b", false},
      {"pcre:\"/a.+b/\"; content:\"X\"; distance:0; within:1;", "a1b2bX", true},
      {"pcre:\"/a.+b/G\"; content:\"X\"; distance:0; within:1;", "a1b2bX", false},  // ungreedy
      {"pcre:\"/GET/i\";", "get", true},
      {"pcre:\"/GET/\";", "get", false},
      {"pcre:\"/a.b/s\";", "a\nb", true},
      {"pcre:\"/a.b/\";", "a\nb", false},
      {"pcre:\"/^b$/m\";", "a\nb\nc", true},
      {"pcre:\"/x$/E\";", "x\n", false},
      {"pcre:\"/x$/\";", "x\n", true},
      {"pcre:\"/b/A\";", "ab", false},
      {"pcre:\"/ a b /x\";", "ab", true},
      {"content:\"a\"; pcre:!\"/^\\d/R\";", "a1", false},  // negated: no digit after "a"
      {"content:\"a\"; pcre:!\"/^\\d/R\";", "ab", true},
      {"content:\"a\"; pcre:!\"/^\\d/R\";", "a1ab", true},  // the second "a" has none
      {"pcre:!\"/evil/\";", "good", true},
      {"pcre:\"/x?/\";", "", true},  // an empty payload is an empty subject
      {"pcre:!\"/x/\";", "", true},
      {"pcre:\"/\\x00\\x01/\";", Bytes({'a', 0, 1}), true},
      // Backtracking into a pcre: its second match is followed by Z.
      {"pcre:\"/a./\"; content:\"Z\"; distance:0; within:1;", "a1 a2Z", true},
      {"pcre:\"/a./\"; content:\"Z\"; distance:0; within:1;", "a1 a2 Z", false},
  });
}

TEST(MatchRuleTest, ContentsCursorAndBacktracking) {
  Check({
      // The brief's case: the third "a" is the one followed by "b".
      {"content:\"a\"; content:\"b\"; within:1;", "a a ab", true},
      {"content:\"a\"; content:\"b\"; distance:0; within:1;", "a a ab", true},
      {"content:\"a\"; content:\"b\"; distance:0; within:1;", "a a a b", false},
      // A negated relative content makes the first one retry too.
      {"content:\"a\"; content:!\"b\"; within:1;", "abac", true},
      {"content:\"a\"; content:!\"b\"; within:1;", "abab", false},
      // Three levels deep.
      {"content:\"x\"; content:\"y\"; distance:0; within:2; content:\"z\"; distance:0; within:1;",
       "xy xyq xy.z xyz", true},
      {"content:\"x\"; content:\"y\"; distance:0; within:2; content:\"z\"; distance:0; within:1;",
       "xy xyq xy.z", false},
      // Negative distance reaches back before the cursor.
      {"content:\"cd\"; content:\"bc\"; distance:-3; within:2;", "abcd", true},
      // startswith / endswith.
      {"content:\"GET\"; startswith;", "GET /", true},
      {"content:\"GET\"; startswith;", " GET /", false},
      {"content:\"|0d 0a|\"; endswith;", "abc\r\n", true},
      {"content:\"|0d 0a|\"; endswith;", "a\r\nb", false},
      {"content:\"GET\"; startswith; content:\"|0d 0a|\"; endswith;", "GET /\r\n", true},
      {"content:!\"x\"; endswith;", "xax", false},
      {"content:!\"x\"; endswith;", "xxa", true},
      {"content:\"AbC\"; nocase; content:\"d\"; distance:0; within:1;", "abcd", true},
      {"content:\"abc\"; offset:1; depth:3;", "xabc", true},
      {"content:\"abc\"; offset:1; depth:3;", "xxabc", false},
  });
}

TEST(MatchRuleTest, PacketOptionsInARule) {
  Check({
      {"dsize:>3; content:\"a\";", "abcd", true},
      {"dsize:>3; content:\"a\";", "abc", false},
      {"flags:AP; ttl:64; ip_proto:6; content:\"a\";", "a", true},
      {"flags:S; content:\"a\";", "a", false},
      {"ttl:<64;", "a", false},
      {"sameip;", "a", false},
      {"flow:established;", "a", false},  // a packet without a flow
      {"flow:stateless;", "a", true},
  });
  CompiledRule cr = Compile("flow:established,to_server; content:\"a\";");
  TestPacket tp("a");
  FlowContext up{.has_flow = true, .established = true, .to_server = true};
  FlowContext down{.has_flow = true, .established = true, .to_server = false};
  EXPECT_TRUE(MatchRule(cr, MatchInput::OfPacket(tp.p, &up)));
  EXPECT_FALSE(MatchRule(cr, MatchInput::OfPacket(tp.p, &down)));
  CompiledRule icmp = Compile("itype:8; icode:0;", "icmp");
  TestPacket ping("");
  ping.p.has_tcp = false;
  ping.p.has_icmp = true;
  ping.p.ip_proto = packet::kProtoIcmp;
  ping.p.icmp_type = 8;
  EXPECT_TRUE(MatchRule(icmp, ping.p));
  ping.p.icmp_type = 0;
  EXPECT_FALSE(MatchRule(icmp, ping.p));
}

// Stream chunks: data[0, min_end) is history already inspected, data[0] is at stream offset
// `origin`.
TEST(MatchRuleTest, ChunkOriginAndMinEnd) {
  //                    0123456789012345678
  const std::string h = "..abc.....xyz......";
  CompiledRule abc = Compile("content:\"abc\";");
  EXPECT_FALSE(MatchesChunk(abc, h, 100, 10));  // wholly in the history
  EXPECT_TRUE(MatchesChunk(abc, h, 100, 3));    // ends past the first new byte
  EXPECT_TRUE(MatchesChunk(abc, h, 100, 4));
  EXPECT_FALSE(MatchesChunk(abc, h, 100, 5));                  // ends exactly where new data begins
  EXPECT_TRUE(MatchesChunk(abc, h, 100, 0));                   // min_end 0: no history
  EXPECT_TRUE(MatchesChunk(abc, "........abc....", 100, 10));  // spans min_end
  // A second occurrence in the new bytes: the search goes on past the one in the history.
  EXPECT_TRUE(MatchesChunk(abc, "..abc.........abc..", 100, 10));
  // Absolute windows count from stream offset 0: before `origin` they are clipped away.
  CompiledRule early = Compile("content:\"abc\"; offset:0; depth:50;");
  EXPECT_FALSE(MatchesChunk(early, "............abc", 100, 10));
  EXPECT_TRUE(MatchesChunk(early, "............abc", 0, 10));
  CompiledRule late = Compile("content:\"abc\"; offset:105; depth:20;");
  EXPECT_TRUE(MatchesChunk(late, "............abc", 100, 10));
  EXPECT_FALSE(MatchesChunk(late, "..abc..........", 100, 1));  // index 2 < 105 - 100
  CompiledRule start = Compile("content:\"abc\"; startswith;");
  EXPECT_FALSE(MatchesChunk(start, "abc.....", 100, 1));
  EXPECT_TRUE(MatchesChunk(start, "abc.....", 0, 1));
  // A relative pair spanning min_end; absolute contents with one of them new.
  CompiledRule pair = Compile("content:\"a\"; content:\"b\"; distance:0;");
  EXPECT_TRUE(MatchesChunk(pair, "...a........b..", 100, 10));
  EXPECT_FALSE(MatchesChunk(pair, "...a..b........", 100, 10));
  CompiledRule two = Compile("content:\"ab\"; content:\"cd\";");
  EXPECT_TRUE(MatchesChunk(two, ".ab........cd..", 100, 10));
  EXPECT_FALSE(MatchesChunk(two, ".ab..cd........", 100, 10));
  // A byte read in the new bytes counts as part of the match.
  CompiledRule read = Compile("content:\"L\"; byte_test:1,=,7,0,relative;");
  EXPECT_TRUE(MatchesChunk(read, ".........L\x07...", 100, 10));
  EXPECT_FALSE(MatchesChunk(read, "...L\x07........", 100, 10));
  // Only a negated content: nothing of the match is new.
  CompiledRule negated = Compile("content:!\"zz\";");
  EXPECT_FALSE(MatchesChunk(negated, "..............", 100, 10));
  EXPECT_TRUE(MatchesChunk(negated, "..............", 100, 0));
  // isdataat at an absolute position before `origin`: the stream had a byte there.
  CompiledRule data_at = Compile("content:\"abc\"; isdataat:50;");
  EXPECT_TRUE(MatchesChunk(data_at, "............abc", 100, 10));
  EXPECT_FALSE(MatchesChunk(data_at, "............abc", 0, 10));
  // byte_jump from_beginning counts from stream offset 0.
  CompiledRule jump =
      Compile("content:\"Q\"; byte_jump:1,0,relative,from_beginning; content:\"Z\"; within:1;");
  EXPECT_TRUE(MatchesChunk(jump,
                           "............Q\x72"
                           "Z..",
                           100, 10));  // 0x72 = 114
  EXPECT_FALSE(MatchesChunk(jump,
                            "............Q\x73"
                            "Z..",
                            100, 10));
  // dsize is the packet's payload size, also on a chunk.
  CompiledRule dsize = Compile("dsize:3; content:\"abc\";");
  EXPECT_TRUE(MatchesChunk(dsize, "........abc....", 100, 10, "xyz"));
  EXPECT_FALSE(MatchesChunk(dsize, "........abc....", 100, 10, "wxyz"));
  // pcre: its match must end in the new bytes.
  CompiledRule re = Compile("pcre:\"/a[0-9]/\";");
  EXPECT_FALSE(MatchesChunk(re, "a1............", 100, 10));
  EXPECT_TRUE(MatchesChunk(re, "a1.........a2..", 100, 10));
  // flow:only_stream holds on a chunk only.
  CompiledRule only = Compile("flow:only_stream; content:\"abc\";");
  EXPECT_TRUE(MatchesChunk(only, "........abc....", 100, 10));
  EXPECT_FALSE(Matches(only, "abc"));
  // Suricata's tcp-stream and tcp-pkt protocols say the same as only_stream and no_stream.
  CompiledRule stream = Compile("content:\"abc\";", "tcp-stream");
  EXPECT_TRUE(MatchesChunk(stream, "........abc....", 100, 10));
  EXPECT_FALSE(Matches(stream, "abc"));
  CompiledRule pkt = Compile("content:\"abc\";", "tcp-pkt");
  EXPECT_FALSE(MatchesChunk(pkt, "........abc....", 100, 10));
  EXPECT_TRUE(Matches(pkt, "abc"));
}

TEST(MatchRuleTest, BadInputNeverReadsOutside) {
  // Every option at the edges of small buffers (run under the sanitizers by the fuzz build).
  const char* rules[] = {
      "byte_test:8,>,0,-4,relative;",
      "byte_jump:8,0,from_end;",
      "byte_jump:4,0,relative,post_offset -65535;",
      "byte_extract:8,0,v; content:\"a\"; offset:v; depth:v;",
      "byte_extract:8,0,v; content:\"a\"; distance:v; within:v;",
      "byte_math:bytes 8,offset 0,oper *,rvalue 4294967295,result v; isdataat:v,relative;",
      "byte_test:0,=,1,0,string,dec;",
      "byte_jump:0,0,string,dec;",
      "content:\"a\"; isdataat:-65535,relative;",
      "pcre:\"/$/R\"; byte_test:1,=,0,0,relative;",
      "content:\"ab\"; endswith; content:\"b\"; distance:0;",
  };
  std::vector<std::string> payloads = {"", "a", "ab", std::string(8, '\xff'), "1", "123456789"};
  for (const char* r : rules) {
    CompiledRule cr = Compile(r);
    for (const std::string& p : payloads) {
      (void)Matches(cr, p);
      (void)MatchesChunk(cr, p, 1u << 31, uint32_t(p.size() / 2));
    }
  }
}

TEST(MatchRuleTest, ANullPayloadIsAnEmptyOne) {
  TestPacket tp("");
  tp.p.payload = nullptr;
  EXPECT_TRUE(MatchRule(Compile("pcre:\"/x?/\";"), tp.p));
  EXPECT_TRUE(MatchRule(Compile("pcre:!\"/x/\"; content:!\"x\"; isdataat:!0;"), tp.p));
  EXPECT_FALSE(MatchRule(Compile("content:\"x\";"), tp.p));
  EXPECT_FALSE(MatchRule(Compile("byte_test:1,=,0,0;"), tp.p));
}

TEST(MatchRuleTest, AStepBoundStopsRunawayBacktracking) {
  // 8 nested relative contents over a run of one letter: billions of placements, none ending in
  // "z". The bound (kMaxContentSteps searches) stops the search: no match, quickly.
  CompiledRule cr = Compile(
      "content:\"a\"; content:\"a\"; distance:0; content:\"a\"; distance:0; content:\"a\"; "
      "distance:0; content:\"a\"; distance:0; content:\"a\"; distance:0; content:\"a\"; "
      "distance:0; content:\"z\"; distance:0; within:1;");
  EXPECT_FALSE(Matches(cr, std::string(200, 'a')));
  EXPECT_TRUE(Matches(cr, "aaaaaaaz"));
}

TEST(CompileRuleTest, ReportsWhatCannotBeEvaluated) {
  rules::Variables vars;
  auto r = rules::ParseRule("alert tcp any any -> any any (pcre:\"/a(/\"; sid:1;)", vars);
  ASSERT_TRUE(r);
  CompiledRule cr;
  cr.rule = *r;
  auto st = CompileRule(cr);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message, "pcre does not compile: missing closing parenthesis at offset 2");
  TestPacket tp("a(");
  EXPECT_FALSE(MatchRule(cr, tp.p));  // compiled on first use, never matches
}

TEST(CompileRuleTest, UncompiledAndCopiedRulesCompileOnFirstUse) {
  rules::Variables vars;
  auto r = rules::ParseRule("alert tcp any any -> any any (content:\"a\"; pcre:\"/^b+/R\"; sid:1;)",
                            vars);
  ASSERT_TRUE(r);
  CompiledRule cr;
  cr.rule = *r;  // not compiled
  EXPECT_EQ(cr.program.get(), nullptr);
  // Several threads race to compile it; every one sees the same program.
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        if (!Matches(cr, "xabbb") || Matches(cr, "xacbb")) ++wrong;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
  const RuleProgram* program = cr.program.get();
  ASSERT_NE(program, nullptr);
  CompiledRule copy = cr;
  EXPECT_EQ(copy.program.get(), nullptr);  // a copy compiles its own
  EXPECT_TRUE(Matches(copy, "xab"));
  CompiledRule moved = std::move(cr);
  EXPECT_EQ(moved.program.get(), program);
}

TEST(MatchRuleTest, MatchingAllocatesNothing) {
  std::vector<CompiledRule> rules = CompileAll({
      "content:\"a\"; content:\"b\"; distance:0; within:1; pcre:\"/c+/R\";",
      "byte_extract:1,0,n; content:\"x\"; distance:n; byte_test:1,>,n,0,relative;",
      "content:\"z\"; byte_jump:1,0,relative; isdataat:!1,relative;",
      "byte_math:bytes 1,offset 0,oper +,rvalue 3,result v; content:\"q\"; offset:v;",
      "flow:established; flags:AP; dsize:>1; pcre:!\"/[0-9]{3}/\";",
  });
  std::string payload =
      "\x02"
      "a a abccc x z\x01yq 12";
  TestPacket tp(payload);
  FlowContext flow{.has_flow = true, .established = true};
  MatchInput in = MatchInput::OfPacket(tp.p, &flow);
  for (const CompiledRule& cr : rules) (void)MatchRule(cr, in);  // per-thread state set up
  testing::StartCountingAllocations();
  int matched = 0;
  for (int i = 0; i < 100; ++i) {
    for (const CompiledRule& cr : rules) matched += MatchRule(cr, in);
  }
  EXPECT_EQ(testing::StopCountingAllocations(), 0u);
  EXPECT_GT(matched, 0);
}

// `data[0, len)` as the rules' buffer on `tp`'s packet: the packet's own payload (origin and
// min_end 0) or a stream chunk.
MatchInput BufferInput(const TestPacket& tp, const uint8_t* data, uint32_t len, uint64_t origin,
                       uint32_t min_end) {
  return {.packet = &tp.p,
          .data = data,
          .len = len,
          .origin = origin,
          .min_end = min_end,
          .rebuilt = origin > 0 || min_end > 0};
}

// The checks the Detector makes before the full matcher (MatchPacketConditions with absolute
// byte_tests and a chunk's reach, PrefixBeforePcreHolds, LiteralsPresent) only ever reject what
// MatchRule rejects: random payloads over a small alphabet, as packets and as stream chunks at
// several origins and history lengths, against rules made to exercise each check.
TEST(MatchRuleTest, PrefiltersRejectOnlyNonMatches) {
  std::vector<CompiledRule> rules = CompileAll({
      "byte_test:1,&,8,2; byte_test:1,<,16,2;",
      "byte_test:1,>,3,0; content:\"ab\"; depth:6;",
      "content:\"ab\"; depth:8;",
      "content:\"ab\"; depth:4; content:\"c\"; distance:1; within:3;",
      "content:\"ab\"; offset:2; depth:6; byte_test:1,>,97,1,relative;",
      "content:\"a\"; startswith; content:\"b\"; distance:0;",
      "content:\"ab\"; depth:6; byte_extract:1,0,n,relative; content:\"c\"; within:3;",
      "content:\"b\"; byte_jump:1,0,relative; content:\"a\"; within:2;",
      "content:\"ab\"; pcre:\"/^c+/R\";",
      "content:\"a\"; content:\"b\"; distance:1; within:2; pcre:\"/ba?c/\";",
      "content:\"b\"; byte_jump:1,0,relative,from_beginning,post_offset -1; "
      "isdataat:!1,relative; pcre:\"/^[a-c]+/\";",
      "content:\"ca\"; content:!\"b\"; within:2; pcre:!\"/aaa/\"; content:\"c\";",
      "isdataat:!12; content:\"cb\"; depth:5;",
      "content:\"ab\"; isdataat:5,relative;",
      "content:\"a\"; content:\"bc\"; distance:2; isdataat:3,relative;",
      "content:\"ab\"; content:\"c\"; distance:-3; isdataat:2,relative; content:\"a\";",
      "content:\"b\"; pcre:\"/c+/R\"; isdataat:2,relative;",
      "content:\"c\"; byte_jump:1,0,relative; isdataat:1,relative; content:\"ab\";",
  });
  uint64_t state = 12345;
  auto next = [&] {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return uint32_t(state >> 33);
  };
  int matches = 0, rejects = 0;
  for (int round = 0; round < 3000; ++round) {
    std::string data;
    const uint32_t len = next() % 24;
    for (uint32_t i = 0; i < len; ++i) data.push_back("abc\x01\x08\x0c"[next() % 6]);
    const uint64_t origin = round % 3 == 0 ? 0 : next() % 12;
    const uint32_t min_end = round % 3 == 0 || len == 0 ? 0 : next() % len;
    TestPacket tp(data);
    const MatchInput in = BufferInput(tp, reinterpret_cast<const uint8_t*>(data.data()),
                                      uint32_t(data.size()), origin, min_end);
    for (size_t r = 0; r < rules.size(); ++r) {
      const CompiledRule& cr = rules[r];
      const bool passes =
          MatchPacketConditions(cr, in) && PrefixBeforePcreHolds(cr, in) && LiteralsPresent(cr, in);
      const bool matched = MatchRule(cr, in);
      matches += matched;
      rejects += !passes;
      ASSERT_TRUE(passes || !matched)
          << "rule " << r << " on '" << data << "' origin " << origin << " min_end " << min_end;
    }
  }
  // Both sides occur: the checks are exercised.
  EXPECT_GT(matches, 500);
  EXPECT_GT(rejects, 10000);
}

TEST(MatchRuleTest, PrefiltersRejectWhatTheyCan) {
  // A DNS query (flags 0x0100) is no inverse query: the byte_tests alone decide.
  CompiledRule inverse = Compile("byte_test:1,<,16,2; byte_test:1,&,8,2;");
  TestPacket query(Bytes({0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0}));
  EXPECT_FALSE(MatchPacketConditions(inverse, MatchInput::OfPacket(query.p)));
  TestPacket inverse_query(Bytes({0x12, 0x34, 0x08, 0x00, 0, 1, 0, 0}));
  EXPECT_TRUE(MatchPacketConditions(inverse, MatchInput::OfPacket(inverse_query.p)));
  // GNUTELLA at depth 8 cannot end in a chunk whose new bytes begin at stream offset 8 or later.
  CompiledRule gnutella = Compile("content:\"GNUTELLA\"; depth:8;");
  EXPECT_EQ(gnutella.program.get()->payload_reach, 8);
  TestPacket tp("x");
  const std::string chunk = "GNUTELLA CONNECT/0.6\r\n";
  MatchInput in{.packet = &tp.p,
                .data = reinterpret_cast<const uint8_t*>(chunk.data()),
                .len = uint32_t(chunk.size()),
                .origin = 0,
                .min_end = 8,
                .rebuilt = true};
  EXPECT_FALSE(MatchPacketConditions(gnutella, in));
  in.min_end = 7;
  EXPECT_TRUE(MatchPacketConditions(gnutella, in));
  EXPECT_TRUE(MatchRule(gnutella, in));
  EXPECT_EQ(Compile("content:\"a\"; pcre:\"/b/R\";").program.get()->payload_reach, kUnboundedReach);
  EXPECT_EQ(Compile("content:\"ab\"; depth:4; content:\"c\"; distance:1; within:3;")
                .program.get()
                ->payload_reach,
            8);
  // MiniUPnP's M-SEARCH overflow needs 1,500 bytes: an SSDP query is too short.
  CompiledRule msearch = Compile(
      "content:\"M-SEARCH\"; depth:8; isdataat:1492,relative; content:!\"|0d 0a|\"; "
      "distance:1490; within:2;");
  EXPECT_EQ(msearch.program.get()->payload_min_len, 1500);
  TestPacket ssdp("M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\n\r\n");
  EXPECT_FALSE(MatchPacketConditions(msearch, MatchInput::OfPacket(ssdp.p)));
  TestPacket overflow("M-SEARCH" + std::string(1492, 'A'));
  EXPECT_TRUE(MatchPacketConditions(msearch, MatchInput::OfPacket(overflow.p)));
  EXPECT_TRUE(MatchRule(msearch, overflow.p));
  EXPECT_EQ(Compile("content:\"ab\"; content:\"c\"; distance:-3; isdataat:2,relative;")
                .program.get()
                ->payload_min_len,
            3);
  // A pcre without R may match before the content: the cursor bound starts again from 0.
  CompiledRule back = Compile("content:\"abcab\"; pcre:\"/a/\"; isdataat:3,relative;");
  EXPECT_EQ(back.program.get()->payload_min_len, 5);
  TestPacket five("abcab");
  EXPECT_TRUE(MatchPacketConditions(back, MatchInput::OfPacket(five.p)));
  EXPECT_TRUE(MatchRule(back, five.p));
  // Gh0st's length check before its pcre: the 1-byte length before "b" must end the buffer.
  CompiledRule gh0st = Compile(
      "content:\"b\"; byte_jump:1,-2,relative,from_beginning,post_offset -1; "
      "isdataat:!1,relative; pcre:\"/^[a-z]/\";");
  TestPacket wrong(Bytes({'a', 9, 'b', 'c'}));
  EXPECT_FALSE(PrefixBeforePcreHolds(gh0st, MatchInput::OfPacket(wrong.p)));
  TestPacket right(Bytes({'a', 5, 'b', 'c'}));
  EXPECT_TRUE(PrefixBeforePcreHolds(gh0st, MatchInput::OfPacket(right.p)));
  EXPECT_TRUE(MatchRule(gh0st, right.p));
}

// The end-landing condition (EndLandingsHold, in MatchPacketConditions) only ever rejects what
// MatchRule rejects: random payloads over small numbers and letters, most of them holding a
// length field planted near what the rules' byte_jumps need (the payload's length plus the
// stream origin, give or take a few, in both byte orders), as packets and as stream chunks; each
// rule both matches and is rejected.
TEST(MatchRuleTest, EndLandingsRejectOnlyNonMatches) {
  const char* shapes[] = {
      // Taken: relative, from the beginning or the end, 1 to 4 bytes, ranges of 1 to 3 values,
      // steps that leave the cursor alone in between; absolute, evaluated where they read.
      "content:\"b\"; byte_jump:1,-2,relative,from_beginning,post_offset -1; "
      "isdataat:!1,relative;",
      "content:\"ab\"; byte_jump:2,0,relative,little,from_beginning; isdataat:!1,relative;",
      "content:\"a\"; byte_jump:2,-3,relative,from_beginning,post_offset 2; "
      "byte_test:1,>,0,0; content:!\"cc\"; isdataat:!3,relative;",
      "content:\"c\"; byte_jump:1,0,relative,from_end,post_offset -4; isdataat:!2,relative;",
      "content:\"b\"; byte_jump:4,-5,relative,little,from_beginning,post_offset -1; "
      "isdataat:!1,relative;",
      "byte_jump:2,1,little,post_offset 1; isdataat:!1,relative; content:\"a\";",
      "byte_jump:1,0,from_beginning; isdataat:!2,relative;",
      // Short payloads: a landing before the start counts as the start, which is in range.
      "content:\"a\"; byte_jump:1,0,relative,from_beginning,post_offset -3; "
      "isdataat:!20,relative;",
      // Not taken (the walk alone decides): a multiplier, a jump from after the read, a content
      // moving the cursor before the isdataat.
      "content:\"a\"; byte_jump:1,0,relative,multiplier 2,from_beginning; isdataat:!1,relative;",
      "content:\"a\"; byte_jump:1,0,relative; isdataat:!1,relative;",
      "content:\"a\"; byte_jump:1,0,relative,from_beginning; content:\"b\"; "
      "isdataat:!1,relative;",
  };
  std::vector<CompiledRule> rules;
  for (const char* s : shapes) rules.push_back(Compile(s));
  for (size_t r = 0; r < 8; ++r) {
    EXPECT_EQ(rules[r].program.get()->end_landings.size(), 1u) << shapes[r];
  }
  EXPECT_TRUE(rules[10].program.get()->end_landings.empty());
  uint64_t state = 4242;
  auto next = [&] {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return uint32_t(state >> 33);
  };
  std::vector<int> matches(rules.size()), rejects(rules.size());
  for (int round = 0; round < 30000; ++round) {
    std::string data;
    const uint32_t len = next() % 20;
    for (uint32_t i = 0; i < len; ++i) data.push_back("abc\x00\x01\x02\x03"[next() % 7]);
    const uint64_t origin = round % 3 == 0 ? 0 : next() % 8;
    if (len > 0 && next() % 4 != 0) {
      // The field, after a content of the rules or before one, at a random place.
      const uint32_t bytes = uint32_t(1) << (next() % 3);  // 1, 2 or 4
      const uint64_t v = len + origin + (next() % 9) - 4;
      const bool little = next() % 2;
      const char* before[] = {"", "a", "b", "ab"};
      std::string field = before[next() % 4];
      for (uint32_t k = 0; k < bytes; ++k) {
        field.push_back(char(v >> (8 * (little ? k : bytes - 1 - k))));
      }
      const char* after[] = {"", "b", "c"};
      field += after[next() % 3];
      const uint32_t at = next() % len;
      for (uint32_t k = 0; k < field.size() && at + k < len; ++k) data[at + k] = field[k];
    }
    const uint32_t min_end = round % 3 == 0 || len == 0 ? 0 : next() % len;
    TestPacket tp(data);
    const MatchInput in = BufferInput(tp, reinterpret_cast<const uint8_t*>(data.data()),
                                      uint32_t(data.size()), origin, min_end);
    for (size_t r = 0; r < rules.size(); ++r) {
      const bool passes = MatchPacketConditions(rules[r], in);
      const bool matched = MatchRule(rules[r], in);
      matches[r] += matched;
      rejects[r] += !passes;
      ASSERT_TRUE(passes || !matched)
          << shapes[r] << " on '" << data << "' origin " << origin << " min_end " << min_end;
    }
  }
  for (size_t r = 0; r < rules.size(); ++r) {
    EXPECT_GT(matches[r], 20) << shapes[r];
    if (r < 8) EXPECT_GT(rejects[r], 1000) << shapes[r];
  }
}

TEST(MatchRuleTest, EndLandingRejectsAPacketWithoutItsLength) {
  // ET 2020606 (Gh0st): the 4-byte length 10 bytes before |79 9f| must be the payload's length
  // plus one (post_offset -1, then no byte after the cursor).
  CompiledRule gh0st = Compile(
      "dsize:>11; content:\"|79 9f|\"; offset:8; byte_jump:4,-10,relative,little,"
      "from_beginning,post_offset -1; isdataat:!1,relative; pcre:\"/^[\\x20-\\x7e]+?.{8}"
      "\\x79\\x9f/s\";");
  std::string body = Bytes({'G', 'h', '0', 's', 't', 23, 0, 0, 0, 9, 0, 0, 0, 0x79, 0x9f});
  body += "zzzzzzz";  // 22 bytes: the field says 23
  TestPacket good(body);
  EXPECT_TRUE(MatchPacketConditions(gh0st, MatchInput::OfPacket(good.p)));
  EXPECT_TRUE(MatchRule(gh0st, good.p));
  body[5] = 22;
  TestPacket bad(body);
  EXPECT_FALSE(MatchPacketConditions(gh0st, MatchInput::OfPacket(bad.p)));
  EXPECT_FALSE(MatchRule(gh0st, bad.p));
  // The same bytes 1,000 bytes into a stream: the field would have to say 1,023.
  MatchInput chunk{.packet = &good.p,
                   .data = reinterpret_cast<const uint8_t*>(good.payload.data()),
                   .len = uint32_t(good.payload.size()),
                   .origin = 1000,
                   .rebuilt = true};
  EXPECT_FALSE(MatchPacketConditions(gh0st, chunk));
}

// A rule compiled with its regex prefilter attached, as DetectionPlan::Build compiles it.
CompiledRule CompileWithPrefilter(const std::string& options) {
  CompiledRule cr = Compile(options);
  auto program = CompileProgram(cr.rule);
  EXPECT_TRUE(program) << options;
  if (!program) return cr;
  auto st = AttachRegexPrefilter(**program);
  EXPECT_TRUE(st) << options << ": " << (st ? "" : st.error().message);
  cr.program.Set(std::move(*program));
  return cr;
}

// The regex prefilter (RegexPrefilterHolds) only ever rejects what MatchRule rejects: random
// payloads over the rules' bytes in both cases, placed at every alignment (Vectorscan's bugs have
// depended on the buffer's address), as packets and as stream chunks whose history holds part or
// all of a match. Rules of every shape the prefilter takes, and of shapes it must not take (a
// prefilter made for those would reject their matches).
TEST(MatchRuleTest, RegexPrefiltersRejectOnlyNonMatches) {
  struct Shape {
    const char* options;
    bool has_prefilter;
  };
  const Shape shapes[] = {
      {"content:\"ab\"; pcre:\"/^c+a/R\";", true},
      {"content:\"a\"; nocase; content:!\"b\"; distance:0; within:1; "
       "pcre:\"/^.(?P<x>[bc])a(?P=x)/Rs\";",
       true},
      {"content:\"ca\"; pcre:\"/^(?:b|c\\n)*?a$/R\";", true},
      {"content:\"B\"; nocase; pcre:\"/^[^a]{2}(?=c)/R\";", true},
      {"content:\"A\"; pcre:\"/^b.a/Ri\";", true},
      {"content:\"c\"; pcre:\"/(?:a|bb)c/RA\";", true},
      {"content:\"b\"; byte_test:1,>,96,0,relative; pcre:\"/^a.b/R\";", true},
      {"content:\"a\"; content:\"c\"; distance:1; pcre:\"/^\\n?[AB]/R\";", true},
      {"content:\"ab\"; depth:3; pcre:\"/^(?:c|a)b*$/R\"; content:\"c\";", true},
      {"content:\"a\"; pcre:\"/^b/R\"; pcre:\"/^c/R\";", true},
      // The pcre may match anywhere after the content, or the ^ is not the only anchor.
      {"content:\"a\"; pcre:\"/bc/R\";", false},
      {"content:\"a\"; pcre:\"/^b|c/R\";", false},
      {"content:\"a\"; pcre:\"/^\\bb/R\";", false},
      {"content:\"a\"; pcre:\"/^b$\\n^c/Rm\";", false},
      // The cursor is not a content's end.
      {"content:\"a\"; byte_jump:1,0,relative; pcre:\"/^b/R\";", false},
      {"pcre:\"/a/\"; pcre:\"/^b/R\";", false},
  };
  std::vector<CompiledRule> rules;
  LiteralScratch scratch;
  for (const Shape& s : shapes) {
    rules.push_back(CompileWithPrefilter(s.options));
    const RegexPrefilter* pf = RegexPrefilterOf(rules.back());
    EXPECT_EQ(pf != nullptr, s.has_prefilter) << s.options;
    if (pf != nullptr) ASSERT_TRUE(scratch.Prepare(pf->raw()));
  }
  uint64_t state = 777;
  auto next = [&] {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return uint32_t(state >> 33);
  };
  int matches = 0, rejects = 0;
  std::string buffer(96, '\0');
  for (int round = 0; round < 6000; ++round) {
    const uint32_t len = next() % 20;
    const uint32_t at = next() % 64;
    for (uint32_t i = 0; i < len; ++i) buffer[at + i] = "abcAB\n"[next() % 6];
    const std::string data = buffer.substr(at, len);
    const uint64_t origin = round % 3 == 0 ? 0 : next() % 12;
    const uint32_t min_end = round % 3 == 0 || len == 0 ? 0 : next() % len;
    TestPacket tp(data);
    const MatchInput in =
        BufferInput(tp, reinterpret_cast<const uint8_t*>(buffer.data() + at), len, origin, min_end);
    for (size_t r = 0; r < rules.size(); ++r) {
      const bool passes = RegexPrefilterHolds(rules[r], in, scratch.raw());
      const bool matched = MatchRule(rules[r], in);
      matches += matched;
      rejects += !passes;
      ASSERT_TRUE(passes || !matched) << shapes[r].options << " on '" << data << "' origin "
                                      << origin << " min_end " << min_end;
    }
  }
  EXPECT_GT(matches, 1500);
  EXPECT_GT(rejects, 30000);
}

TEST(MatchRuleTest, RegexPrefilterRejectsACertificateWithoutTheFakeOrg) {
  // ET 2018005 (Upatre's certificate): its content is in every certificate's subject and issuer.
  CompiledRule upatre = CompileWithPrefilter(
      "content:\"|06 03 55 04 0a|\"; content:!\"|03|cnc\"; distance:1; within:4; "
      "pcre:\"/^.{2}(?P<fake_org>([asdfgh]+|[qwerty]+|[zxcvbn]+|[23werf]+)[01]).+?"
      "\\x06\\x03\\x55\\x04\\x0a.{2}(?P=fake_org)/Rs\";");
  const RegexPrefilter* pf = RegexPrefilterOf(upatre);
  ASSERT_NE(pf, nullptr);
  LiteralScratch scratch;
  ASSERT_TRUE(scratch.Prepare(pf->raw()));
  const std::string oid = Bytes({0x30, 0x0f, 0x06, 0x03, 0x55, 0x04, 0x0a, 0x0c, 0x08});
  TestPacket google(oid + "Google 1" + oid + "Google 1");
  EXPECT_FALSE(RegexPrefilterHolds(upatre, MatchInput::OfPacket(google.p), scratch.raw()));
  EXPECT_FALSE(MatchRule(upatre, google.p));
  TestPacket fake(oid + "asdfasd1" + oid + "asdfasd1");
  EXPECT_TRUE(RegexPrefilterHolds(upatre, MatchInput::OfPacket(fake.p), scratch.raw()));
  EXPECT_TRUE(MatchRule(upatre, fake.p));
}

}  // namespace
}  // namespace vigil::detect

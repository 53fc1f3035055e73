#include "app/dns.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace vigil::app {
namespace {

// A DNS message: header, then `body` (questions and answers as wire bytes).
std::string Message(uint16_t flags, uint16_t qd, uint16_t an, std::string_view body) {
  std::string m;
  auto be16 = [&](uint16_t v) {
    m.push_back(char(v >> 8));
    m.push_back(char(v & 0xff));
  };
  be16(0x1234);
  be16(flags);
  be16(qd);
  be16(an);
  be16(0);
  be16(0);
  m.append(body);
  return m;
}

std::string Name(std::initializer_list<std::string_view> labels) {
  std::string n;
  for (std::string_view l : labels) {
    n.push_back(char(l.size()));
    n.append(l);
  }
  n.push_back('\0');
  return n;
}

const std::string kQuestion = Name({"Mail", "example", "com"}) + std::string("\0\x01\0\x01", 4);

bool Parse(const std::string& m, DnsMessage& out, DnsStats& stats) {
  return ParseDns(reinterpret_cast<const uint8_t*>(m.data()), m.size(), out, stats);
}

TEST(Dns, ParsesAQuery) {
  DnsMessage msg;
  DnsStats stats;
  ASSERT_TRUE(Parse(Message(0x0100, 1, 0, kQuestion), msg, stats));
  EXPECT_FALSE(msg.response);
  EXPECT_EQ(msg.opcode, 0);
  ASSERT_EQ(msg.queries.size(), 1u);
  EXPECT_EQ(msg.queries[0].name, "Mail.example.com");  // case kept, no trailing dot
  EXPECT_EQ(msg.queries[0].type, 1);
  EXPECT_EQ(stats.messages, 1u);
}

TEST(Dns, ResponseWithACompressedAnswer) {
  // The answer's name points at the question's (offset 12).
  std::string answer = std::string("\xc0\x0c\0\x05\0\x01\0\0\0\x3c\0\x04", 12) + Name({"x", "io"});
  answer[11] = char(Name({"x", "io"}).size());
  DnsMessage msg;
  DnsStats stats;
  ASSERT_TRUE(Parse(Message(0x8180, 1, 1, kQuestion + answer), msg, stats));
  EXPECT_TRUE(msg.response);
  ASSERT_EQ(msg.answers.size(), 1u);
  EXPECT_EQ(msg.answers[0].name, "Mail.example.com");
  EXPECT_EQ(msg.answers[0].type, 5);
}

TEST(Dns, RejectsWhatIsNotDns) {
  DnsMessage msg;
  DnsStats stats;
  EXPECT_FALSE(Parse("short", msg, stats));
  EXPECT_FALSE(Parse(Message(0x0100, 0, 0, ""), msg, stats));  // a query asks something
  EXPECT_FALSE(Parse(Message(0x0100, 1, 0,
                             "\x05"
                             "ab"),
                     msg, stats));                                    // label past the end
  EXPECT_FALSE(Parse(Message(0x7800, 1, 0, kQuestion), msg, stats));  // opcode 15
  EXPECT_FALSE(Parse(Message(0x0100, 1, 0, std::string("\xc0\x0c\0\x01\0\x01", 6)), msg,
                     stats));                                         // a pointer to itself
  EXPECT_FALSE(Parse(Message(0x0100, 9, 0, kQuestion), msg, stats));  // too many questions
  EXPECT_EQ(stats.malformed, 6u);
  EXPECT_EQ(stats.messages, 0u);
}

TEST(Dns, TcpMessagesAcrossSegments) {
  const std::string m = Message(0x0100, 1, 0, kQuestion);
  std::string stream;
  for (int i = 0; i < 3; ++i) {
    stream.push_back(char(m.size() >> 8));
    stream.push_back(char(m.size() & 0xff));
    stream += m;
  }
  for (size_t piece : {stream.size(), size_t(5), size_t(1)}) {
    DnsTcpStream tcp;
    DnsStats stats;
    std::vector<DnsMessage> out;
    for (size_t i = 0; i < stream.size(); i += piece) {
      std::string_view p = std::string_view(stream).substr(i, piece);
      tcp.Feed(true, reinterpret_cast<const uint8_t*>(p.data()), p.size(), stats, out);
    }
    ASSERT_EQ(out.size(), 3u) << piece;
    EXPECT_EQ(out[2].queries[0].name, "Mail.example.com");
  }
}

TEST(Dns, RandomInputNeverBreaksTheBounds) {
  std::mt19937 rng(5);
  const std::string seed = Message(0x8180, 2, 3, kQuestion + kQuestion + kQuestion);
  for (int round = 0; round < 20000; ++round) {
    std::string m = seed;
    for (int k = 0; k < 4; ++k) m[rng() % m.size()] = char(rng());
    m.resize(rng() % (m.size() + 1));
    DnsMessage msg;
    DnsStats stats;
    if (Parse(m, msg, stats)) {
      EXPECT_LE(msg.queries.size(), kMaxQuestions);
      EXPECT_LE(msg.answers.size(), kMaxAnswers);
      for (const DnsRecord& q : msg.queries) EXPECT_LE(q.name.size(), 255u);
    }
  }
}

}  // namespace
}  // namespace vigil::app

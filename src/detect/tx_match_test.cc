// HTTP transaction buffers in the matcher (option_program.h) and in the Detector (detector.h):
// option semantics per buffer, the stage a rule is evaluated at, and a differential test of the
// Detector's per-transaction evaluation against the brute-force MatchRule over every rule.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <random>
#include <set>
#include <string>
#include <vector>

#include "app/http.h"
#include "app/zlib_test_util.h"
#include "detect/detector.h"
#include "detect/option_program.h"
#include "detect/support.h"
#include "rules/parser.h"
#include "rules/variables.h"

namespace vigil::detect {
namespace {

rules::Rule R(const std::string& text) {
  rules::Variables vars;
  auto r = rules::ParseRule(text, vars);
  EXPECT_TRUE(r) << text << ": " << (r ? "" : r.error().ToString());
  return r ? *r : rules::Rule{};
}

struct TestPacket {
  std::string payload;
  packet::Packet p;
  explicit TestPacket(std::string data, bool to_server = true) : payload(std::move(data)) {
    p.ip_version = 4;
    p.src_ip = *base::IpAddress::Parse(to_server ? "10.0.0.1" : "192.168.0.5");
    p.dst_ip = *base::IpAddress::Parse(to_server ? "192.168.0.5" : "10.0.0.1");
    p.ip_proto = packet::kProtoTcp;
    p.has_tcp = true;
    p.src_port = to_server ? 40000 : 80;
    p.dst_port = to_server ? 80 : 40000;
    p.payload = reinterpret_cast<const uint8_t*>(payload.data());
    p.payload_len = uint32_t(payload.size());
  }
};

// Parses `client` then `server` with an HttpFlow and returns it (transactions kept).
struct Parsed {
  app::HttpFlow flow;
  app::HttpStats stats;
  std::vector<app::HttpEvent> events;
  Parsed(std::string_view client, std::string_view server = {}) {
    app::HttpConfig config;
    flow.Feed(true, reinterpret_cast<const uint8_t*>(client.data()), client.size(), config, stats,
              events);
    flow.Feed(false, reinterpret_cast<const uint8_t*>(server.data()), server.size(), config, stats,
              events);
  }
  const app::HttpTransaction& tx(size_t i = 0) const { return flow.transactions()[i]; }
};

bool Matches(const std::string& rule_text, const app::HttpTransaction* tx,
             std::string_view payload = "", bool to_server = true) {
  CompiledRule cr{.rule = R(rule_text)};
  auto st = CompileRule(cr);
  EXPECT_TRUE(st) << rule_text << ": " << (st ? "" : st.error().ToString());
  TestPacket tp{std::string(payload), to_server};
  FlowContext flow{.has_flow = true, .established = true, .to_server = to_server, .http = true};
  MatchInput in = MatchInput::OfPacket(tp.p, &flow);
  in.tx = tx;
  return MatchRule(cr, in);
}

constexpr std::string_view kGet =
    "GET /one/two/three/six?q=%41 HTTP/1.1\r\nHost: Www.Example.com\r\nUser-Agent: Mozilla/5.0\r\n"
    "Cookie: session=abc\r\n\r\n";
constexpr std::string_view kResponse =
    "HTTP/1.1 404 Not Found\r\nServer: nginx\r\nSet-Cookie: id=9\r\nContent-Length: 0\r\n\r\n";

TEST(TxBuffers, ContentOnEachRequestBuffer) {
  Parsed h(kGet);
  const app::HttpTransaction* tx = &h.tx();
  EXPECT_TRUE(Matches(R"(alert tcp any any -> any any (content:"two"; http_uri; sid:1;))", tx));
  EXPECT_FALSE(Matches(R"(alert tcp any any -> any any (content:"nine"; http_uri; sid:1;))", tx));
  EXPECT_TRUE(Matches(R"(alert tcp any any -> any any (uricontent:"/six"; sid:1;))", tx));
  EXPECT_TRUE(Matches(R"(alert tcp any any -> any any (http.method; content:"GET"; sid:1;))", tx));
  EXPECT_FALSE(Matches(R"(alert tcp any any -> any any (content:"GET"; http_uri; sid:1;))", tx));
  EXPECT_TRUE(Matches(
      R"(alert tcp any any -> any any (http.host; content:"www.example.com"; sid:1;))", tx));
  EXPECT_TRUE(
      Matches(R"(alert tcp any any -> any any (http.host.raw; content:"Www."; sid:1;))", tx));
  EXPECT_TRUE(Matches(
      R"(alert tcp any any -> any any (http.user_agent; content:"Mozilla"; startswith; sid:1;))",
      tx));
  EXPECT_TRUE(
      Matches(R"(alert tcp any any -> any any (content:"session"; http_cookie; sid:1;))", tx));
  EXPECT_TRUE(Matches(
      R"(alert tcp any any -> any any (content:"User-Agent|3a 20|Mozilla"; http_header; sid:1;))",
      tx));
  // The normalized URI is decoded; the raw one is not.
  EXPECT_TRUE(Matches(R"(alert tcp any any -> any any (http.uri; content:"q=%41"; sid:1;))", tx));
  EXPECT_TRUE(
      Matches(R"(alert tcp any any -> any any (http.uri.raw; content:"q=%41"; sid:1;))", tx));
  // pcre's HTTP letters.
  EXPECT_TRUE(Matches(R"(alert tcp any any -> any any (pcre:"/^\/one\//U"; sid:1;))", tx));
  EXPECT_FALSE(Matches(R"(alert tcp any any -> any any (pcre:"/^GET/U"; sid:1;))", tx));
  EXPECT_TRUE(Matches(R"(alert tcp any any -> any any (pcre:"/^get$/Mi"; sid:1;))", tx));
  EXPECT_TRUE(Matches(R"(alert tcp any any -> any any (pcre:/two/U; sid:1;))", tx));  // unquoted
}

TEST(TxBuffers, EachBufferHasItsOwnCursor) {
  Parsed h(kGet);
  const app::HttpTransaction* tx = &h.tx();
  // The relative uri content counts from the uri's start, not from the payload match.
  EXPECT_TRUE(Matches(
      R"(alert tcp any any -> any any (content:"XXXXXXXXXX"; content:"/one"; http_uri; distance:0; within:4; sid:1;))",
      tx, "XXXXXXXXXX"));
  // ... and the payload's relative content counts from the payload match.
  EXPECT_TRUE(Matches(
      R"(alert tcp any any -> any any (content:"/one"; http_uri; content:"ab"; content:"cd"; distance:0; within:2; sid:1;))",
      tx, "abcd"));
  EXPECT_FALSE(Matches(
      R"(alert tcp any any -> any any (content:"/one"; http_uri; content:"ab"; content:"cd"; distance:1; within:2; sid:1;))",
      tx, "abcd"));
  // uricontent-03's rule: offsets and relative contents within the uri.
  EXPECT_TRUE(Matches(
      R"(alert tcp any any -> any any (content:"one"; http_uri; offset:1; depth:10; content:"two"; http_uri; distance:1; within: 4; content:"three"; http_uri; distance:1; within: 6; sid:3;))",
      tx));
}

TEST(TxBuffers, HeaderFieldUserAgent) {
  Parsed h("GET / HTTP/1.1\r\nHost: a\r\nUser-Agent: HttpBrowser/1.0\r\n\r\n");
  const app::HttpTransaction& tx = h.tx();
  EXPECT_TRUE(Matches(
      R"(alert http (flow:to_server,established; http_header:field user-agent; content:"httpbrowser/1.0"; nocase; sid:1;))",
      &tx, "x"));
  EXPECT_FALSE(Matches(
      R"(alert http (http_header:field User-Agent; content:"HttpBrowser/1.1"; sid:1;))", &tx, "x"));
  EXPECT_EQ(UnsupportedReason(
                R(R"(alert http (http_header:field x-forwarded-for; content:"a"; sid:1;))")),
            "unsupported buffer http.header:field x-forwarded-for");
}

TEST(TxBuffers, HostWithDotPrefix) {
  Parsed h(kGet);  // Host: Www.Example.com (http.host: lowercase)
  const app::HttpTransaction* tx = &h.tx();
  EXPECT_TRUE(Matches(
      R"(alert http any any -> any any (http.host; dotprefix; content:".example.com"; endswith; sid:1;))",
      tx));
  EXPECT_TRUE(Matches(
      R"(alert http any any -> any any (http.host; dotprefix; content:".www.example.com"; startswith; sid:1;))",
      tx));
  EXPECT_FALSE(Matches(
      R"(alert http any any -> any any (http.host; dotprefix; content:"www.example.com"; startswith; sid:1;))",
      tx));
  // Without the transform the host has no dot in front.
  EXPECT_FALSE(Matches(R"(alert http any any -> any any (http.host; content:".www"; sid:1;))", tx));
}

TEST(TxBuffers, RawDataIsThePacketPayload) {
  EXPECT_EQ(UnsupportedReason(R(R"(alert tcp any any -> any any (raw_data; content:"x"; sid:1;))")),
            std::nullopt);
  EXPECT_TRUE(Matches(R"(alert tcp any any -> any any (raw_data; content:"abc"; depth:5; sid:1;))",
                      nullptr, "xxabc"));
  EXPECT_FALSE(Matches(R"(alert tcp any any -> any any (raw_data; content:"abc"; depth:4; sid:1;))",
                       nullptr, "xxabc"));
}

TEST(TxBuffers, NoTransactionNoMatch) {
  EXPECT_FALSE(Matches(R"(alert tcp any any -> any any (content:"GET"; http_method; sid:1;))",
                       nullptr, "GET / HTTP/1.1\r\n\r\n"));
}

TEST(TxBuffers, ResponseRulesReadTheResponse) {
  Parsed h(kGet, kResponse);
  const app::HttpTransaction* tx = &h.tx();
  EXPECT_TRUE(Matches(
      R"(alert tcp any any -> any any (flow:to_client; http.stat_code; content:"404"; sid:1;))", tx,
      "", false));
  EXPECT_TRUE(
      Matches(R"(alert tcp any any -> any any (http.stat_msg; content:"Not Found"; sid:1;))", tx,
              "", false));
  // http.header is the response's in a response rule, the request's otherwise.
  EXPECT_TRUE(Matches(
      R"(alert tcp any any -> any any (flow:to_client; http.header; content:"Server: nginx"; sid:1;))",
      tx, "", false));
  EXPECT_FALSE(Matches(
      R"(alert tcp any any -> any any (flow:to_server; http.header; content:"Server: nginx"; sid:1;))",
      tx));
  EXPECT_TRUE(Matches(
      R"(alert tcp any any -> any any (flow:to_client; http.cookie; content:"id=9"; sid:1;))", tx,
      "", false));
  EXPECT_TRUE(Matches(
      R"(alert tcp any any -> any any (http.stat_code; content:"404"; http.uri; content:"/one"; sid:1;))",
      tx, "", false));
}

TEST(TxBuffers, StageOfARule) {
  EXPECT_EQ(TxStageOf(R(R"(alert tcp any any -> any any (content:"x"; sid:1;))")), std::nullopt);
  EXPECT_EQ(TxStageOf(R(R"(alert tcp any any -> any any (content:"x"; http_uri; sid:1;))")),
            app::HttpStage::kRequestHeaders);
  EXPECT_EQ(TxStageOf(R(R"(alert tcp any any -> any any (content:"x"; http_client_body; sid:1;))")),
            app::HttpStage::kRequestComplete);
  EXPECT_EQ(TxStageOf(R(R"(alert tcp any any -> any any (http.stat_code; content:"2"; sid:1;))")),
            app::HttpStage::kResponseHeaders);
  EXPECT_EQ(
      TxStageOf(
          R(R"(alert tcp any any -> any any (flow:to_client; content:"x"; http_header; sid:1;))")),
      app::HttpStage::kResponseHeaders);
  // file.data is the response body, unless the rule is about the request.
  EXPECT_EQ(TxStageOf(R(R"(alert tcp any any -> any any (file_data; content:"x"; sid:1;))")),
            app::HttpStage::kResponseComplete);
  EXPECT_EQ(
      TxStageOf(
          R(R"(alert tcp any any -> any any (flow:to_server; file_data; content:"x"; sid:1;))")),
      app::HttpStage::kRequestComplete);
  EXPECT_EQ(
      TxStageOf(R(
          R"(alert tcp any any -> any any (http.uri; content:"a"; file_data; content:"x"; sid:1;))")),
      app::HttpStage::kRequestComplete);
  EXPECT_EQ(TxStageOf(R(R"(alert tcp any any -> any any (urilen:>5; sid:1;))")),
            app::HttpStage::kRequestHeaders);
  EXPECT_EQ(TxStageOf(R(R"(alert http any any -> any any (http.server; content:"x"; sid:1;))")),
            app::HttpStage::kResponseHeaders);
}

TEST(TxBuffers, FileDataSizesAndHeaderBuffers) {
  Parsed h(
      "POST /upload.php HTTP/1.1\r\nHost: a\r\nContent-Type: text/plain\r\n"
      "Transfer-Encoding: chunked\r\n\r\n4\r\nBODY\r\n0\r\n\r\n",
      "HTTP/1.1 200 OK\r\nServer: x\r\nContent-Length: 13\r\n\r\nMZ the binary");
  const app::HttpTransaction* tx = &h.tx();
  EXPECT_TRUE(Matches(
      R"(alert tcp any any -> any any (flow:to_client; file_data; content:"MZ"; depth:2; sid:1;))",
      tx, "", false));
  EXPECT_TRUE(
      Matches(R"(alert tcp any any -> any any (file.data; content:"binary"; bsize:13; sid:1;))", tx,
              "", false));
  EXPECT_FALSE(
      Matches(R"(alert tcp any any -> any any (file.data; content:"binary"; bsize:<13; sid:1;))",
              tx, "", false));
  EXPECT_TRUE(Matches(
      R"(alert tcp any any -> any any (flow:to_server; file_data; content:"BODY"; bsize:4; sid:1;))",
      tx));
  EXPECT_TRUE(Matches(
      R"(alert tcp any any -> any any (http.response_body; content:"the"; http.stat_code; content:"200"; sid:1;))",
      tx, "", false));
  EXPECT_TRUE(Matches(R"(alert tcp any any -> any any (urilen:11; sid:1;))", tx));
  EXPECT_TRUE(Matches(R"(alert tcp any any -> any any (urilen:5<>20,raw; sid:1;))", tx));
  EXPECT_FALSE(Matches(R"(alert tcp any any -> any any (urilen:>11; sid:1;))", tx));
  EXPECT_TRUE(Matches(
      R"(alert tcp any any -> any any (http_raw_uri; bufferlen:11; content:".php"; endswith; sid:1;))",
      tx));
  EXPECT_TRUE(Matches(
      R"(alert tcp any any -> any any (http.header_names; content:"|0d 0a|Host|0d 0a|"; sid:1;))",
      tx));
  EXPECT_TRUE(Matches(
      R"(alert tcp any any -> any any (http.content_type; content:"text/plain"; bsize:10; sid:1;))",
      tx));
  EXPECT_TRUE(
      Matches(R"(alert tcp any any -> any any (http.server; content:"x"; sid:1;))", tx, "", false));
  EXPECT_TRUE(Matches(
      R"(alert tcp any any -> any any (http.start; content:"POST /upload.php HTTP/1.1|0d 0a|"; startswith; sid:1;))",
      tx));
}

TEST(TxBuffers, SupportedAndUnsupported) {
  EXPECT_EQ(UnsupportedReason(R(R"(alert http any any -> any any (content:"x"; sid:1;))")),
            std::nullopt);
  EXPECT_EQ(UnsupportedReason(R(R"(alert tcp any any -> any any (http.uri; content:"x"; sid:1;))")),
            std::nullopt);
  EXPECT_EQ(
      UnsupportedReason(R(R"(alert tcp any any -> any any (file.data; content:"x"; sid:1;))")),
      std::nullopt);
  EXPECT_EQ(
      UnsupportedReason(R(R"(alert tcp any any -> any any (http.accept; content:"x"; sid:1;))")),
      std::nullopt);
  // Snort 3's file_data of another service is a file vigil does not extract.
  EXPECT_EQ(
      UnsupportedReason(R(
          R"(alert tcp any any -> any any (flow:to_server; file_data; content:"x"; service:smtp; sid:1;))")),
      "unsupported buffer file.data of service smtp");
  EXPECT_EQ(
      UnsupportedReason(R(
          R"(alert tcp any any -> any any (file_data; content:"x"; service:ftp-data,http; sid:1;))")),
      std::nullopt);
  EXPECT_EQ(UnsupportedReason(R(R"(alert tcp any any -> any any (tls.alpn; content:"x"; sid:1;))")),
            "unsupported buffer tls.alpn");
  EXPECT_EQ(UnsupportedReason(R(R"(alert tcp any any -> any any (bsize:>2; sid:1;))")),
            "unsupported keyword bsize on pkt_data");
  EXPECT_EQ(UnsupportedReason(R(R"(alert smtp any any -> any any (content:"x"; sid:1;))")),
            std::nullopt);
  EXPECT_EQ(
      UnsupportedReason(R(R"(alert smtp any any -> any any (file.data; content:"x"; sid:1;))")),
      "unsupported buffer file.data of protocol smtp");
  EXPECT_EQ(UnsupportedReason(R(R"(alert ftp any any -> any any (content:"x"; sid:1;))")),
            "unsupported protocol ftp (application-layer detection)");
  // A variable may not cross buffers.
  EXPECT_NE(
      UnsupportedReason(R(
          R"(alert tcp any any -> any any (byte_extract:1,0,n; http.uri; content:"a"; offset:n; sid:1;))")),
      std::nullopt);
}

TEST(TxBuffers, AlertHttpNeedsAnHttpFlow) {
  CompiledRule cr{.rule = R(R"(alert http any any -> any any (content:"abc"; sid:1;))")};
  ASSERT_TRUE(CompileRule(cr));
  TestPacket tp{"xxabcxx"};
  FlowContext flow{.has_flow = true, .established = true};
  EXPECT_FALSE(MatchRule(cr, MatchInput::OfPacket(tp.p, &flow)));
  flow.http = true;
  EXPECT_TRUE(MatchRule(cr, MatchInput::OfPacket(tp.p, &flow)));
}

// The Detector's transaction evaluation (prefilter per buffer, stage per rule) against MatchRule on
// every rule of the transaction's stage.
TEST(TxDetectorDifferential, SameAnswersAsBruteForce) {
  std::vector<std::string> texts;
  const char* uris[] = {"one", "two", "/t", "six", "%41", "q=", "zzz"};
  const char* methods[] = {"GET", "POST", "PUT"};
  uint32_t sid = 1;
  for (const char* u : uris) {
    texts.push_back(
        fmt::format(R"(alert tcp any any -> any any (content:"{}"; http_uri; sid:{};))", u, sid++));
    texts.push_back(fmt::format(
        R"(alert tcp any any -> any any (content:"{}"; http_uri; nocase; content:"example"; http_host; sid:{};))",
        u, sid++));
    texts.push_back(fmt::format(
        R"(alert tcp any any -> any any (http.uri; content:"{}"; content:"/"; distance:0; sid:{};))",
        u, sid++));
  }
  for (const char* m : methods) {
    texts.push_back(fmt::format(
        R"(alert tcp any any -> any any (content:"{}"; http_method; content:"body"; nocase; http_client_body; sid:{};))",
        m, sid++));
    texts.push_back(fmt::format(
        R"(alert tcp any any -> any any (flow:to_client; content:"{}"; http_method; http.stat_code; content:"404"; sid:{};))",
        m, sid++));
  }
  texts.push_back(fmt::format(R"(alert tcp any any -> any any (pcre:"/t[wh]/U"; sid:{};))", sid++));
  // Suricata's dotprefix on http.host: "." + the host.
  texts.push_back(fmt::format(
      R"(alert http any any -> any any (http.host; dotprefix; content:".example.com"; endswith; sid:{};))",
      sid++));
  texts.push_back(fmt::format(
      R"(alert http any any -> any any (http.host; dotprefix; content:".www."; startswith; sid:{};))",
      sid++));
  // Bodies (file.data of each direction, http.response_body), sizes and header buffers.
  texts.push_back(fmt::format(
      R"(alert tcp any any -> any any (flow:to_client; file_data; content:"secret"; sid:{};))",
      sid++));
  texts.push_back(fmt::format(
      R"(alert tcp any any -> any any (file.data; content:"page"; bsize:>12; sid:{};))", sid++));
  texts.push_back(fmt::format(
      R"(alert tcp any any -> any any (flow:to_server; file_data; content:"body"; nocase; sid:{};))",
      sid++));
  texts.push_back(fmt::format(
      R"(alert tcp any any -> any any (http.response_body; content:"the"; http.stat_code; content:"200"; sid:{};))",
      sid++));
  texts.push_back(fmt::format(
      R"(alert tcp any any -> any any (flow:to_client; file.data; content:!"secret"; sid:{};))",
      sid++));
  texts.push_back(fmt::format(R"(alert tcp any any -> any any (urilen:<8; sid:{};))", sid++));
  texts.push_back(fmt::format(
      R"(alert tcp any any -> any any (http.header_names; content:"|0d 0a|User-Agent|0d 0a|"; sid:{};))",
      sid++));
  texts.push_back(fmt::format(
      R"(alert tcp any any -> any any (flow:to_client; http.content_type; content:"text"; sid:{};))",
      sid++));
  texts.push_back(
      fmt::format(R"(alert http any any -> any any (content:"GET"; http_method; sid:{};))", sid++));
  texts.push_back(fmt::format(
      R"(alert tcp any any -> any any (content:"GET"; pcre:"/\/two\//U"; sid:{};))", sid++));
  texts.push_back(fmt::format(
      R"(alert tcp any any -> any any (content:!"Firefox"; http_header; content:"Mozilla"; http_user_agent; sid:{};))",
      sid++));

  std::vector<rules::Rule> rs;
  for (const auto& t : texts) rs.push_back(R(t));
  auto plan = DetectionPlan::Build(rs, rules::ClassificationTable::Default());
  ASSERT_TRUE(plan);
  ASSERT_EQ((*plan)->rule_count(), texts.size());
  auto detector = Detector::Create(**plan);
  ASSERT_TRUE(detector);

  std::mt19937 rng(11);
  const char* paths[] = {"/one/two", "/six?q=%41", "/TWO/", "/three", "/a/../two/", "/"};
  const char* hosts[] = {"www.example.com", "other.org"};
  const char* agents[] = {"Mozilla/5.0", "Firefox/3", "curl"};
  const char* codes[] = {"200", "404"};
  int alerts_seen = 0;
  for (int round = 0; round < 200; ++round) {
    std::string method = methods[rng() % 3];
    std::string body = rng() % 2 ? "Http Body!" : "nothing";
    std::string req = method + " " + paths[rng() % std::size(paths)] +
                      " HTTP/1.1\r\nHost: " + hosts[rng() % 2] +
                      "\r\nUser-Agent: " + agents[rng() % 3] +
                      "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    // Response bodies: none, plain, chunked, or gzip-encoded (decoded for file.data).
    const std::string page = rng() % 2 ? "the secret page" : "the public page";
    std::string resp = std::string("HTTP/1.1 ") + codes[rng() % 2] + " X\r\n";
    switch (rng() % 4) {
      case 0:
        resp += "Content-Length: 0\r\n\r\n";
        break;
      case 1:
        resp += "Content-Type: text/html\r\nContent-Length: " + std::to_string(page.size()) +
                "\r\n\r\n" + page;
        break;
      case 2:
        resp += "Transfer-Encoding: chunked\r\n\r\n5\r\n" + page.substr(0, 5) + "\r\n" +
                fmt::format("{:x}", page.size() - 5) + "\r\n" + page.substr(5) + "\r\n0\r\n\r\n";
        break;
      default: {
        const std::string z = app::testing::Compress(page, app::testing::kGzip);
        resp += "Content-Encoding: gzip\r\nContent-Length: " + std::to_string(z.size()) +
                "\r\n\r\n" + z;
        break;
      }
    }
    app::HttpFlow flow;
    app::HttpStats stats;
    app::HttpConfig config;
    for (bool to_server : {true, false}) {
      const std::string& bytes = to_server ? req : resp;
      std::vector<app::HttpEvent> events;
      flow.BeginPacket(config, stats);
      flow.Feed(to_server, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), config,
                stats, events);
      TestPacket tp{"", to_server};
      FlowContext ctx{.has_flow = true,
                      .established = true,
                      .to_server = to_server,
                      .http = true,
                      .http_events = events};
      std::vector<Alert> alerts;
      (*detector)->Inspect(tp.p, ctx, {}, alerts);
      std::multiset<uint32_t> got;
      for (const Alert& a : alerts) got.insert(a.rule->rule.sid);
      std::multiset<uint32_t> want;
      for (const app::HttpEvent& e : events) {
        FlowContext tx_ctx = ctx;
        tx_ctx.to_server = !app::IsResponseStage(e.stage);
        MatchInput in = MatchInput::OfPacket(tp.p, &tx_ctx);
        in.tx = e.tx;
        for (size_t i = 0; i < (*plan)->rule_count(); ++i) {
          const CompiledRule& cr = (*plan)->rule(i);
          if (cr.tx_stage != int8_t(e.stage)) continue;
          if (MatchRule(cr, in)) want.insert(cr.rule.sid);
        }
      }
      EXPECT_EQ(got, want) << req << resp;
      alerts_seen += int(got.size());
    }
  }
  EXPECT_GT(alerts_seen, 100);  // the test exercises matches, not only misses
}

// DNS: dns.query rules on a message's questions.
bool MatchesDns(const std::string& rule_text, const app::DnsMessage* msg, bool dns_flow = true) {
  CompiledRule cr{.rule = R(rule_text)};
  auto st = CompileRule(cr);
  EXPECT_TRUE(st) << rule_text << ": " << (st ? "" : st.error().ToString());
  TestPacket tp{"\x12\x34\x01\x00"};
  FlowContext flow{.has_flow = true, .to_server = true, .dns = dns_flow};
  MatchInput in = MatchInput::OfPacket(tp.p, &flow);
  in.dns = msg;
  return MatchRule(cr, in);
}

app::DnsMessage Query(std::initializer_list<const char*> names, bool response = false) {
  app::DnsMessage m;
  m.response = response;
  for (const char* n : names) m.queries.push_back({n, 1, 1});
  return m;
}

TEST(DnsBuffers, QueryNames) {
  const app::DnsMessage q = Query({"Www.Evil.Example.com"});
  EXPECT_TRUE(MatchesDns(
      R"(alert dns any any -> any any (dns.query; content:"evil.example.com"; nocase; endswith; sid:1;))",
      &q));
  EXPECT_FALSE(MatchesDns(
      R"(alert dns any any -> any any (dns.query; content:"evil.example.com"; endswith; sid:1;))",
      &q));  // case kept
  // dotprefix: "." + the name, so ".example.com" does not match "badexample.com".
  EXPECT_TRUE(MatchesDns(
      R"(alert dns any any -> any any (dns.query; dotprefix; content:".example.com"; nocase; endswith; sid:1;))",
      &q));
  EXPECT_TRUE(MatchesDns(
      R"(alert dns any any -> any any (dns.query; dotprefix; content:".www.evil"; startswith; nocase; sid:1;))",
      &q));
  const app::DnsMessage bad = Query({"badexample.com"});
  EXPECT_FALSE(MatchesDns(
      R"(alert dns any any -> any any (dns.query; dotprefix; content:".example.com"; endswith; sid:1;))",
      &bad));
  EXPECT_TRUE(MatchesDns(
      R"(alert dns any any -> any any (dns.query; content:"Www"; bsize:20; sid:1;))", &q));
  EXPECT_FALSE(MatchesDns(
      R"(alert dns any any -> any any (dns.query; content:"Www"; bsize:<20; sid:1;))", &q));
  // Each question is a buffer of its own.
  const app::DnsMessage two = Query({"a.org", "b.net"});
  EXPECT_TRUE(MatchesDns(
      R"(alert dns any any -> any any (dns.query; content:"b.net"; startswith; sid:1;))", &two));
  EXPECT_FALSE(
      MatchesDns(R"(alert dns any any -> any any (dns.query; content:"a.orgb"; sid:1;))", &two));
  // A response's questions are not dns.query; no message, no match.
  const app::DnsMessage resp = Query({"Www.Evil.Example.com"}, true);
  EXPECT_FALSE(
      MatchesDns(R"(alert dns any any -> any any (dns.query; content:"Evil"; sid:1;))", &resp));
  EXPECT_FALSE(
      MatchesDns(R"(alert dns any any -> any any (dns.query; content:"Evil"; sid:1;))", nullptr));
  // `alert dns` on the payload: only flows identified as DNS.
  EXPECT_TRUE(MatchesDns(R"(alert dns any any -> any any (content:"|34 01|"; sid:1;))", &q));
  EXPECT_FALSE(
      MatchesDns(R"(alert dns any any -> any any (content:"|34 01|"; sid:1;))", &q, false));
}

TEST(DnsBuffers, RulesAndSupport) {
  EXPECT_TRUE(IsDnsRule(R(R"(alert dns any any -> any any (dns_query; content:"x"; sid:1;))")));
  EXPECT_FALSE(IsDnsRule(R(R"(alert dns any any -> any any (content:"x"; sid:1;))")));
  EXPECT_EQ(
      UnsupportedReason(R(R"(alert dns any any -> any any (dns.query; content:"x"; sid:1;))")),
      std::nullopt);
  EXPECT_EQ(UnsupportedReason(R(
                R"(alert dns any any -> any any (dns.query; to_lowercase; content:"x"; sid:1;))")),
            "unsupported keyword to_lowercase");
}

// What the Detector reports for the packet of `in` in `ctx` (sids), and what MatchRule finds on
// `in` among the plan's rules of `stage`.
struct Answers {
  std::multiset<uint32_t> got, want;
};
Answers Compare(Detector& detector, const DetectionPlan& plan, const FlowContext& ctx,
                const MatchInput& in, size_t stage) {
  Answers answers;
  std::vector<Alert> alerts;
  detector.Inspect(*in.packet, ctx, {}, alerts);
  for (const Alert& a : alerts) answers.got.insert(a.rule->rule.sid);
  for (size_t i = 0; i < plan.rule_count(); ++i) {
    const CompiledRule& cr = plan.rule(i);
    if (cr.tx_stage == int8_t(stage) && MatchRule(cr, in)) answers.want.insert(cr.rule.sid);
  }
  return answers;
}

// The Detector's DNS evaluation (per-name fast-pattern scan, with and without the dot) against
// MatchRule on every DNS rule.
TEST(DnsDetectorDifferential, SameAnswersAsBruteForce) {
  const char* domains[] = {"example.com", "evil.example.com", "badexample.com",
                           "EVIL.org",    "a.b.c.d.e",        "xn--e1a.ru"};
  std::vector<std::string> texts;
  uint32_t sid = 1;
  for (const char* d : domains) {
    texts.push_back(fmt::format(
        R"(alert dns any any -> any any (dns.query; content:"{}"; nocase; endswith; sid:{};))", d,
        sid++));
    texts.push_back(fmt::format(
        R"(alert dns any any -> any any (dns.query; dotprefix; content:".{}"; endswith; sid:{};))",
        d, sid++));
    texts.push_back(
        fmt::format(R"(alert udp any any -> any 53 (dns_query; content:"{}"; bsize:{}; sid:{};))",
                    d, std::string_view(d).size(), sid++));
  }
  texts.push_back(fmt::format(
      R"(alert dns any any -> any any (dns.query; pcre:"/^[a-z]\.b/"; sid:{};))", sid++));
  std::vector<rules::Rule> rs;
  for (const auto& t : texts) rs.push_back(R(t));
  auto plan = DetectionPlan::Build(rs, rules::ClassificationTable::Default());
  ASSERT_TRUE(plan);
  auto detector = Detector::Create(**plan);
  ASSERT_TRUE(detector);
  std::mt19937 rng(3);
  const char* prefixes[] = {"", "www.", "evil.", "bad", "mail.EVIL."};
  int alerts_seen = 0;
  for (int round = 0; round < 300; ++round) {
    std::vector<std::string> names;
    for (size_t k = 0, n = 1 + rng() % 2; k < n; ++k) {
      names.push_back(std::string(prefixes[rng() % 5]) + domains[rng() % 6]);
    }
    app::DnsMessage m;
    m.response = rng() % 4 == 0;
    for (const std::string& n : names) m.queries.push_back({n, 1, 1});
    TestPacket tp{"\x12\x34\x01\x00"};
    tp.p.has_tcp = false;
    tp.p.has_udp = true;
    tp.p.ip_proto = packet::kProtoUdp;
    tp.p.dst_port = 53;
    FlowContext ctx{
        .has_flow = true, .to_server = true, .dns = true, .dns_messages = std::span(&m, 1)};
    MatchInput in = MatchInput::OfPacket(tp.p, &ctx);
    in.dns = &m;
    const Answers a = Compare(**detector, **plan, ctx, in, kDnsStage);
    EXPECT_EQ(a.got, a.want) << names[0];
    alerts_seen += int(a.got.size());
  }
  EXPECT_GT(alerts_seen, 100);
}

// TLS: tls.sni and tls.certs rules on a handshake.
bool MatchesTls(const std::string& rule_text, const app::TlsHandshake* hs, bool to_server = true,
                bool tls_flow = true) {
  CompiledRule cr{.rule = R(rule_text)};
  auto st = CompileRule(cr);
  EXPECT_TRUE(st) << rule_text << ": " << (st ? "" : st.error().ToString());
  TestPacket tp{"\x16\x03\x01", to_server};
  FlowContext flow{.has_flow = true, .established = true, .to_server = to_server, .tls = tls_flow};
  MatchInput in = MatchInput::OfPacket(tp.p, &flow);
  in.tls = hs;
  return MatchRule(cr, in);
}

TEST(TlsBuffers, ServerNameAndCertificates) {
  app::TlsHandshake hs;
  hs.client_hello = true;
  hs.sni = "api.Evil.example";
  hs.certs = {std::string("\x30\x82 first cert CN=evil", 25), "second cert"};
  EXPECT_TRUE(MatchesTls(
      R"(alert tls any any -> any any (tls.sni; content:"evil.example"; nocase; endswith; sid:1;))",
      &hs));
  EXPECT_TRUE(MatchesTls(
      R"(alert tls any any -> any any (tls.sni; dotprefix; content:".evil.example"; nocase; endswith; sid:1;))",
      &hs));
  EXPECT_FALSE(MatchesTls(
      R"(alert tls any any -> any any (tls.sni; dotprefix; content:".api"; endswith; sid:1;))",
      &hs));
  EXPECT_TRUE(MatchesTls(
      R"(alert tls any any -> any any (tls_sni; content:"api."; startswith; bsize:16; sid:1;))",
      &hs));
  EXPECT_TRUE(MatchesTls(
      R"(alert tls any any -> any any (flow:to_client; tls.certs; content:"second"; sid:1;))", &hs,
      false));
  EXPECT_TRUE(MatchesTls(R"(alert tls any any -> any any (tls.certs; content:"CN=evil"; sid:1;))",
                         &hs, false));
  EXPECT_FALSE(MatchesTls(
      R"(alert tls any any -> any any (tls.certs; content:"first cert CN=evil second"; sid:1;))",
      &hs, false));  // each certificate is a buffer of its own
  EXPECT_FALSE(MatchesTls(
      R"(alert tls any any -> any any (tls.sni; content:"evil"; nocase; sid:1;))", nullptr));
  // `alert tls` on the payload: only flows identified as TLS.
  EXPECT_TRUE(MatchesTls(R"(alert tls any any -> any any (content:"|16 03|"; sid:1;))", &hs));
  EXPECT_FALSE(
      MatchesTls(R"(alert tls any any -> any any (content:"|16 03|"; sid:1;))", &hs, true, false));
  EXPECT_EQ(TlsStageOf(R(R"(alert tls any any -> any any (tls.sni; content:"x"; sid:1;))")),
            app::TlsStage::kClientHello);
  EXPECT_EQ(
      TlsStageOf(R(
          R"(alert tls any any -> any any (tls.sni; content:"x"; tls.certs; content:"y"; sid:1;))")),
      app::TlsStage::kServerCertificate);
  EXPECT_EQ(
      UnsupportedReason(R(R"(alert tls any any -> any any (tls.random; content:"x"; sid:1;))")),
      "unsupported buffer tls.random");
  hs.ja3_hash = "e7d705a3286e19ea42f587b344ee6865";
  hs.server_hello = true;
  hs.ja3s_hash = "0123456789abcdef0123456789abcdef";
  EXPECT_TRUE(MatchesTls(
      R"(alert tls any any -> any any (ja3.hash; content:"e7d705a3286e19ea42f587b344ee6865"; sid:1;))",
      &hs));
  EXPECT_TRUE(MatchesTls(
      R"(alert tls any any -> any any (ja3s.hash; content:"0123456789abcdef"; startswith; sid:1;))",
      &hs, false));
  EXPECT_EQ(TlsStageOf(R(R"(alert tls any any -> any any (ja3s.hash; content:"x"; sid:1;))")),
            app::TlsStage::kServerHello);
}

TEST(TlsBuffers, FirstCertificateFields) {
  app::TlsHandshake hs;
  hs.server_certificate = true;
  hs.certs = {"der"};
  hs.cert_decoded = true;
  hs.cert_subject = "C=US, O=Cloudflare, Inc., CN=cloudflare-dns.com";
  hs.cert_issuer = "C=US, O=Let's Encrypt, CN=R3";
  hs.cert_serial = "00:9B:DD";
  hs.cert_fingerprint = "be:73:46:2a:2e:fb:a9:e9:42:d0:71:10:1b:8c:bf:44:6a:5d:ad:53";
  EXPECT_TRUE(MatchesTls(
      R"(alert tls any any -> any any (flow:to_client; tls.cert_subject; content:"CN=cloudflare-dns.com"; endswith; sid:1;))",
      &hs, false));
  EXPECT_TRUE(MatchesTls(
      R"(alert tls any any -> any any (tls.cert_issuer; content:"C=US, O=Let's Encrypt, CN=R3"; bsize:28; sid:1;))",
      &hs, false));
  EXPECT_FALSE(MatchesTls(
      R"(alert tls any any -> any any (tls.cert_issuer; content:"Let's Encrypt"; bsize:20; sid:1;))",
      &hs, false));
  EXPECT_TRUE(MatchesTls(
      R"(alert tls any any -> any any (tls_cert_serial; content:"00:9B"; startswith; sid:1;))", &hs,
      false));
  EXPECT_TRUE(MatchesTls(
      R"(alert tls any any -> any any (tls.cert_fingerprint; content:"be:73:46:2a:2e:fb:a9:e9:42:d0:71:10:1b:8c:bf:44:6a:5d:ad:53"; sid:1;))",
      &hs, false));
  // Each field is a buffer of its own, with its own cursor.
  EXPECT_TRUE(MatchesTls(
      R"(alert tls any any -> any any (tls.cert_subject; content:"CN="; tls.cert_issuer; content:"C=US"; startswith; sid:1;))",
      &hs, false));
  EXPECT_FALSE(MatchesTls(
      R"(alert tls any any -> any any (tls.cert_subject; content:"R3"; sid:1;))", &hs, false));
  EXPECT_TRUE(MatchesTls(
      R"(alert tls any any -> any any (tls.cert_subject; content:!"R3"; sid:1;))", &hs, false));
  // No decoded certificate: the buffers are absent, a negated content does not match either.
  hs.cert_decoded = false;
  EXPECT_FALSE(MatchesTls(
      R"(alert tls any any -> any any (tls.cert_subject; content:!"R3"; sid:1;))", &hs, false));
  EXPECT_FALSE(MatchesTls(R"(alert tls any any -> any any (tls.cert_issuer; content:"R3"; sid:1;))",
                          &hs, false));
  for (const char* buffer :
       {"tls.cert_subject", "tls.cert_issuer", "tls.cert_serial", "tls.cert_fingerprint"}) {
    EXPECT_EQ(TlsStageOf(R(fmt::format(
                  R"(alert tls any any -> any any (tls.sni; content:"x"; {}; content:"y"; sid:1;))",
                  buffer))),
              app::TlsStage::kServerCertificate)
        << buffer;
  }
}

// `alert smtp`: the payload of flows recognized as SMTP only.
TEST(SmtpRules, OnlySmtpFlows) {
  CompiledRule cr{.rule = R(R"(alert smtp any any -> any any (content:"MAIL FROM"; sid:1;))")};
  ASSERT_TRUE(CompileRule(cr));
  TestPacket tp{"MAIL FROM:<a@b.example>\r\n", true};
  FlowContext smtp{.has_flow = true, .established = true, .to_server = true, .smtp = true};
  FlowContext other{.has_flow = true, .established = true, .to_server = true};
  EXPECT_TRUE(MatchRule(cr, MatchInput::OfPacket(tp.p, &smtp)));
  EXPECT_FALSE(MatchRule(cr, MatchInput::OfPacket(tp.p, &other)));
}

// Snort's ssl_state / ssl_version on the flow's app::SslFlag bits.
bool MatchesSsl(const std::string& options, uint32_t ssl_flags) {
  CompiledRule cr{.rule = R("alert tcp any any -> any any (" + options + " sid:1;)")};
  auto st = CompileRule(cr);
  EXPECT_TRUE(st) << options << ": " << (st ? "" : st.error().ToString());
  TestPacket tp{"\x16\x03\x01", true};
  FlowContext flow{
      .has_flow = true, .established = true, .to_server = true, .ssl_flags = ssl_flags};
  return MatchRule(cr, MatchInput::OfPacket(tp.p, &flow));
}

TEST(SslOptions, StateAndVersion) {
  const uint32_t hello = app::kSslClientHello | app::kTls10 | app::kTls12;
  EXPECT_TRUE(MatchesSsl("ssl_state:client_hello;", hello));
  EXPECT_FALSE(MatchesSsl("ssl_state:server_hello;", hello));
  EXPECT_TRUE(MatchesSsl("ssl_state:server_hello,client_hello;", hello));  // any of them
  EXPECT_TRUE(MatchesSsl("ssl_state:!server_hello;", hello));
  EXPECT_FALSE(MatchesSsl("ssl_state:!client_hello;", hello));
  EXPECT_TRUE(MatchesSsl("ssl_version:tls1.2;", hello));
  EXPECT_FALSE(MatchesSsl("ssl_version:sslv2;", hello));
  EXPECT_TRUE(MatchesSsl("ssl_version:!sslv3;", hello));
  EXPECT_TRUE(MatchesSsl("ssl_version:sslv2; ssl_state:client_hello; content:\"|16|\";",
                         app::kSslV2 | app::kSslClientHello));
  // No SSL session at all: not even a negated state holds.
  EXPECT_FALSE(MatchesSsl("ssl_state:!server_hello;", 0));
  EXPECT_EQ(UnsupportedReason(R(R"(alert tcp any any -> any any (ssl_state:unknown; sid:1;))")),
            "unsupported ssl_state unknown");
}

// The Detector's TLS evaluation (per-stage fast-pattern scans over the server name, with and
// without the dot, and each certificate) against MatchRule on every TLS rule.
TEST(TlsDetectorDifferential, SameAnswersAsBruteForce) {
  const char* names[] = {"example.com", "evil.example.com", "badexample.com", "cdn.EVIL.org"};
  std::vector<std::string> texts;
  uint32_t sid = 1;
  for (const char* d : names) {
    texts.push_back(fmt::format(
        R"(alert tls any any -> any any (tls.sni; content:"{}"; nocase; endswith; sid:{};))", d,
        sid++));
    texts.push_back(fmt::format(
        R"(alert tls any any -> any any (tls.sni; dotprefix; content:".{}"; endswith; sid:{};))", d,
        sid++));
    texts.push_back(fmt::format(
        R"(alert tls any any -> any any (flow:to_client; tls.certs; content:"CN={}"; sid:{};))", d,
        sid++));
  }
  for (const char* d : names) {
    texts.push_back(fmt::format(
        R"(alert tls any any -> any any (tls.cert_subject; content:"CN={}"; nocase; endswith; sid:{};))",
        d, sid++));
    texts.push_back(fmt::format(
        R"(alert tls any any -> any any (tls.cert_issuer; content:"O={}"; tls.cert_serial; content:"01"; sid:{};))",
        d, sid++));
  }
  texts.push_back(fmt::format(
      R"(alert tls any any -> any any (tls.cert_subject; content:!"example"; sid:{};))", sid++));
  texts.push_back(fmt::format(
      R"(alert tls any any -> any any (tls.cert_fingerprint; content:"aa:bb"; startswith; sid:{};))",
      sid++));
  texts.push_back(
      fmt::format(R"(alert tls any any -> any any (tls.sni; content:!"example"; sid:{};))", sid++));
  texts.push_back(fmt::format(
      R"(alert tls any any -> any any (ja3.hash; content:"{}"; tls.sni; content:"evil"; nocase; sid:{};))",
      std::string(32, 'a'), sid++));
  std::vector<rules::Rule> rs;
  for (const auto& t : texts) rs.push_back(R(t));
  auto plan = DetectionPlan::Build(rs, rules::ClassificationTable::Default());
  ASSERT_TRUE(plan);
  auto detector = Detector::Create(**plan);
  ASSERT_TRUE(detector);
  std::mt19937 rng(9);
  const char* prefixes[] = {"", "www.", "bad", "x.cdn."};
  int alerts_seen = 0;
  for (int round = 0; round < 300; ++round) {
    app::TlsHandshake hs;
    hs.client_hello = true;
    hs.sni = std::string(prefixes[rng() % 4]) + names[rng() % 4];
    hs.ja3_hash = std::string(32, rng() % 2 ? 'a' : 'b');
    for (size_t k = 0, n = rng() % 3; k < n; ++k) {
      hs.certs.push_back(std::string("cert CN=") + names[rng() % 4] + " end");
    }
    hs.cert_decoded = !hs.certs.empty() && rng() % 4 != 0;
    hs.cert_subject = std::string("C=US, CN=") + names[rng() % 4];
    hs.cert_issuer = std::string("C=US, O=") + names[rng() % 4];
    hs.cert_serial = rng() % 2 ? "01:02" : "00:FF";
    hs.cert_fingerprint = rng() % 2 ? "aa:bb:cc" : "dd:ee:ff";
    const app::TlsStage stage =
        rng() % 2 ? app::TlsStage::kClientHello : app::TlsStage::kServerCertificate;
    const bool to_server = stage == app::TlsStage::kClientHello;
    TestPacket tp{"x", to_server};
    FlowContext ctx{.has_flow = true,
                    .established = true,
                    .to_server = to_server,
                    .tls = true,
                    .tls_handshake = &hs,
                    .tls_events = std::span(&stage, 1)};
    MatchInput in = MatchInput::OfPacket(tp.p, &ctx);
    in.tls = &hs;
    const Answers a = Compare(**detector, **plan, ctx, in, kTlsStage + size_t(stage));
    EXPECT_EQ(a.got, a.want) << hs.sni;
    alerts_seen += int(a.got.size());
  }
  EXPECT_GT(alerts_seen, 100);
}

}  // namespace
}  // namespace vigil::detect

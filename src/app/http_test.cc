#include "app/http.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "app/zlib_test_util.h"

namespace vigil::app {
namespace {

struct Seen {
  uint64_t id;
  HttpStage stage;
  std::string uri;
  std::string method;
  std::string header;
  std::string cookie;
  std::string host;
  std::string body;
  std::string stat_code;
};

// Feeds `client` and `server` bytes in pieces cut at `cuts` (positions in each stream), the
// client's pieces first in each round, and records every event's view of its transaction at the
// time of the event.
class Harness {
 public:
  explicit Harness(HttpConfig config = {}) : config_(config) {}

  void Client(std::string_view bytes) { Feed(true, bytes); }
  void Server(std::string_view bytes) { Feed(false, bytes); }

  void Feed(bool to_server, std::string_view bytes) {
    flow_.BeginPacket(config_, stats_);
    events_.clear();
    flow_.Feed(to_server, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), config_,
               stats_, events_);
    for (const HttpEvent& e : events_) {
      const HttpTransaction& tx = *e.tx;
      seen_.push_back(
          {tx.id, e.stage, std::string(tx.Buffer(HttpBuffer::kUri)),
           std::string(tx.Buffer(HttpBuffer::kMethod)),
           std::string(tx.Buffer(IsResponseStage(e.stage) ? HttpBuffer::kResponseHeader
                                                          : HttpBuffer::kRequestHeader)),
           std::string(tx.Buffer(HttpBuffer::kRequestCookie)),
           std::string(tx.Buffer(HttpBuffer::kHost)),
           // Events are inspected after Feed: the body is only final at its stage.
           e.stage == HttpStage::kRequestComplete ? std::string(tx.Buffer(HttpBuffer::kRequestBody))
           : e.stage == HttpStage::kResponseComplete
               ? std::string(tx.Buffer(HttpBuffer::kResponseBody))
               : std::string(),
           std::string(tx.Buffer(HttpBuffer::kStatCode))});
    }
  }

  HttpConfig config_;
  HttpFlow flow_;
  HttpStats stats_;
  std::vector<HttpEvent> events_;
  std::vector<Seen> seen_;
};

constexpr std::string_view kRequest =
    "POST /a/./b/../c%41?x=%41 HTTP/1.1\r\n"
    "Host: Example.COM:8080\r\n"
    "User-Agent: test\r\n"
    "Cookie: k=v\r\n"
    "X-Folded: one\r\n"
    "  two\r\n"
    "Content-Length: 5\r\n"
    "\r\n"
    "hello";

TEST(HttpFlow, ParsesARequest) {
  Harness h;
  h.Client(kRequest);
  EXPECT_EQ(h.flow_.state(), HttpFlow::State::kHttp);
  ASSERT_EQ(h.seen_.size(), 2u);
  const Seen& headers = h.seen_[0];
  EXPECT_EQ(headers.stage, HttpStage::kRequestHeaders);
  EXPECT_EQ(headers.method, "POST");
  EXPECT_EQ(headers.uri, "/a/cA?x=%41");
  EXPECT_EQ(headers.host, "example.com");
  EXPECT_EQ(headers.cookie, "k=v");
  EXPECT_EQ(headers.header,
            "Host: Example.COM:8080\r\nUser-Agent: test\r\nCookie: k=v\r\nX-Folded: one two\r\n"
            "Content-Length: 5\r\n");
  EXPECT_EQ(h.seen_[1].stage, HttpStage::kRequestComplete);
  EXPECT_EQ(h.seen_[1].body, "hello");
  const HttpTransaction& tx = h.flow_.transactions().front();
  EXPECT_EQ(tx.Buffer(HttpBuffer::kRawUri), "/a/./b/../c%41?x=%41");
  EXPECT_EQ(tx.Buffer(HttpBuffer::kRawHost), "Example.COM:8080");
  EXPECT_EQ(tx.Buffer(HttpBuffer::kUserAgent), "test");
  EXPECT_EQ(tx.Buffer(HttpBuffer::kProtocol), "HTTP/1.1");
  EXPECT_EQ(h.stats_.requests, 1u);
}

// Every split of the request into two segments gives the same events and buffers.
TEST(HttpFlow, SameResultForEverySplit) {
  Harness whole;
  whole.Client(kRequest);
  for (size_t cut = 0; cut <= kRequest.size(); ++cut) {
    Harness h;
    h.Client(kRequest.substr(0, cut));
    h.Client(kRequest.substr(cut));
    ASSERT_EQ(h.seen_.size(), whole.seen_.size()) << "cut at " << cut;
    for (size_t i = 0; i < h.seen_.size(); ++i) {
      EXPECT_EQ(h.seen_[i].stage, whole.seen_[i].stage) << cut;
      EXPECT_EQ(h.seen_[i].uri, whole.seen_[i].uri) << cut;
      EXPECT_EQ(h.seen_[i].header, whole.seen_[i].header) << cut;
      EXPECT_EQ(h.seen_[i].body, whole.seen_[i].body) << cut;
    }
  }
}

TEST(HttpFlow, ByteAtATime) {
  Harness h;
  for (char c : kRequest) h.Client(std::string_view(&c, 1));
  ASSERT_EQ(h.seen_.size(), 2u);
  EXPECT_EQ(h.seen_[0].uri, "/a/cA?x=%41");
  EXPECT_EQ(h.seen_[1].body, "hello");
}

TEST(HttpFlow, PipelinedRequestsAndResponses) {
  Harness h;
  h.Client("GET /one/ HTTP/1.1\r\nHost: one\r\n\r\n\r\nGET /two/ HTTP/1.1\r\nHost: two\r\n\r\n");
  ASSERT_EQ(h.seen_.size(), 4u);
  EXPECT_EQ(h.seen_[0].uri, "/one/");
  EXPECT_EQ(h.seen_[0].id, 0u);
  EXPECT_EQ(h.seen_[2].uri, "/two/");
  EXPECT_EQ(h.seen_[2].id, 1u);
  EXPECT_EQ(h.seen_[2].host, "two");
  h.Server(
      "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcHTTP/1.1 404 Not Found\r\n"
      "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n");
  // Each response: its headers, then its body (Content-Length, then chunked).
  ASSERT_EQ(h.seen_.size(), 8u);
  EXPECT_EQ(h.seen_[4].stage, HttpStage::kResponseHeaders);
  EXPECT_EQ(h.seen_[4].id, 0u);
  EXPECT_EQ(h.seen_[4].stat_code, "200");
  EXPECT_EQ(h.seen_[5].stage, HttpStage::kResponseComplete);
  EXPECT_EQ(h.seen_[5].body, "abc");
  EXPECT_EQ(h.seen_[6].id, 1u);
  EXPECT_EQ(h.seen_[6].stat_code, "404");
  EXPECT_EQ(h.seen_[6].uri, "/two/");  // the response's transaction keeps its request
  EXPECT_EQ(h.seen_[7].stage, HttpStage::kResponseComplete);
  EXPECT_EQ(h.seen_[7].body, "abc");
  EXPECT_EQ(h.stats_.responses, 2u);
  // Finished transactions go at the next packet.
  h.Client("");
  EXPECT_TRUE(h.flow_.transactions().empty());
}

TEST(HttpFlow, ChunkedRequestBody) {
  Harness h;
  h.Client(
      "POST /u HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n2;ext=1\r\nef\r\n0\r\n"
      "\r\n");
  ASSERT_EQ(h.seen_.size(), 2u);
  EXPECT_EQ(h.seen_[1].body, "abcdef");
}

TEST(HttpFlow, NotHttpIsRecognizedAtOnce) {
  Harness h;
  h.Client("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03");
  EXPECT_EQ(h.flow_.state(), HttpFlow::State::kNotHttp);
  EXPECT_TRUE(h.flow_.done());
  EXPECT_EQ(h.stats_.not_http, 1u);
  Harness h2;
  h2.Client("SSH-2.0-OpenSSH_8.9\r\n");
  EXPECT_EQ(h2.flow_.state(), HttpFlow::State::kNotHttp);
  Harness h3;
  h3.Client("HELLO world\r\n");  // a token and a space, but no HTTP version
  EXPECT_EQ(h3.flow_.state(), HttpFlow::State::kNotHttp);
}

TEST(HttpFlow, ResponsesBeforeAnyRequestAreIgnored) {
  Harness h;
  h.Server("HTTP/1.1 200 OK\r\n\r\n");
  EXPECT_EQ(h.flow_.state(), HttpFlow::State::kUnknown);
  EXPECT_TRUE(h.seen_.empty());
}

TEST(HttpFlow, ConnectAcceptedBecomesATunnel) {
  Harness h;
  h.Client("CONNECT host.example:443 HTTP/1.0\r\n\r\n");
  h.Server("HTTP/1.1 200 Connection Established\r\n\r\n");
  EXPECT_EQ(h.flow_.state(), HttpFlow::State::kTunnel);
  size_t events = h.seen_.size();
  h.Client("GET /not-parsed HTTP/1.1\r\n\r\n");
  EXPECT_EQ(h.seen_.size(), events);
  EXPECT_EQ(h.stats_.tunnels, 1u);
}

TEST(HttpFlow, InterimResponseIsSkipped) {
  Harness h;
  h.Client("POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\nab");
  h.Server("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n");
  ASSERT_EQ(h.seen_.size(), 3u);
  EXPECT_EQ(h.seen_[2].stat_code, "201");
}

TEST(HttpFlow, LongHeadersAreTruncatedAndCounted) {
  HttpConfig config;
  config.max_header_bytes = 64;
  config.max_uri_bytes = 16;
  Harness h(config);
  std::string long_uri = "/" + std::string(40, 'a');
  h.Client("GET " + long_uri + " HTTP/1.1\r\nX: " + std::string(200, 'b') + "\r\nHost: h\r\n\r\n");
  ASSERT_EQ(h.seen_.size(), 2u);
  EXPECT_EQ(h.seen_[0].uri.size(), 16u);
  EXPECT_GE(h.stats_.header_truncated, 1u);
  EXPECT_EQ(h.stats_.uri_truncated, 1u);
  EXPECT_LE(h.seen_[0].header.size(), 64u);
  // Parsing goes on after the truncation.
  h.Client("GET /next HTTP/1.1\r\n\r\n");
  ASSERT_EQ(h.seen_.size(), 4u);
  EXPECT_EQ(h.seen_[2].uri, "/next");
}

TEST(HttpFlow, BodyCapInspectsWhatWasKept) {
  HttpConfig config;
  config.max_body_bytes = 4;
  Harness h(config);
  h.Client("POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\n0123456789GET /after HTTP/1.1\r\n\r\n");
  ASSERT_EQ(h.seen_.size(), 4u);
  EXPECT_EQ(h.seen_[1].stage, HttpStage::kRequestComplete);
  EXPECT_EQ(h.seen_[1].body, "0123");
  EXPECT_EQ(h.stats_.body_truncated, 1u);
  EXPECT_EQ(h.seen_[2].uri, "/after");
}

TEST(HttpFlow, PendingTransactionsAreBounded) {
  HttpConfig config;
  config.max_pending = 3;
  Harness h(config);
  for (int i = 0; i < 10; ++i) h.Client("GET /x HTTP/1.1\r\n\r\n");
  h.Client("");
  EXPECT_LE(h.flow_.transactions().size(), 3u);
  EXPECT_GE(h.stats_.tx_evicted, 7u);
}

TEST(HttpFlow, GapStopsTheDirection) {
  Harness h;
  h.Client("GET /a HTTP/1.1\r\nHost: x\r\n");
  h.flow_.Gap(true, h.stats_);
  h.Client("\r\nGET /b HTTP/1.1\r\n\r\n");
  EXPECT_TRUE(h.seen_.empty());
  EXPECT_EQ(h.stats_.gaps, 1u);
}

TEST(HttpFlow, GarbageAfterARequestIsCountedNotFatal) {
  Harness h;
  h.Client("GET / HTTP/1.1\r\n\r\n");
  h.Client("\x01\x02 \x03\r\n");
  EXPECT_EQ(h.stats_.request_errors, 1u);
  h.Server("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(h.seen_.back().stat_code, "200");
}

// Random bytes, random cuts: no crash, and every event's transaction is consistent.
TEST(HttpFlow, RandomInputNeverBreaksTheBounds) {
  std::mt19937 rng(7);
  HttpConfig config;
  config.max_header_bytes = 256;
  config.max_body_bytes = 64;
  config.max_pending = 4;
  const std::string pieces[] = {"GET ",
                                "POST ",
                                "/x",
                                " HTTP/1.1",
                                "\r\n",
                                "\n",
                                ": ",
                                "Host",
                                "Content-Length: 3",
                                "Transfer-Encoding: chunked",
                                "5",
                                "HTTP/1.1 200 OK",
                                "abc",
                                " ",
                                "\x00",
                                "0\r\n\r\n"};
  for (int round = 0; round < 300; ++round) {
    Harness h(config);
    for (int step = 0; step < 60; ++step) {
      std::string s;
      int n = int(rng() % 6) + 1;
      for (int k = 0; k < n; ++k) s += pieces[rng() % std::size(pieces)];
      if (rng() % 2) {
        h.Client(s);
      } else {
        h.Server(s);
      }
      for (const HttpTransaction& tx : h.flow_.transactions()) {
        EXPECT_LE(tx.Buffer(HttpBuffer::kRequestBody).size(), config.max_body_bytes);
        EXPECT_LE(tx.Buffer(HttpBuffer::kRequestHeader).size(), config.max_header_bytes);
      }
    }
    EXPECT_LE(h.flow_.transactions().size(), config.max_pending + 60u * 6u);
  }
}

using testing::Compress;

std::string Chunked(std::string_view body, size_t piece) {
  std::string out;
  for (size_t i = 0; i < body.size(); i += piece) {
    std::string_view c = body.substr(i, piece);
    char size[16];
    std::snprintf(size, sizeof(size), "%zx\r\n", c.size());
    out += size;
    out += c;
    out += "\r\n";
  }
  return out + "0\r\n\r\n";
}

constexpr std::string_view kGet = "GET /f HTTP/1.1\r\nHost: h\r\n\r\n";

std::string Page() {
  std::string page;
  for (int i = 0; i < 200; ++i) page += "<p>line " + std::to_string(i) + " of the page</p>\n";
  return page;
}

TEST(HttpFlow, ResponseBodyIsDechunkedAndGunzipped) {
  const std::string page = Page();
  const std::string resp =
      "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n" +
      Chunked(Compress(page, testing::kGzip), 100);
  for (size_t piece : {resp.size(), size_t(7), size_t(1)}) {
    Harness h;
    h.Client(kGet);
    for (size_t i = 0; i < resp.size(); i += piece)
      h.Server(std::string_view(resp).substr(i, piece));
    ASSERT_EQ(h.seen_.size(), 4u) << piece;
    EXPECT_EQ(h.seen_[3].stage, HttpStage::kResponseComplete);
    EXPECT_EQ(h.seen_[3].body, page) << piece;
    EXPECT_EQ(h.stats_.bodies_decoded, 1u);
    EXPECT_EQ(h.stats_.decode_errors, 0u);
    EXPECT_EQ(h.stats_.body_truncated, 0u);
  }
}

TEST(HttpFlow, DeflateWithAndWithoutItsZlibWrapper) {
  const std::string page = Page();
  for (int bits : {testing::kZlib, testing::kRawDeflate}) {
    const std::string z = Compress(page, bits);
    Harness h;
    h.Client(kGet);
    h.Server("HTTP/1.1 200 OK\r\nContent-Encoding: deflate\r\nContent-Length: " +
             std::to_string(z.size()) + "\r\n\r\n" + z);
    ASSERT_EQ(h.seen_.size(), 4u) << bits;
    EXPECT_EQ(h.seen_[3].body, page) << bits;
    EXPECT_EQ(h.stats_.decode_errors, 0u);
  }
}

TEST(HttpFlow, DecodedBodyIsCappedAndTheRestSkipped) {
  // A compression bomb: 1 MB of zeros in about 1 KB.
  const std::string zeros(1 << 20, '\0');
  const std::string z = Compress(zeros, testing::kGzip);
  HttpConfig config;
  config.max_response_body_bytes = 1000;
  Harness h(config);
  h.Client(kGet);
  h.Server("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: " +
           std::to_string(z.size()) + "\r\n\r\n" + z);
  h.Client(kGet);  // the flow goes on after the skipped body
  h.Server("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  ASSERT_EQ(h.seen_.size(), 8u);
  EXPECT_EQ(h.seen_[3].stage, HttpStage::kResponseComplete);
  EXPECT_EQ(h.seen_[3].body, std::string(1000, '\0'));
  EXPECT_EQ(h.stats_.body_truncated, 1u);
  EXPECT_EQ(h.seen_[7].body, "ok");
}

TEST(HttpFlow, CorruptGzipKeepsWhatDecodedAndCountsIt) {
  const std::string page = Page();
  std::string z = Compress(page, testing::kGzip);
  for (size_t i = z.size() / 2; i < z.size() / 2 + 16; ++i) z[i] = char(0xff);
  Harness h;
  h.Client(kGet);
  h.Server("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: " +
           std::to_string(z.size()) + "\r\n\r\n" + z);
  ASSERT_EQ(h.seen_.size(), 4u);
  EXPECT_EQ(h.stats_.decode_errors, 1u);
  // What decoded before the damage is kept (zlib may emit a few wrong bytes before it sees it).
  ASSERT_GE(h.seen_[3].body.size(), 100u);
  EXPECT_LT(h.seen_[3].body.size(), page.size());
  EXPECT_EQ(h.seen_[3].body.substr(0, 100), page.substr(0, 100));
}

TEST(HttpFlow, ResponsesWithoutBodyBytesHaveNoCompleteStage) {
  Harness h;
  h.Client("HEAD / HTTP/1.1\r\n\r\n");
  h.Server("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n");
  h.Client(kGet);
  h.Server("HTTP/1.1 204 No Content\r\n\r\n");
  for (const Seen& s : h.seen_) EXPECT_NE(s.stage, HttpStage::kResponseComplete);
  EXPECT_EQ(h.seen_.size(), 6u);
}

TEST(HttpFlow, ABodyToTheCloseEndsWithTheConnection) {
  Harness h;
  h.Client(kGet);
  h.Server("HTTP/1.0 200 OK\r\n\r\nsome ");
  h.Server("bytes");
  ASSERT_EQ(h.seen_.size(), 3u);
  std::vector<HttpEvent> events;
  h.flow_.Close(true, events);  // the client's close ends nothing
  EXPECT_TRUE(events.empty());
  h.flow_.Close(false, events);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].stage, HttpStage::kResponseComplete);
  EXPECT_EQ(events[0].tx->Buffer(HttpBuffer::kResponseBody), "some bytes");
}

TEST(HttpFlow, HeaderBuffers) {
  Harness h;
  h.Client(
      "POST /p HTTP/1.1\r\nHost: h\r\nReferer: http://r/\r\nAccept: */*\r\n"
      "Accept-Encoding: gzip\r\nAccept-Language: en\r\nConnection: close\r\n"
      "Content-Type: text/plain; charset=x\r\nContent-Length: 2\r\n\r\nhi");
  h.Server(
      "HTTP/1.1 302 Found\r\nServer: nginx\r\nLocation: /x\r\nContent-Type: text/html\r\n"
      "Content-Length: 0\r\n\r\n");
  ASSERT_FALSE(h.flow_.transactions().empty());
  const HttpTransaction& tx = h.flow_.transactions().front();
  EXPECT_EQ(tx.Buffer(HttpBuffer::kRequestHeaderNames),
            "\r\nHost\r\nReferer\r\nAccept\r\nAccept-Encoding\r\nAccept-Language\r\n"
            "Connection\r\nContent-Type\r\nContent-Length\r\n\r\n");
  EXPECT_EQ(tx.Buffer(HttpBuffer::kReferer), "http://r/");
  EXPECT_EQ(tx.Buffer(HttpBuffer::kAccept), "*/*");
  EXPECT_EQ(tx.Buffer(HttpBuffer::kAcceptEnc), "gzip");
  EXPECT_EQ(tx.Buffer(HttpBuffer::kAcceptLang), "en");
  EXPECT_EQ(tx.Buffer(HttpBuffer::kRequestConnection), "close");
  EXPECT_EQ(tx.Buffer(HttpBuffer::kRequestContentType), "text/plain; charset=x");
  EXPECT_EQ(tx.Buffer(HttpBuffer::kRequestContentLen), "2");
  EXPECT_EQ(tx.Buffer(HttpBuffer::kRequestStart),
            "POST /p HTTP/1.1\r\n" + std::string(tx.Buffer(HttpBuffer::kRequestHeader)) + "\r\n");
  EXPECT_EQ(tx.Buffer(HttpBuffer::kServer), "nginx");
  EXPECT_EQ(tx.Buffer(HttpBuffer::kLocation), "/x");
  EXPECT_EQ(tx.Buffer(HttpBuffer::kResponseContentType), "text/html");
  EXPECT_EQ(tx.Buffer(HttpBuffer::kResponseContentLen), "0");
  EXPECT_EQ(tx.Buffer(HttpBuffer::kResponseHeaderNames),
            "\r\nServer\r\nLocation\r\nContent-Type\r\nContent-Length\r\n\r\n");
}

TEST(NormalizeUri, DecodesPathAndRemovesDotSegments) {
  EXPECT_EQ(NormalizeUri("/a/%2e%2e/b"), "/b");
  EXPECT_EQ(NormalizeUri("/a//b/./c"), "/a//b/c");
  EXPECT_EQ(NormalizeUri("/../../etc/passwd"), "/etc/passwd");
  EXPECT_EQ(NormalizeUri("/%zz%4"), "/%zz%4");
  EXPECT_EQ(NormalizeUri("http://Host:80/p?q=/../x"), "/p?q=/../x");
  EXPECT_EQ(NormalizeUri("http://host"), "/");
  EXPECT_EQ(NormalizeUri("host:443"), "host:443");
}

}  // namespace
}  // namespace vigil::app

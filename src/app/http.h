// HTTP/1.x application-layer parsing: an HttpFlow per TCP flow, fed the in-order reassembled bytes
// of each direction, cuts them into transactions (a request and its response) and fills the
// buffers that rules inspect (http.uri, http.header, http.stat_code, ...).
//
//   app::HttpFlow http;                                  // one per flow (engine::Worker keeps it)
//   std::vector<app::HttpEvent> events;
//   http.BeginPacket(config, stats);                     // frees finished transactions
//   http.Feed(true, bytes, len, config, stats, events);  // client -> server bytes, in order
//   for (const app::HttpEvent& e : events) Inspect(*e.tx, e.stage);
//
// Detection by content, not port: the flow is HTTP when the first bytes from the client form a
// request line `METHOD SP URI SP HTTP/d.d CRLF` (LF alone is accepted); bytes that cannot start
// one (a method is a token of up to 20 characters) make the flow "not HTTP" at once and it is not
// parsed further. Responses are parsed only once the flow is HTTP.
//
// What a transaction holds (HttpBuffer), filled as Suricata (libhtp) fills its buffers:
//   request:  http.method, http.uri (normalized: the path percent-decoded and its dot segments
//             removed, the query kept as sent; an absolute URI "http://host/p" reduced to its path
//             and query), http.uri.raw (as sent), http.protocol, http.request_line,
//             http.header ("Name: value\r\n" for each header, values trimmed, folded lines
//             joined), http.header.raw (the header block as sent), http.cookie, http.host
//             (lowercased, port removed), http.host.raw, http.user_agent, http.referer,
//             http.accept, http.accept_enc, http.accept_lang, http.connection,
//             http.content_type, http.content_len (the first header of each name, value trimmed),
//             http.header_names ("\r\nName1\r\nName2\r\n\r\n"), http.start (request line,
//             CRLF, http.header, CRLF), http.request_body;
//   response: http.stat_code, http.stat_msg, http.response_line, http.header / http.header.raw /
//             http.cookie (Set-Cookie) / http.header_names / http.start / http.content_type /
//             http.content_len / http.connection of the response, http.server, http.location,
//             http.response_body, and what EVE reports (content type, body length).
// Bodies (http.request_body, http.response_body; file.data is the one of the rule's direction)
// are framed by Content-Length or chunked encoding (de-chunked), or for a response without either
// by the end of the connection (Close), and decoded when Content-Encoding is gzip, x-gzip or
// deflate (zlib-wrapped or raw), as Snort's unzip and libhtp do; other encodings are kept as sent.
// Not parsed: HTTP/2, multipart, request smuggling variants beyond "Transfer-Encoding: chunked
// wins over Content-Length". After a CONNECT that the server accepts (2xx), or an upgrade (101),
// the flow is a tunnel and its bytes are not parsed.
//
// Stages. Feed appends an HttpEvent when a transaction's request headers are complete
// (kRequestHeaders), when its request is complete, body included (kRequestComplete: at the same
// time for a request without body, or when the body reaches HttpConfig::max_body_bytes), when
// its response headers are complete (kResponseHeaders), and when its response body is complete
// or reaches max_response_body_bytes (kResponseComplete; not for a response without body bytes).
// Each happens once per transaction.
//
// Bounds: each direction holds at most max_header_bytes of one header block (longer lines and
// blocks are truncated, counted as http.header_truncated, and parsing goes on), URIs are cut at
// max_uri_bytes (http.uri_truncated), bodies after decoding at max_body_bytes (requests) and
// max_response_body_bytes (responses) (http.body_truncated; the rest of the body is skipped,
// not decoded); a flow keeps at most max_pending transactions (older ones are dropped,
// http.tx_evicted). A body is released once its complete-stage event has been inspected; a
// direction decoding a body holds one zlib inflate state (about 40 KB) until the body ends.
// Malformed input is never an error: it is counted (http.request_errors, http.response_errors,
// http.decode_errors for a body zlib rejects: what it decoded is kept) and that direction stops
// being parsed. Costs per byte: one pass; per header line one copy; per body byte one copy (and
// the inflate of an encoded body).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace vigil::app {

// The buffers of a transaction, as rules name them (rules/options.h spelling in the comments).
enum class HttpBuffer : uint8_t {
  kMethod,               // http.method
  kUri,                  // http.uri (normalized)
  kRawUri,               // http.uri.raw
  kProtocol,             // http.protocol ("HTTP/1.1")
  kRequestLine,          // http.request_line
  kRequestHeader,        // http.header in a request
  kRequestRawHeader,     // http.header.raw in a request
  kRequestCookie,        // http.cookie in a request
  kHost,                 // http.host
  kRawHost,              // http.host.raw
  kUserAgent,            // http.user_agent
  kRequestBody,          // http.request_body (http_client_body), file.data of a request
  kRequestHeaderNames,   // http.header_names in a request
  kRequestContentType,   // http.content_type in a request
  kRequestContentLen,    // http.content_len in a request
  kRequestConnection,    // http.connection in a request
  kRequestStart,         // http.start in a request
  kReferer,              // http.referer
  kAccept,               // http.accept
  kAcceptEnc,            // http.accept_enc
  kAcceptLang,           // http.accept_lang
  kStatCode,             // http.stat_code
  kStatMsg,              // http.stat_msg
  kResponseLine,         // http.response_line
  kResponseHeader,       // http.header in a response
  kResponseRawHeader,    // http.header.raw in a response
  kResponseCookie,       // http.cookie in a response (Set-Cookie)
  kResponseHeaderNames,  // http.header_names in a response
  kResponseContentType,  // http.content_type in a response
  kResponseContentLen,   // http.content_len in a response
  kResponseConnection,   // http.connection in a response
  kResponseStart,        // http.start in a response
  kServer,               // http.server
  kLocation,             // http.location
  kResponseBody,         // http.response_body (http_server_body), file.data of a response
  kCount
};
inline constexpr size_t kHttpBufferCount = size_t(HttpBuffer::kCount);

// True for the buffers a response fills.
[[nodiscard]] constexpr bool IsResponseBuffer(HttpBuffer b) {
  return b >= HttpBuffer::kStatCode && b < HttpBuffer::kCount;
}

enum class HttpStage : uint8_t {
  kRequestHeaders,
  kRequestComplete,
  kResponseHeaders,
  kResponseComplete
};
inline constexpr size_t kHttpStageCount = 4;

// True for the stages of the response (their rules see the flow to the client).
[[nodiscard]] constexpr bool IsResponseStage(HttpStage s) {
  return s == HttpStage::kResponseHeaders || s == HttpStage::kResponseComplete;
}

struct HttpTransaction {
  uint64_t id = 0;  // 0 for the flow's first transaction, then 1, 2, ...
  std::array<std::string, kHttpBufferCount> buffers;
  std::string content_type;          // of the response, for EVE
  uint64_t response_body_bytes = 0;  // seen so far
  bool has_request = false;          // false: a response the flow showed no request for
  bool request_headers_done = false;
  bool request_done = false;
  bool response_headers_done = false;
  bool response_done = false;
  bool body_released = false;           // the request body's memory was given back
  bool response_body_done = false;      // kResponseComplete was reported
  bool response_body_released = false;  // ... and the response body's memory given back

  [[nodiscard]] std::string_view Buffer(HttpBuffer b) const { return buffers[size_t(b)]; }
  [[nodiscard]] std::string& Mutable(HttpBuffer b) { return buffers[size_t(b)]; }
};

struct HttpEvent {
  const HttpTransaction* tx = nullptr;  // valid until the flow's next BeginPacket
  HttpStage stage = HttpStage::kRequestHeaders;
};

struct HttpConfig {
  uint32_t max_header_bytes = 8192;  // one header block, per direction
  uint32_t max_uri_bytes = 4096;
  uint32_t max_body_bytes = 8192;  // request body kept for http.request_body, after decoding
  // Response body kept for file.data / http.response_body, after decoding (Suricata's
  // response-body-limit; Snort inspects more, in sections).
  uint32_t max_response_body_bytes = 65536;
  uint32_t max_pending = 4;  // transactions kept per flow
};

#define VIGIL_HTTP_COUNTERS(X)                 \
  X(flows, "http.flows")                       \
  X(not_http, "http.not_http")                 \
  X(requests, "http.requests")                 \
  X(responses, "http.responses")               \
  X(request_errors, "http.request_errors")     \
  X(response_errors, "http.response_errors")   \
  X(header_truncated, "http.header_truncated") \
  X(uri_truncated, "http.uri_truncated")       \
  X(body_truncated, "http.body_truncated")     \
  X(tx_evicted, "http.tx_evicted")             \
  X(orphan_responses, "http.orphan_responses") \
  X(gaps, "http.gaps")                         \
  X(tunnels, "http.tunnels")                   \
  X(bodies_decoded, "http.bodies_decoded")     \
  X(decode_errors, "http.decode_errors")

struct HttpStats {
#define VIGIL_HTTP_FIELD(field, name) uint64_t field = 0;
  VIGIL_HTTP_COUNTERS(VIGIL_HTTP_FIELD)
#undef VIGIL_HTTP_FIELD
  void ForEach(const std::function<void(std::string_view, uint64_t)>& f) const;
};

class HttpFlow {
 public:
  enum class State : uint8_t { kUnknown, kHttp, kNotHttp, kTunnel };

  // Drops what earlier packets finished with: transactions whose response is complete, bodies
  // already inspected, transactions beyond max_pending. Call once per packet before Feed: event
  // pointers from earlier packets die here, never during Feed.
  void BeginPacket(const HttpConfig& config, HttpStats& stats);

  // Parses `len` in-order bytes of one direction (to_server: from the client), appending the
  // stages they completed to `events`.
  void Feed(bool to_server, const uint8_t* data, size_t len, const HttpConfig& config,
            HttpStats& stats, std::vector<HttpEvent>& events);

  // Bytes of one direction are missing (reassembly skipped a hole): that direction stops being
  // parsed (its position in the protocol is lost).
  void Gap(bool to_server, HttpStats& stats);

  // The direction ended (its sender closed the connection): a response read until the close is
  // complete (kResponseComplete appended to `events` when it has body bytes).
  void Close(bool to_server, std::vector<HttpEvent>& events);

  [[nodiscard]] State state() const { return state_; }
  [[nodiscard]] bool is_http() const { return state_ == State::kHttp || state_ == State::kTunnel; }
  // True when more bytes would not be parsed: not HTTP, a tunnel, or both directions stopped.
  [[nodiscard]] bool done() const;
  [[nodiscard]] const std::deque<HttpTransaction>& transactions() const { return txs_; }
  // The most recent transaction with a response, or null (for EVE's http object).
  [[nodiscard]] const HttpTransaction* LastTransaction() const;

 private:
  enum class Phase : uint8_t {
    kLine,  // the request / status line
    kHeaders,
    kBody,  // Content-Length bytes
    kChunkSize,
    kChunkData,
    kChunkDataEnd,  // the CRLF after a chunk
    kTrailers,
    kBodyToClose,  // response without length: until the connection closes
    kStopped,      // error or tunnel: nothing more is parsed in this direction
  };
  // A body's Content-Encoding.
  enum class Coding : uint8_t { kIdentity, kGzip, kDeflate };
  // zlib's inflate state for one body (http.cc).
  struct BodyDecoder;
  struct BodyDecoderDeleter {
    void operator()(BodyDecoder* d) const;
  };
  struct Side {
    Phase phase = Phase::kLine;
    std::string line;  // the current line, up to max_header_bytes
    bool line_truncated = false;
    uint32_t header_bytes = 0;  // kept of the current header block
    uint64_t remaining = 0;     // body / chunk bytes left
    HttpTransaction* tx = nullptr;
    bool last_header_folded_ok = false;  // a header was seen (folding continues it)
    Coding coding = Coding::kIdentity;   // of the current message's body
    bool body_done = false;              // the body reached its cap: the rest is skipped
    std::unique_ptr<BodyDecoder, BodyDecoderDeleter> decoder;  // while decoding a body
  };

  // One complete line (CR LF stripped) of `side`.
  void RequestLine(const HttpConfig& config, HttpStats& stats, std::vector<HttpEvent>& events);
  void ResponseLine(const HttpConfig& config, HttpStats& stats, std::vector<HttpEvent>& events);
  void HeaderLine(bool to_server, std::string_view line, const HttpConfig& config,
                  HttpStats& stats);
  void EndOfRequestHeaders(const HttpConfig& config, HttpStats& stats,
                           std::vector<HttpEvent>& events);
  void EndOfResponseHeaders(HttpStats& stats, std::vector<HttpEvent>& events);
  void RequestDone(std::vector<HttpEvent>& events);
  void ResponseDone(std::vector<HttpEvent>& events);
  // Appends `n` body bytes of `side`, decoded, to `body` up to `cap`; true when `body` is full.
  bool AppendBody(Side& side, const uint8_t* data, size_t n, std::string& body, uint32_t cap,
                  HttpStats& stats);
  void BodyBytes(bool to_server, const uint8_t* data, size_t n, const HttpConfig& config,
                 HttpStats& stats, std::vector<HttpEvent>& events);
  void Stop(bool to_server, HttpStats& stats);
  HttpTransaction& NewTransaction(const HttpConfig& config, HttpStats& stats);

  State state_ = State::kUnknown;
  Side req_;
  Side resp_;
  std::deque<HttpTransaction> txs_;
  uint64_t next_id_ = 0;
  uint64_t next_response_id_ = 0;  // the transaction the next response answers
  // Per side: the header being built (name, value) until the next header line.
  std::string pending_name_[2];
  std::string pending_value_[2];
  bool has_pending_[2] = {false, false};
  // Request framing learned from the current headers.
  int64_t content_length_[2] = {-1, -1};
  bool chunked_[2] = {false, false};
};

// The normalized form of a request target, as http.uri holds it (see the file comment).
[[nodiscard]] std::string NormalizeUri(std::string_view raw);

}  // namespace vigil::app

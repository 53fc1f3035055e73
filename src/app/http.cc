#include "app/http.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>

namespace vigil::app {
namespace {

constexpr size_t kMaxMethodLength = 20;

bool IsTokenChar(unsigned char c) {
  if (c >= 'a' && c <= 'z') return true;
  if (c >= 'A' && c <= 'Z') return true;
  if (c >= '0' && c <= '9') return true;
  return std::strchr("!#$%&'*+-.^_`|~", c) != nullptr && c != 0;
}

char Lower(char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; }

bool EqualsNoCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

bool StartsWithNoCase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && EqualsNoCase(s.substr(0, prefix.size()), prefix);
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// A decimal Content-Length, or -1 when it is not one.
int64_t ParseLength(std::string_view v) {
  v = Trim(v);
  if (v.empty() || v.size() > 15) return -1;
  int64_t n = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return -1;
    n = n * 10 + (c - '0');
  }
  return n;
}

// RFC 3986 section 5.2.4: removes "." and ".." segments of an absolute path.
std::string RemoveDotSegments(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  while (!in.empty()) {
    if (in.starts_with("../")) {
      in.remove_prefix(3);
    } else if (in.starts_with("./")) {
      in.remove_prefix(2);
    } else if (in.starts_with("/./")) {
      in.remove_prefix(2);
    } else if (in == "/.") {
      in = "/";
    } else if (in.starts_with("/../") || in == "/..") {
      in = in.size() == 3 ? std::string_view("/") : in.substr(3);
      size_t cut = out.rfind('/');
      out.resize(cut == std::string::npos ? 0 : cut);
    } else if (in == "." || in == "..") {
      in = {};
    } else {
      size_t start = in.front() == '/' ? 1 : 0;
      size_t end = in.find('/', start);
      if (end == std::string_view::npos) end = in.size();
      out.append(in.substr(0, end));
      in.remove_prefix(end);
    }
  }
  return out;
}

// The buffer a header of this name fills besides http.header (its first occurrence), or kCount.
HttpBuffer HeaderBuffer(bool to_server, std::string_view name) {
  struct Entry {
    std::string_view name;
    HttpBuffer request;
    HttpBuffer response;
  };
  static constexpr Entry kHeaders[] = {
      {"content-type", HttpBuffer::kRequestContentType, HttpBuffer::kResponseContentType},
      {"content-length", HttpBuffer::kRequestContentLen, HttpBuffer::kResponseContentLen},
      {"connection", HttpBuffer::kRequestConnection, HttpBuffer::kResponseConnection},
      {"user-agent", HttpBuffer::kUserAgent, HttpBuffer::kCount},
      {"cookie", HttpBuffer::kRequestCookie, HttpBuffer::kCount},
      {"referer", HttpBuffer::kReferer, HttpBuffer::kCount},
      {"accept", HttpBuffer::kAccept, HttpBuffer::kCount},
      {"accept-encoding", HttpBuffer::kAcceptEnc, HttpBuffer::kCount},
      {"accept-language", HttpBuffer::kAcceptLang, HttpBuffer::kCount},
      {"set-cookie", HttpBuffer::kCount, HttpBuffer::kResponseCookie},
      {"server", HttpBuffer::kCount, HttpBuffer::kServer},
      {"location", HttpBuffer::kCount, HttpBuffer::kLocation},
  };
  for (const Entry& e : kHeaders) {
    if (EqualsNoCase(name, e.name)) return to_server ? e.request : e.response;
  }
  return HttpBuffer::kCount;
}

}  // namespace

// One body's zlib inflate state.
struct HttpFlow::BodyDecoder {
  z_stream z{};
  bool started = false;  // inflate produced output or consumed a header
  bool raw = false;      // deflate without the zlib wrapper (as some servers send it)
  bool failed = false;   // zlib rejected the data, or the stream ended: nothing more is decoded

  explicit BodyDecoder(Coding coding) { Init(coding == Coding::kGzip ? 15 + 16 : 15); }
  ~BodyDecoder() { inflateEnd(&z); }
  void Init(int window_bits) {
    if (inflateInit2(&z, window_bits) != Z_OK) failed = true;
  }
};

void HttpFlow::BodyDecoderDeleter::operator()(BodyDecoder* d) const { delete d; }

std::string NormalizeUri(std::string_view raw) {
  std::string_view target = raw;
  // An absolute URI (a request to a proxy): keep its path and query.
  for (std::string_view scheme : {std::string_view("http://"), std::string_view("https://")}) {
    if (StartsWithNoCase(target, scheme)) {
      size_t slash = target.find('/', scheme.size());
      target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
      break;
    }
  }
  size_t q = target.find('?');
  std::string_view path = target.substr(0, q);
  std::string decoded;
  decoded.reserve(path.size());
  for (size_t i = 0; i < path.size(); ++i) {
    if (path[i] == '%' && i + 2 < path.size() && HexValue(path[i + 1]) >= 0 &&
        HexValue(path[i + 2]) >= 0) {
      decoded.push_back(char(HexValue(path[i + 1]) * 16 + HexValue(path[i + 2])));
      i += 2;
    } else {
      decoded.push_back(path[i]);
    }
  }
  std::string out = decoded.starts_with('/') ? RemoveDotSegments(decoded) : decoded;
  if (q != std::string_view::npos) out.append(target.substr(q));
  return out;
}

void HttpStats::ForEach(const std::function<void(std::string_view, uint64_t)>& f) const {
#define VIGIL_HTTP_VISIT(field, name) f(name, field);
  VIGIL_HTTP_COUNTERS(VIGIL_HTTP_VISIT)
#undef VIGIL_HTTP_VISIT
}

void HttpFlow::BeginPacket(const HttpConfig& config, HttpStats& stats) {
  while (!txs_.empty()) {
    HttpTransaction& front = txs_.front();
    bool busy = &front == req_.tx || &front == resp_.tx;
    if (busy) break;
    bool finished = front.response_done;
    if (!finished && txs_.size() <= config.max_pending) break;
    if (!finished) ++stats.tx_evicted;
    next_response_id_ = std::max(next_response_id_, front.id + 1);
    txs_.pop_front();
  }
  for (HttpTransaction& tx : txs_) {
    if (tx.request_done && !tx.body_released && &tx != req_.tx) {
      std::string().swap(tx.Mutable(HttpBuffer::kRequestBody));
      tx.body_released = true;
    }
    if (tx.response_body_done && !tx.response_body_released) {
      std::string().swap(tx.Mutable(HttpBuffer::kResponseBody));
      tx.response_body_released = true;
    }
  }
}

void HttpFlow::Close(bool to_server, std::vector<HttpEvent>& events) {
  if (to_server || state_ != State::kHttp || resp_.phase != Phase::kBodyToClose) return;
  ResponseDone(events);
  resp_.phase = Phase::kStopped;  // nothing follows a close
}

bool HttpFlow::done() const {
  if (state_ == State::kNotHttp || state_ == State::kTunnel) return true;
  return req_.phase == Phase::kStopped && resp_.phase == Phase::kStopped;
}

const HttpTransaction* HttpFlow::LastTransaction() const {
  for (auto it = txs_.rbegin(); it != txs_.rend(); ++it) {
    if (it->response_headers_done) return &*it;
  }
  return txs_.empty() ? nullptr : &txs_.back();
}

void HttpFlow::Gap(bool to_server, HttpStats& stats) {
  if (state_ == State::kNotHttp || state_ == State::kTunnel) return;
  Side& s = to_server ? req_ : resp_;
  if (s.phase == Phase::kStopped) return;
  ++stats.gaps;
  if (state_ == State::kUnknown && to_server) {
    state_ = State::kNotHttp;
    ++stats.not_http;
    return;
  }
  s.phase = Phase::kStopped;
  s.tx = nullptr;
}

void HttpFlow::Stop(bool to_server, HttpStats& stats) {
  Side& s = to_server ? req_ : resp_;
  if (to_server) {
    ++stats.request_errors;
  } else {
    ++stats.response_errors;
  }
  s.phase = Phase::kStopped;
  s.tx = nullptr;
}

HttpTransaction& HttpFlow::NewTransaction(const HttpConfig&, HttpStats&) {
  HttpTransaction& tx = txs_.emplace_back();
  tx.id = next_id_++;
  return tx;
}

void HttpFlow::Feed(bool to_server, const uint8_t* data, size_t len, const HttpConfig& config,
                    HttpStats& stats, std::vector<HttpEvent>& events) {
  if (state_ == State::kNotHttp || state_ == State::kTunnel || len == 0) return;
  if (!to_server && state_ != State::kHttp) return;  // responses once a request was seen
  Side& s = to_server ? req_ : resp_;
  int side = to_server ? 0 : 1;
  size_t i = 0;
  while (i < len && s.phase != Phase::kStopped && state_ != State::kTunnel &&
         state_ != State::kNotHttp) {
    switch (s.phase) {
      case Phase::kBody:
      case Phase::kChunkData: {
        size_t n = size_t(std::min<uint64_t>(s.remaining, len - i));
        BodyBytes(to_server, data + i, n, config, stats, events);
        s.remaining -= n;
        i += n;
        if (s.remaining == 0) {
          if (s.phase == Phase::kChunkData) {
            s.phase = Phase::kChunkDataEnd;
          } else if (to_server) {
            RequestDone(events);
          } else {
            ResponseDone(events);
          }
        }
        continue;
      }
      case Phase::kBodyToClose:
        BodyBytes(to_server, data + i, len - i, config, stats, events);
        i = len;
        continue;
      default:
        break;
    }
    // Line-based phases.
    const uint8_t* nl = static_cast<const uint8_t*>(std::memchr(data + i, '\n', len - i));
    size_t end = nl ? size_t(nl - data) : len;
    size_t room =
        config.max_header_bytes > s.line.size() ? config.max_header_bytes - s.line.size() : 0;
    size_t take = std::min(end - i, room);
    s.line.append(reinterpret_cast<const char*>(data + i), take);
    if (take < end - i && !s.line_truncated) {
      s.line_truncated = true;
      ++stats.header_truncated;
    }
    if (state_ == State::kUnknown) {
      // Content detection: the first bytes must be able to start a request line.
      size_t sp = s.line.find(' ');
      std::string_view method = std::string_view(s.line).substr(0, sp);
      bool ok = method.size() <= kMaxMethodLength &&
                std::all_of(method.begin(), method.end(),
                            [](char c) { return IsTokenChar(static_cast<unsigned char>(c)); });
      if (!ok || (s.line_truncated)) {
        state_ = State::kNotHttp;
        ++stats.not_http;
        return;
      }
    }
    i = nl ? end + 1 : len;
    if (!nl) break;
    bool had_cr = !s.line.empty() && s.line.back() == '\r';
    if (had_cr) s.line.pop_back();
    switch (s.phase) {
      case Phase::kLine:
        if (to_server) {
          RequestLine(config, stats, events);
        } else {
          ResponseLine(config, stats, events);
        }
        break;
      case Phase::kHeaders: {
        if (s.line.empty()) {
          if (has_pending_[side]) HeaderLine(to_server, {}, config, stats);
          if (to_server) {
            EndOfRequestHeaders(config, stats, events);
          } else {
            EndOfResponseHeaders(stats, events);
          }
          break;
        }
        if (s.tx != nullptr) {
          HttpBuffer raw =
              to_server ? HttpBuffer::kRequestRawHeader : HttpBuffer::kResponseRawHeader;
          size_t add = s.line.size() + (had_cr ? 2 : 1);
          if (s.header_bytes + add <= config.max_header_bytes) {
            std::string& r = s.tx->Mutable(raw);
            r.append(s.line);
            r.append(had_cr ? "\r\n" : "\n");
            s.header_bytes += uint32_t(add);
          } else if (s.header_bytes < config.max_header_bytes) {
            s.header_bytes = config.max_header_bytes;
            ++stats.header_truncated;
          }
        }
        HeaderLine(to_server, s.line, config, stats);
        break;
      }
      case Phase::kChunkSize: {
        std::string_view v = Trim(s.line);
        size_t semi = v.find(';');
        if (semi != std::string_view::npos) v = Trim(v.substr(0, semi));
        uint64_t n = 0;
        bool ok = !v.empty() && v.size() <= 12;
        for (char c : v) {
          int h = HexValue(c);
          if (h < 0) ok = false;
          n = n * 16 + uint64_t(h < 0 ? 0 : h);
        }
        if (!ok) {
          Stop(to_server, stats);
          break;
        }
        if (n == 0) {
          s.phase = Phase::kTrailers;
        } else {
          s.remaining = n;
          s.phase = Phase::kChunkData;
        }
        break;
      }
      case Phase::kChunkDataEnd:
        if (!s.line.empty()) {
          Stop(to_server, stats);
          break;
        }
        s.phase = Phase::kChunkSize;
        break;
      case Phase::kTrailers:
        if (s.line.empty()) {
          if (to_server) {
            RequestDone(events);
          } else {
            ResponseDone(events);
          }
        }
        break;
      default:
        break;
    }
    s.line.clear();
    s.line_truncated = false;
  }
}

void HttpFlow::RequestLine(const HttpConfig& config, HttpStats& stats,
                           std::vector<HttpEvent>& events) {
  std::string_view line = req_.line;
  if (line.empty() && state_ == State::kHttp) return;  // CRLF between pipelined requests
  size_t sp = line.find(' ');
  std::string_view method = line.substr(0, sp);
  bool method_ok = !method.empty() && method.size() <= kMaxMethodLength &&
                   std::all_of(method.begin(), method.end(),
                               [](char c) { return IsTokenChar(static_cast<unsigned char>(c)); });
  std::string_view rest = sp == std::string_view::npos ? std::string_view() : line.substr(sp + 1);
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  while (!rest.empty() && rest.back() == ' ') rest.remove_suffix(1);
  std::string_view uri = rest;
  std::string_view protocol;
  size_t last = rest.rfind(' ');
  if (last != std::string_view::npos && StartsWithNoCase(rest.substr(last + 1), "HTTP/")) {
    protocol = rest.substr(last + 1);
    uri = rest.substr(0, last);
    while (!uri.empty() && uri.back() == ' ') uri.remove_suffix(1);
  }
  if (state_ == State::kUnknown) {
    if (!method_ok || uri.empty() || protocol.empty()) {
      state_ = State::kNotHttp;
      ++stats.not_http;
      return;
    }
    state_ = State::kHttp;
    ++stats.flows;
  } else if (!method_ok || uri.empty()) {
    Stop(true, stats);
    return;
  }
  ++stats.requests;
  HttpTransaction& tx = NewTransaction(config, stats);
  tx.has_request = true;
  tx.Mutable(HttpBuffer::kMethod) = method;
  std::string_view kept = uri;
  if (kept.size() > config.max_uri_bytes) {
    kept = kept.substr(0, config.max_uri_bytes);
    ++stats.uri_truncated;
  }
  tx.Mutable(HttpBuffer::kRawUri) = kept;
  tx.Mutable(HttpBuffer::kUri) = NormalizeUri(kept);
  tx.Mutable(HttpBuffer::kProtocol) = protocol;
  tx.Mutable(HttpBuffer::kRequestLine) = line.substr(0, config.max_uri_bytes + 64);
  req_.tx = &tx;
  req_.header_bytes = 0;
  req_.coding = Coding::kIdentity;
  req_.body_done = false;
  req_.decoder.reset();
  content_length_[0] = -1;
  chunked_[0] = false;
  has_pending_[0] = false;
  if (protocol.empty()) {
    // HTTP/0.9: no headers, no body.
    EndOfRequestHeaders(config, stats, events);
    return;
  }
  req_.phase = Phase::kHeaders;
}

void HttpFlow::ResponseLine(const HttpConfig& config, HttpStats& stats,
                            std::vector<HttpEvent>& events) {
  (void)events;
  std::string_view line = resp_.line;
  if (line.empty()) return;
  if (!StartsWithNoCase(line, "HTTP/")) {
    Stop(false, stats);
    return;
  }
  size_t sp = line.find(' ');
  std::string_view rest = sp == std::string_view::npos ? std::string_view() : line.substr(sp + 1);
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  size_t sp2 = rest.find(' ');
  std::string_view code = rest.substr(0, sp2);
  std::string_view msg =
      sp2 == std::string_view::npos ? std::string_view() : Trim(rest.substr(sp2));
  HttpTransaction* tx = nullptr;
  for (HttpTransaction& t : txs_) {
    if (t.id == next_response_id_ && !t.response_done) {
      tx = &t;
      break;
    }
  }
  if (tx == nullptr) {
    ++stats.orphan_responses;
    tx = &NewTransaction(config, stats);
    tx->request_headers_done = tx->request_done = true;
    tx->body_released = true;
    next_response_id_ = tx->id;
  }
  ++stats.responses;
  for (size_t b = size_t(HttpBuffer::kResponseHeader); b < kHttpBufferCount; ++b) {
    tx->Mutable(HttpBuffer(b)).clear();  // an interim (1xx) response's headers are forgotten
  }
  tx->Mutable(HttpBuffer::kStatCode) = code.substr(0, 16);
  tx->Mutable(HttpBuffer::kStatMsg) = msg.substr(0, 256);
  tx->Mutable(HttpBuffer::kResponseLine) = line.substr(0, 512);
  tx->content_type.clear();
  resp_.tx = tx;
  resp_.header_bytes = 0;
  resp_.coding = Coding::kIdentity;
  resp_.body_done = false;
  resp_.decoder.reset();
  content_length_[1] = -1;
  chunked_[1] = false;
  has_pending_[1] = false;
  resp_.phase = Phase::kHeaders;
}

void HttpFlow::HeaderLine(bool to_server, std::string_view line, const HttpConfig& config,
                          HttpStats& stats) {
  int side = to_server ? 0 : 1;
  Side& s = to_server ? req_ : resp_;
  if (!line.empty() && (line.front() == ' ' || line.front() == '\t')) {
    // A folded line continues the header before it.
    if (has_pending_[side] && pending_value_[side].size() < config.max_header_bytes) {
      pending_value_[side].push_back(' ');
      pending_value_[side].append(Trim(line));
    }
    return;
  }
  if (has_pending_[side] && s.tx != nullptr) {
    // The previous header is complete.
    HttpTransaction& tx = *s.tx;
    std::string_view name = pending_name_[side];
    std::string_view value = Trim(pending_value_[side]);
    HttpBuffer header = to_server ? HttpBuffer::kRequestHeader : HttpBuffer::kResponseHeader;
    size_t add = name.size() + value.size() + 4;
    if (s.header_bytes + add <= config.max_header_bytes) {
      std::string& h = tx.Mutable(header);
      h.append(name);
      h.append(": ");
      h.append(value);
      h.append("\r\n");
      s.header_bytes += uint32_t(add);
    } else if (s.header_bytes < config.max_header_bytes) {
      s.header_bytes = config.max_header_bytes;
      ++stats.header_truncated;
    }
    std::string_view kept = value.substr(0, config.max_header_bytes);
    std::string& names =
        tx.Mutable(to_server ? HttpBuffer::kRequestHeaderNames : HttpBuffer::kResponseHeaderNames);
    if (names.size() + name.size() + 4 <= config.max_header_bytes) {
      if (names.empty()) names = "\r\n";
      names.append(name);
      names.append("\r\n");
    }
    if (HttpBuffer b = HeaderBuffer(to_server, name); b != HttpBuffer::kCount) {
      std::string& v = tx.Mutable(b);
      if (v.empty()) v = kept;
    }
    if (to_server && EqualsNoCase(name, "host")) {
      if (tx.Buffer(HttpBuffer::kRawHost).empty()) tx.Mutable(HttpBuffer::kRawHost) = kept;
      std::string host(kept);
      size_t colon = host.rfind(':');
      size_t bracket = host.rfind(']');
      if (colon != std::string::npos && (bracket == std::string::npos || colon > bracket)) {
        host.resize(colon);
      }
      for (char& c : host) c = Lower(c);
      if (tx.Buffer(HttpBuffer::kHost).empty()) tx.Mutable(HttpBuffer::kHost) = host;
    }
    if (!to_server && EqualsNoCase(name, "content-type") && tx.content_type.empty()) {
      std::string_view ct = kept.substr(0, kept.find(';'));
      tx.content_type = Trim(ct);
    }
    if (EqualsNoCase(name, "content-encoding")) {
      std::string_view v = Trim(value);
      s.coding = EqualsNoCase(v, "gzip") || EqualsNoCase(v, "x-gzip") ? Coding::kGzip
                 : EqualsNoCase(v, "deflate")                         ? Coding::kDeflate
                                                                      : Coding::kIdentity;
    }
    if (EqualsNoCase(name, "content-length")) {
      content_length_[side] = ParseLength(value);
    } else if (EqualsNoCase(name, "transfer-encoding")) {
      std::string te(value);
      for (char& c : te) c = Lower(c);
      chunked_[side] = te.find("chunked") != std::string::npos;
    }
  }
  has_pending_[side] = false;
  if (line.empty()) return;
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) {
    // Not a header; libhtp keeps going too.
    if (to_server) {
      ++stats.request_errors;
    } else {
      ++stats.response_errors;
    }
    return;
  }
  pending_name_[side].assign(Trim(line.substr(0, colon)).substr(0, 256));
  pending_value_[side].assign(line.substr(colon + 1).substr(0, config.max_header_bytes));
  has_pending_[side] = true;
}

namespace {

// What the end of a header block adds: http.header_names' final CRLF, and http.start (the start
// line, CRLF, the headers as http.header holds them, CRLF).
void FinishHeaderBuffers(HttpTransaction& tx, bool request) {
  std::string& names =
      tx.Mutable(request ? HttpBuffer::kRequestHeaderNames : HttpBuffer::kResponseHeaderNames);
  if (!names.empty()) names.append("\r\n");
  std::string& start = tx.Mutable(request ? HttpBuffer::kRequestStart : HttpBuffer::kResponseStart);
  start = tx.Buffer(request ? HttpBuffer::kRequestLine : HttpBuffer::kResponseLine);
  start.append("\r\n");
  start.append(tx.Buffer(request ? HttpBuffer::kRequestHeader : HttpBuffer::kResponseHeader));
  start.append("\r\n");
}

}  // namespace

void HttpFlow::EndOfRequestHeaders(const HttpConfig& config, HttpStats& stats,
                                   std::vector<HttpEvent>& events) {
  (void)config;
  (void)stats;
  HttpTransaction* tx = req_.tx;
  if (tx == nullptr) return;
  FinishHeaderBuffers(*tx, true);
  tx->request_headers_done = true;
  events.push_back({tx, HttpStage::kRequestHeaders});
  if (chunked_[0]) {
    req_.phase = Phase::kChunkSize;
  } else if (content_length_[0] > 0) {
    req_.remaining = uint64_t(content_length_[0]);
    req_.phase = Phase::kBody;
  } else {
    RequestDone(events);
  }
}

void HttpFlow::RequestDone(std::vector<HttpEvent>& events) {
  HttpTransaction* tx = req_.tx;
  req_.phase = Phase::kLine;
  req_.tx = nullptr;
  req_.decoder.reset();
  if (tx == nullptr) return;
  if (!tx->request_done) {
    tx->request_done = true;
    events.push_back({tx, HttpStage::kRequestComplete});
  }
  // After CONNECT the client's next bytes belong to the tunnel if the server accepts: wait for
  // the response before parsing more requests.
  if (tx->Buffer(HttpBuffer::kMethod) == "CONNECT") req_.phase = Phase::kStopped;
}

void HttpFlow::EndOfResponseHeaders(HttpStats& stats, std::vector<HttpEvent>& events) {
  HttpTransaction* tx = resp_.tx;
  if (tx == nullptr) return;
  std::string_view code = tx->Buffer(HttpBuffer::kStatCode);
  std::string_view method = tx->Buffer(HttpBuffer::kMethod);
  if (code == "101") {
    state_ = State::kTunnel;
    ++stats.tunnels;
  }
  if (code.size() == 3 && code[0] == '1' && code != "101") {
    resp_.phase = Phase::kLine;  // interim response: the real one follows
    return;
  }
  FinishHeaderBuffers(*tx, false);
  tx->response_headers_done = true;
  events.push_back({tx, HttpStage::kResponseHeaders});
  if (method == "CONNECT") {
    if (code.size() == 3 && code[0] == '2') {
      state_ = State::kTunnel;
      ++stats.tunnels;
      return;
    }
    if (req_.phase == Phase::kStopped && req_.tx == nullptr) req_.phase = Phase::kLine;
  }
  if (state_ == State::kTunnel) return;
  if (method == "HEAD" || code == "204" || code == "304") {
    ResponseDone(events);
  } else if (chunked_[1]) {
    resp_.phase = Phase::kChunkSize;
  } else if (content_length_[1] >= 0) {
    if (content_length_[1] == 0) {
      ResponseDone(events);
    } else {
      resp_.remaining = uint64_t(content_length_[1]);
      resp_.phase = Phase::kBody;
    }
  } else {
    resp_.phase = Phase::kBodyToClose;
  }
}

void HttpFlow::ResponseDone(std::vector<HttpEvent>& events) {
  HttpTransaction* tx = resp_.tx;
  if (tx != nullptr) {
    tx->response_done = true;
    next_response_id_ = tx->id + 1;
    if (!tx->response_body_done && !tx->Buffer(HttpBuffer::kResponseBody).empty()) {
      events.push_back({tx, HttpStage::kResponseComplete});
    }
    tx->response_body_done = true;
  }
  resp_.tx = nullptr;
  resp_.phase = Phase::kLine;
  resp_.decoder.reset();
}

bool HttpFlow::AppendBody(Side& side, const uint8_t* data, size_t n, std::string& body,
                          uint32_t cap, HttpStats& stats) {
  if (side.coding == Coding::kIdentity) {
    size_t room = cap > body.size() ? cap - body.size() : 0;
    body.append(reinterpret_cast<const char*>(data), std::min(n, room));
    if (n > room) ++stats.body_truncated;
    return body.size() >= cap;
  }
  if (side.decoder == nullptr) {
    side.decoder.reset(new BodyDecoder(side.coding));
    ++stats.bodies_decoded;
  }
  BodyDecoder& d = *side.decoder;
  z_stream& z = d.z;
  z.next_in = const_cast<Bytef*>(data);
  z.avail_in = uInt(n);
  char out[4096];
  while (z.avail_in > 0 && body.size() < cap && !d.failed) {
    uInt room = uInt(std::min<size_t>(sizeof(out), cap - body.size()));
    z.next_out = reinterpret_cast<Bytef*>(out);
    z.avail_out = room;
    uInt in_before = z.avail_in;
    int rc = inflate(&z, Z_NO_FLUSH);
    body.append(out, room - z.avail_out);
    if (rc == Z_DATA_ERROR && !d.started && side.coding == Coding::kDeflate && !d.raw) {
      // "deflate" sent without its zlib wrapper: start over as raw deflate.
      inflateEnd(&z);
      z = z_stream{};
      d.raw = true;
      d.Init(-15);
      z.next_in = const_cast<Bytef*>(data);
      z.avail_in = uInt(n);
      continue;
    }
    d.started = true;
    if (rc == Z_STREAM_END) {
      d.failed = true;  // what follows the compressed stream is not decoded
    } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
      ++stats.decode_errors;
      d.failed = true;
    } else if (z.avail_in == in_before && z.avail_out == room) {
      break;  // no progress
    }
  }
  if (body.size() >= cap && (z.avail_in > 0 || !d.failed)) ++stats.body_truncated;
  return body.size() >= cap;
}

void HttpFlow::BodyBytes(bool to_server, const uint8_t* data, size_t n, const HttpConfig& config,
                         HttpStats& stats, std::vector<HttpEvent>& events) {
  Side& s = to_server ? req_ : resp_;
  HttpTransaction* tx = s.tx;
  if (tx == nullptr) return;
  if (!to_server) tx->response_body_bytes += n;
  if (s.body_done) return;  // the body was cut at the cap and inspected
  if (to_server ? tx->request_done : tx->response_body_done) return;
  HttpBuffer b = to_server ? HttpBuffer::kRequestBody : HttpBuffer::kResponseBody;
  uint32_t cap = to_server ? config.max_body_bytes : config.max_response_body_bytes;
  if (!AppendBody(s, data, n, tx->Mutable(b), cap, stats)) return;
  // Inspect what was kept now; the rest of the body is skipped.
  s.body_done = true;
  s.decoder.reset();
  if (to_server) {
    tx->request_done = true;
    events.push_back({tx, HttpStage::kRequestComplete});
  } else {
    tx->response_body_done = true;
    events.push_back({tx, HttpStage::kResponseComplete});
  }
}

}  // namespace vigil::app

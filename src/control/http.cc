#include "control/http.h"

#include <fmt/format.h>

namespace vigil::control {
namespace {

const char* Reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 431:
      return "Request Header Fields Too Large";
    case 503:
      return "Service Unavailable";
    default:
      return "Error";
  }
}

bool IsToken(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < 'A' || c > 'Z') return false;
  }
  return true;
}

}  // namespace

base::Result<HttpRequest> ParseHttpRequest(std::string_view head) {
  const size_t eol = head.find("\r\n");
  std::string_view line = head.substr(0, eol);
  const size_t sp1 = line.find(' ');
  if (sp1 == std::string_view::npos) return base::MakeError("request line: no target");
  const size_t sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos) return base::MakeError("request line: no version");
  HttpRequest r;
  std::string_view method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = line.substr(sp2 + 1);
  if (!IsToken(method)) return base::MakeError("request line: bad method");
  if (target.empty() || target.front() != '/') {
    return base::MakeError("request line: the target must be a path");
  }
  for (char c : target) {
    if (uint8_t(c) <= 0x20 || uint8_t(c) >= 0x7f) {
      return base::MakeError("request line: a control or non-ASCII byte in the target");
    }
  }
  if (version != "HTTP/1.1" && version != "HTTP/1.0") {
    return base::MakeError("request line: not HTTP/1.0 or 1.1");
  }
  r.method = std::string(method);
  const size_t q = target.find('?');
  r.path = std::string(target.substr(0, q));
  if (q != std::string_view::npos) r.query = std::string(target.substr(q + 1));
  return r;
}

std::string HttpResponse::ToBytes(bool head_only) const {
  std::string out = fmt::format(
      "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nCache-Control: no-store\r\n"
      "Connection: close\r\n{}\r\n",
      status, Reason(status), content_type, body.size(), extra_headers);
  if (!head_only) out += body;
  return out;
}

void ServeHttp(Connection& conn, const HttpRouter& router) {
  std::string head;
  char buf[4096];
  size_t end = std::string::npos;
  while ((end = head.find("\r\n\r\n")) == std::string::npos) {
    if (head.size() > kMaxHttpHead) {
      conn.Write(HttpResponse{.status = 431, .body = "request head too large\n"}.ToBytes());
      return;
    }
    size_t n = conn.Read(buf, sizeof buf);
    if (n == 0) return;
    head.append(buf, n);
  }
  head.resize(end);
  auto request = ParseHttpRequest(head);
  if (!request) {
    conn.Write(HttpResponse{.status = 400, .body = request.error().message + "\n"}.ToBytes());
    return;
  }
  if (request->method != "GET" && request->method != "HEAD") {
    conn.Write(HttpResponse{
        .status = 405, .body = "only GET and HEAD\n", .extra_headers = "Allow: GET, HEAD\r\n"}
                   .ToBytes());
    return;
  }
  conn.Write(router(*request).ToBytes(request->method == "HEAD"));
}

}  // namespace vigil::control

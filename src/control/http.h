// A minimal HTTP/1.1 server side for vigil's metrics endpoint and dashboard: GET and HEAD only,
// one request per connection (every answer says `Connection: close`), headers bounded.
//
//   auto request = ParseHttpRequest(head);          // head: bytes up to the blank line
//   if (!request) Send(HttpResponse{.status = 400, .body = request.error().message}.ToBytes());
//
// ServeHttp reads the request head from a connection (at most kMaxHttpHead bytes: 431 beyond),
// hands it to the router, and writes the answer.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "base/result.h"
#include "control/stream_server.h"

namespace vigil::control {

inline constexpr size_t kMaxHttpHead = 16 << 10;

struct HttpRequest {
  std::string method;  // "GET", "HEAD", ...
  std::string path;    // without the query
  std::string query;   // after '?', may be empty
};

// The request line of `head` (the request up to, not including, the blank line). Fails on a
// malformed request line or a version other than HTTP/1.x, saying why.
[[nodiscard]] base::Result<HttpRequest> ParseHttpRequest(std::string_view head);

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::string extra_headers;  // "Name: value\r\n" lines
  [[nodiscard]] std::string ToBytes(bool head_only = false) const;
};

using HttpRouter = std::function<HttpResponse(const HttpRequest&)>;

// Serves one request on `conn`.
void ServeHttp(Connection& conn, const HttpRouter& router);

}  // namespace vigil::control

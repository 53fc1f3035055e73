// Application payloads for the traffic generator: HTTP/1.1 requests and responses, DNS messages
// in wire format, and TLS (Transport Layer Security) handshake records, each drawn from an Rng so
// that the same seed gives the same bytes. They are meant to look real to tshark and to a rule
// writer: HTTP with the usual headers, bodies, Content-Length or chunked transfer-encoding; DNS
// with compression pointers in answers; a TLS ClientHello with the server name indication (SNI)
// extension that Wireshark parses field by field.
//
//   trafgen::Rng rng(7);
//   std::string host = trafgen::RandomHostName(rng);
//   trafgen::HttpExchange x = trafgen::MakeHttpExchange(rng, host, /*last=*/false);
//   trafgen::DnsExchange d = trafgen::MakeDnsExchange(rng, host);
//   craft::Bytes hello = trafgen::TlsClientHello(rng, host, /*tls13=*/true);
//
// Not on the packet path; nothing here is tuned for speed beyond avoiding waste.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "trafgen/random.h"

namespace vigil::trafgen {

using Bytes = std::vector<uint8_t>;

// A host name such as "cdn3.example-shop.com" or "api.weathernow.net".
[[nodiscard]] std::string RandomHostName(Rng& rng);

// One HTTP/1.1 request and its response. `last` marks the final exchange of a keep-alive
// connection: the request then says "Connection: close".
struct HttpExchange {
  std::string method;  // "GET", "POST", ...
  std::string uri;
  std::string request;   // the request line, headers and any body
  std::string response;  // status line, headers and any body (none for HEAD, 204 and 304)
};
[[nodiscard]] HttpExchange MakeHttpExchange(Rng& rng, std::string_view host, bool last);

// A DNS (domain name system) query and its answer over UDP. The question asks for A, AAAA, CNAME
// or TXT; the answer repeats the question and answers with records whose names are compression
// pointers (to the question name, or to a CNAME target earlier in the message); some answers are
// NXDOMAIN (no such name) with no records.
struct DnsExchange {
  uint16_t qtype = 1;
  Bytes query;
  Bytes response;
};
[[nodiscard]] DnsExchange MakeDnsExchange(Rng& rng, std::string_view name);

// DNS type numbers used above.
inline constexpr uint16_t kDnsTypeA = 1;
inline constexpr uint16_t kDnsTypeCname = 5;
inline constexpr uint16_t kDnsTypeTxt = 16;
inline constexpr uint16_t kDnsTypeAaaa = 28;

// `name` as DNS labels ("www.a.com" -> 3www1a3com0) appended to `out`. Labels longer than 63
// bytes are cut to 63.
void AppendDnsName(Bytes& out, std::string_view name);

// TLS records. The ClientHello offers TLS 1.2 cipher suites and, when `tls13`, the TLS 1.3
// suites, supported_versions and a key_share, with SNI `server_name`, ALPN (application-layer
// protocol negotiation) h2/http1.1 and the usual groups and signature algorithms.
[[nodiscard]] Bytes TlsClientHello(Rng& rng, std::string_view server_name, bool tls13);
// The server's first flight: ServerHello, then for TLS 1.3 a ChangeCipherSpec and an encrypted
// handshake record (random bytes in an application-data record, as on the wire); for TLS 1.2
// ServerHelloDone.
[[nodiscard]] Bytes TlsServerFlight(Rng& rng, bool tls13);
// The client's second flight: TLS 1.3 ChangeCipherSpec and an encrypted Finished; TLS 1.2
// ClientKeyExchange, ChangeCipherSpec and an encrypted Finished.
[[nodiscard]] Bytes TlsClientFinish(Rng& rng, bool tls13);
// Application-data records holding `size` random bytes in all, at most 16 KiB per record.
[[nodiscard]] Bytes TlsApplicationData(Rng& rng, size_t size);

}  // namespace vigil::trafgen

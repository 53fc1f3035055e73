#include "app/tls.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "app/md5.h"
#include "app/x509_test_cert.h"

namespace vigil::app {
namespace {

std::string Be(uint32_t v, int bytes) {
  std::string s;
  for (int i = bytes - 1; i >= 0; --i) s.push_back(char((v >> (8 * i)) & 0xff));
  return s;
}

std::string Vec(std::string_view body, int width) {
  return Be(uint32_t(body.size()), width) + std::string(body);
}

std::string Handshake(uint8_t type, std::string_view body) {
  return std::string(1, char(type)) + Be(uint32_t(body.size()), 3) + std::string(body);
}

// Records of `type` carrying `payload`, cut at `max` bytes each.
std::string Records(uint8_t type, std::string_view payload, size_t max = 16384) {
  std::string out;
  for (size_t i = 0; i < payload.size(); i += max) {
    std::string_view part = payload.substr(i, max);
    out += std::string(1, char(type)) + "\x03\x01" + Vec(part, 2);
  }
  return out;
}

std::string ClientHello(std::string_view sni) {
  std::string body = Be(0x0303, 2) + std::string(32, 'r') + Vec("", 1) +
                     Vec(Be(0x0a0a, 2) + Be(0x1301, 2) + Be(0xc02f, 2), 2) +
                     Vec(std::string(1, '\0'), 1);
  std::string ext;
  ext += Be(10, 2) + Vec(Vec(Be(29, 2), 2), 2);  // supported_groups
  if (!sni.empty()) ext += Be(0, 2) + Vec(Vec(std::string(1, '\0') + Vec(sni, 2), 2), 2);
  body += Vec(ext, 2);
  return Handshake(1, body);
}

std::string ServerFlight(const std::vector<std::string>& certs) {
  std::string hello = Handshake(
      2, Be(0x0303, 2) + std::string(32, 's') + Vec("", 1) + Be(0xc02f, 2) + std::string(1, '\0'));
  std::string list;
  for (const std::string& c : certs) list += Vec(c, 3);
  return hello + Handshake(11, Vec(list, 3)) + Handshake(14, "");
}

struct Harness {
  TlsFlow flow;
  TlsStats stats;
  std::vector<TlsStage> events;
  void Feed(bool to_server, std::string_view bytes, size_t piece) {
    for (size_t i = 0; i < bytes.size(); i += piece) {
      std::string_view p = bytes.substr(i, piece);
      flow.Feed(to_server, reinterpret_cast<const uint8_t*>(p.data()), p.size(), stats, events);
    }
  }
};

TEST(TlsFlow, ServerNameAndCertificates) {
  const std::string client = Records(22, ClientHello("www.Example.com"));
  const std::string cert1(1200, 'A'), cert2(900, 'B');
  // The server's flight spans records.
  const std::string server = Records(22, ServerFlight({cert1, cert2}), 1000) + Records(20, "\x01") +
                             Records(23, "encrypted");
  for (size_t piece : {size_t(100000), size_t(7), size_t(1)}) {
    Harness h;
    h.Feed(true, client, piece);
    h.Feed(false, server, piece);
    EXPECT_TRUE(h.flow.is_tls());
    ASSERT_EQ(h.events.size(), 3u) << piece;
    EXPECT_EQ(h.events[0], TlsStage::kClientHello);
    EXPECT_EQ(h.events[1], TlsStage::kServerHello);
    EXPECT_EQ(h.events[2], TlsStage::kServerCertificate);
    const TlsHandshake& hs = h.flow.handshake();
    EXPECT_EQ(hs.sni, "www.Example.com");
    EXPECT_EQ(hs.client_version, 0x0303);
    EXPECT_EQ(hs.server_version, 0x0303);
    EXPECT_EQ(hs.client_tls_version, 0x0303);  // no supported_versions: the legacy versions
    EXPECT_EQ(hs.server_tls_version, 0x0303);
    // JA3: GREASE (0x0a0a) left out; no point formats.
    EXPECT_EQ(hs.ja3, "771,4865-49199,10-0,29,");
    EXPECT_EQ(hs.ja3_hash, Md5Hex(hs.ja3));
    EXPECT_EQ(hs.ja3s, "771,49199,");
    EXPECT_EQ(hs.ja3s_hash, Md5Hex("771,49199,"));
    ASSERT_EQ(hs.certs.size(), 2u);
    EXPECT_EQ(hs.certs[0], cert1);
    EXPECT_EQ(hs.certs[1], cert2);
    EXPECT_EQ(h.stats.malformed, 0u);
    // Not X.509: no subject, issuer or serial; counted.
    EXPECT_FALSE(hs.cert_decoded);
    EXPECT_EQ(h.stats.bad_certificates, 1u);
  }
}

TEST(TlsFlow, FirstCertificateFields) {
  const std::string der = FromHex(kDnsGoogleHex);
  Harness h;
  h.Feed(true, Records(22, ClientHello("dns.google")), 100000);
  // The chain's second certificate is not the server's: only the first one is decoded.
  h.Feed(false, Records(22, ServerFlight({der, std::string(50, 'x')})), 700);
  ASSERT_EQ(h.events.size(), 3u);
  const TlsHandshake& hs = h.flow.handshake();
  ASSERT_TRUE(hs.cert_decoded);
  EXPECT_EQ(hs.cert_subject, "C=US, ST=California, L=Mountain View, O=Google LLC, CN=dns.google");
  EXPECT_EQ(hs.cert_issuer, "C=US, O=Google Trust Services, CN=GTS CA 1O1");
  EXPECT_EQ(hs.cert_serial, "00:9B:DD:D5:38:0C:EF:68:46:02:00:00:00:00:47:D8:B0");
  // openssl x509 -fingerprint: BE:73:46:2A:2E:FB:A9:E9:42:D0:71:10:1B:8C:BF:44:6A:5D:AD:53.
  EXPECT_EQ(hs.cert_fingerprint, "be:73:46:2a:2e:fb:a9:e9:42:d0:71:10:1b:8c:bf:44:6a:5d:ad:53");
  EXPECT_EQ(h.stats.bad_certificates, 0u);
}

TEST(TlsFlow, Tls13VersionsFromSupportedVersions) {
  TlsHandshake hs;
  // A ClientHello offering 1.3 and 1.2 (supported_versions, 43), GREASE first.
  std::string body =
      Be(0x0303, 2) + std::string(32, 'r') + Vec("", 1) + Vec(Be(0x1301, 2), 2) +
      Vec(std::string(1, '\0'), 1) +
      Vec(Be(43, 2) + Vec(Vec(Be(0x0a0a, 2) + Be(0x0304, 2) + Be(0x0303, 2), 1), 2), 2);
  ASSERT_TRUE(ParseClientHello(body, hs));
  EXPECT_EQ(hs.client_version, 0x0303);
  EXPECT_EQ(hs.client_tls_version, 0x0304);
  // The ServerHello selects 1.3.
  std::string server = Be(0x0303, 2) + std::string(32, 's') + Vec("", 1) + Be(0x1301, 2) +
                       std::string(1, '\0') + Vec(Be(43, 2) + Vec(Be(0x0304, 2), 2), 2);
  ASSERT_TRUE(ParseServerHello(server, hs));
  EXPECT_EQ(hs.server_version, 0x0303);
  EXPECT_EQ(hs.server_tls_version, 0x0304);
  EXPECT_EQ(hs.ja3s, "771,4865,43");
}

TEST(TlsFlow, SslStateAndVersionFlags) {
  TlsFlow flow;
  TlsStats stats;
  std::vector<TlsStage> events;
  auto feed = [&](bool to_server, std::string_view bytes) {
    flow.Feed(to_server, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), stats,
              events);
  };
  // Records of version 3.1 around a 1.2 ClientHello: both versions are declared.
  feed(true, Records(22, ClientHello("a.example")));
  EXPECT_EQ(flow.current_flags(), uint32_t(kSslClientHello));
  EXPECT_EQ(flow.version_flags(), uint32_t(kTls10 | kTls12));
  // The current flags are those of the last bytes fed only.
  feed(true, "");
  EXPECT_EQ(flow.current_flags(), 0u);
  const std::string server = ServerFlight({"cert"});
  feed(false, Records(22, server.substr(0, 10)));  // the ServerHello's header
  EXPECT_EQ(flow.current_flags(), uint32_t(kSslServerHello));
  feed(false, Records(22, server.substr(10)) + Records(22, Handshake(12, "keys")));
  EXPECT_EQ(flow.current_flags(), uint32_t(kSslServerKeyx));
  feed(true, Records(22, Handshake(16, "keys")));
  EXPECT_EQ(flow.current_flags(), uint32_t(kSslClientKeyx));
  // An SSLv2 ClientHello: SSLv2 and a client hello, and the flow is not TLS.
  TlsFlow v2;
  const std::string hello("\x80\x2e\x01\x00\x02\x00\x15", 7);
  v2.Feed(true, reinterpret_cast<const uint8_t*>(hello.data()), hello.size(), stats, events);
  EXPECT_EQ(v2.current_flags(), uint32_t(kSslClientHello));
  EXPECT_EQ(v2.version_flags(), uint32_t(kSslV2));
  EXPECT_EQ(v2.state(), TlsFlow::State::kNotTls);
  // Plain text is neither.
  TlsFlow http;
  http.Feed(true, reinterpret_cast<const uint8_t*>("GET / HTTP/1.1\r\n"), 16, stats, events);
  EXPECT_EQ(http.current_flags() | http.version_flags(), 0u);
}

TEST(TlsFlow, NotTlsIsRecognizedAtOnce) {
  Harness h;
  h.Feed(true, "GET / HTTP/1.1\r\n\r\n", 100);
  EXPECT_EQ(h.flow.state(), TlsFlow::State::kNotTls);
  EXPECT_TRUE(h.flow.done());
  Harness alert;  // a TLS record, but not a handshake
  alert.Feed(true, Records(21, "\x02\x28"), 100);
  EXPECT_EQ(alert.flow.state(), TlsFlow::State::kNotTls);
}

TEST(TlsFlow, NoServerNameAndOversizedMessages) {
  Harness h;
  h.Feed(true, Records(22, ClientHello("")), 100000);
  ASSERT_EQ(h.events.size(), 1u);
  EXPECT_EQ(h.flow.handshake().sni, "");
  // A certificate message over the cap is skipped, counted, and the flow goes on.
  std::string huge = Handshake(11, Vec(Vec(std::string(kMaxHandshakeBytes, 'x'), 3), 3));
  h.Feed(false, Records(22, huge), 100000);
  EXPECT_EQ(h.stats.message_too_long, 1u);
  EXPECT_EQ(h.events.size(), 1u);
}

TEST(TlsFlow, RandomInputNeverBreaksTheBounds) {
  std::mt19937 rng(7);
  const std::string seed = Records(22, ClientHello("a.example"));
  const std::string server = Records(22, ServerFlight({std::string(300, 'c')}), 200);
  for (int round = 0; round < 5000; ++round) {
    std::string c = seed, s = server;
    for (int k = 0; k < 3; ++k) c[rng() % c.size()] = char(rng());
    for (int k = 0; k < 3; ++k) s[rng() % s.size()] = char(rng());
    Harness h;
    h.Feed(true, c, 1 + rng() % 64);
    h.Feed(false, s, 1 + rng() % 64);
    EXPECT_LE(h.flow.handshake().certs.size(), kMaxCertificates);
    EXPECT_LE(h.events.size(), 3u);
  }
}

}  // namespace
}  // namespace vigil::app

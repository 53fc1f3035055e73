// TLS handshakes (RFC 5246 / 8446 record and handshake layers) for the detector's tls.* buffers:
// a TlsFlow per TCP flow, fed the in-order reassembled bytes of each direction, reassembles the
// handshake messages of the records and reads the ClientHello (server name), the ServerHello
// (version) and the server's Certificate message (the certificates, DER).
//
//   app::TlsFlow tls;                                      // one per flow (engine::Worker keeps
//   it) std::vector<app::TlsEvent> events; tls.Feed(true, bytes, len, stats, events); // client ->
//   server bytes, in order for (app::TlsEvent e : events) Inspect(tls.handshake(), e);
//
// Detection by content: the flow is TLS when the client's first bytes are a handshake record
// (content type 22, version 3.x) holding a ClientHello; anything else makes it "not TLS" at once.
//
// What the handshake holds (TlsHandshake): tls.sni (the server_name extension's host name),
// the ClientHello's and ServerHello's legacy versions, JA3 and JA3S (the fingerprint strings of
// the two hellos and their MD5 digests, ja3.hash / ja3s.hash; GREASE values left out, as the JA3
// definition says), tls.certs (each certificate of the server's chain, DER, as Suricata's
// tls.certs multi-buffer holds them) and the subject, issuer, serial and SHA-1 fingerprint of the
// first one. Events:
// kClientHello when the ClientHello is complete, kServerHello when the ServerHello is,
// kServerCertificate when the server's Certificate message is (TLS 1.3 encrypts it: never then).
//
// Bounds: a handshake message is reassembled up to kMaxHandshakeBytes (a longer one is skipped,
// tls.message_too_long); at most kMaxCertificates certificates are kept. After the handshake
// (a ChangeCipherSpec or application data record) a direction is not parsed further. Malformed
// input is never an error: it is counted (tls.malformed) and that direction stops being parsed.
// Cost: one pass over the handshake bytes; one copy of each handshake message.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace vigil::app {

inline constexpr size_t kMaxHandshakeBytes = 65536;
inline constexpr size_t kMaxCertificates = 8;

struct TlsHandshake {
  std::string sni;
  uint16_t client_version = 0;  // ClientHello.legacy_version
  uint16_t server_version = 0;  // ServerHello.legacy_version
  // The versions tls.version reads, as Suricata sets them: the client's is 0x0304 when its
  // supported_versions extension offers TLS 1.3, else its legacy version; the server's is the
  // version its supported_versions extension selected, else its legacy version.
  uint16_t client_tls_version = 0;
  uint16_t server_tls_version = 0;
  std::string ja3;        // "771,4865-4866,0-10-11,29-23,0"
  std::string ja3_hash;   // MD5 of ja3, 32 lowercase hex digits
  std::string ja3s;       // "771,4865,43-51"
  std::string ja3s_hash;  // MD5 of ja3s
  std::vector<std::string> certs;
  // The first certificate's fields (tls.cert_subject, tls.cert_issuer, tls.cert_serial), as
  // app/x509.h renders them, and its fingerprint; cert_decoded false when there is none or it is
  // not a certificate (Suricata then has none of them either).
  std::string cert_subject;
  std::string cert_issuer;
  std::string cert_serial;
  std::string cert_fingerprint;  // tls.cert_fingerprint: SHA-1 of its DER, "be:73:46:..."
  bool cert_decoded = false;
  bool client_hello = false;
  bool server_hello = false;
  bool server_certificate = false;
};

// Snort's ssl_state and ssl_version flags (TlsFlow::current_flags, version_flags): the handshake
// messages whose header the bytes of one Feed held (ClientHello and ClientKeyExchange from the
// client, ServerHello and ServerKeyExchange from the server), and every protocol version a record
// header or hello declared, SSLv2 for an SSLv2 ClientHello.
enum SslFlag : uint32_t {
  kSslClientHello = 1u << 0,
  kSslServerHello = 1u << 1,
  kSslClientKeyx = 1u << 2,
  kSslServerKeyx = 1u << 3,
  kSslV2 = 1u << 8,
  kSslV3 = 1u << 9,
  kTls10 = 1u << 10,
  kTls11 = 1u << 11,
  kTls12 = 1u << 12,
};

enum class TlsStage : uint8_t { kClientHello, kServerHello, kServerCertificate };
inline constexpr size_t kTlsStageCount = 3;

#define VIGIL_TLS_COUNTERS(X)                 \
  X(flows, "tls.flows")                       \
  X(not_tls, "tls.not_tls")                   \
  X(client_hellos, "tls.client_hellos")       \
  X(certificates, "tls.certificates")         \
  X(bad_certificates, "tls.bad_certificates") \
  X(malformed, "tls.malformed")               \
  X(message_too_long, "tls.message_too_long") \
  X(gaps, "tls.gaps")

struct TlsStats {
#define VIGIL_TLS_FIELD(field, name) uint64_t field = 0;
  VIGIL_TLS_COUNTERS(VIGIL_TLS_FIELD)
#undef VIGIL_TLS_FIELD
  void ForEach(const std::function<void(std::string_view, uint64_t)>& f) const;
};

class TlsFlow {
 public:
  enum class State : uint8_t { kUnknown, kTls, kNotTls };

  // Parses `len` in-order bytes of one direction (to_server: from the client), appending the
  // stages they completed to `events`.
  void Feed(bool to_server, const uint8_t* data, size_t len, TlsStats& stats,
            std::vector<TlsStage>& events);
  // Bytes of one direction are missing: that direction stops being parsed.
  void Gap(bool to_server, TlsStats& stats);

  [[nodiscard]] State state() const { return state_; }
  [[nodiscard]] bool is_tls() const { return state_ == State::kTls; }
  // True when more bytes would not be parsed.
  [[nodiscard]] bool done() const;
  [[nodiscard]] const TlsHandshake& handshake() const { return hs_; }
  // The SslFlag handshake messages of the last Feed (an SSLv2 ClientHello counts, though the flow
  // is then "not TLS"), and the SslFlag versions seen so far.
  [[nodiscard]] uint32_t current_flags() const { return current_; }
  [[nodiscard]] uint32_t version_flags() const { return versions_; }

 private:
  struct Side {
    std::string record;     // the record header and body being read
    std::string message;    // the handshake message being reassembled
    bool skipping = false;  // the current message is too long: its bytes are dropped
    size_t skip_left = 0;
    bool stopped = false;
  };
  // One complete record of `side`.
  void Record(bool to_server, TlsStats& stats, std::vector<TlsStage>& events);
  // One complete handshake message.
  void Message(bool to_server, std::string_view msg, TlsStats& stats,
               std::vector<TlsStage>& events);
  void Stop(bool to_server, TlsStats& stats);

  // The client's first bytes are an SSLv2 record: notes its flags.
  void Sslv2(const uint8_t* data, size_t len, TlsStats& stats);

  State state_ = State::kUnknown;
  uint32_t current_ = 0;
  uint32_t versions_ = 0;
  Side side_[2];
  TlsHandshake hs_;
};

// The server name, version and JA3 of a ClientHello message body (after the 4-byte handshake
// header) into `out`; sni "" when it has none. False when the message is malformed.
[[nodiscard]] bool ParseClientHello(std::string_view body, TlsHandshake& out);
// The version and JA3S of a ServerHello message body. False when it is malformed.
[[nodiscard]] bool ParseServerHello(std::string_view body, TlsHandshake& out);

}  // namespace vigil::app

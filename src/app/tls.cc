#include "app/tls.h"

#include <algorithm>

#include "app/md5.h"
#include "app/sha1.h"
#include "app/x509.h"

namespace vigil::app {
namespace {

constexpr uint8_t kChangeCipherSpec = 20;
constexpr uint8_t kAlert = 21;
constexpr uint8_t kHandshake = 22;
constexpr uint8_t kApplicationData = 23;
constexpr uint8_t kClientHelloType = 1;
constexpr uint8_t kServerHelloType = 2;
constexpr uint8_t kCertificateType = 11;
constexpr size_t kRecordHeader = 5;
constexpr size_t kMaxRecordBody = 16384 + 2048;  // TLSCiphertext's limit

// A cursor over a message body that fails, rather than reads past the end.
class Reader {
 public:
  explicit Reader(std::string_view s) : s_(s) {}
  bool U8(uint32_t& v) { return Number(1, v); }
  bool U16(uint32_t& v) { return Number(2, v); }
  bool U24(uint32_t& v) { return Number(3, v); }
  bool Bytes(size_t n, std::string_view& out) {
    if (n > s_.size()) return false;
    out = s_.substr(0, n);
    s_.remove_prefix(n);
    return true;
  }
  bool Skip(size_t n) {
    std::string_view ignored;
    return Bytes(n, ignored);
  }
  [[nodiscard]] bool empty() const { return s_.empty(); }

 private:
  bool Number(size_t n, uint32_t& v) {
    if (n > s_.size()) return false;
    v = 0;
    for (size_t i = 0; i < n; ++i) v = v << 8 | uint8_t(s_[i]);
    s_.remove_prefix(n);
    return true;
  }
  std::string_view s_;
};

// A vector with a length prefix of `width` bytes.
bool Vector(Reader& r, int width, std::string_view& out) {
  uint32_t n = 0;
  if (!(width == 1 ? r.U8(n) : width == 2 ? r.U16(n) : r.U24(n))) return false;
  return r.Bytes(n, out);
}

bool ParseCertificates(std::string_view body, bool tls13, TlsHandshake& out) {
  Reader r(body);
  std::string_view context, list;
  if (tls13 && !Vector(r, 1, context)) return false;
  if (!Vector(r, 3, list)) return false;
  Reader certs(list);
  out.certs.clear();
  while (!certs.empty()) {
    std::string_view der;
    if (!Vector(certs, 3, der)) return false;
    if (tls13) {
      std::string_view extensions;
      if (!Vector(certs, 2, extensions)) return false;
    }
    if (out.certs.size() < kMaxCertificates) out.certs.emplace_back(der);
  }
  return true;
}

// The SslFlag of a (major, minor) protocol version; 0 for one Snort does not name.
uint32_t VersionFlag(uint32_t major, uint32_t minor) {
  if (major != 3 || minor > 3) return 0;
  constexpr uint32_t kFlags[] = {kSslV3, kTls10, kTls11, kTls12};
  return kFlags[minor];
}

// The SslFlag of a handshake message of `type` sent by the client (to_server) or the server.
uint32_t MessageFlag(uint8_t type, bool to_server) {
  constexpr uint8_t kServerKeyExchange = 12, kClientKeyExchange = 16;
  if (to_server) {
    if (type == kClientHelloType) return kSslClientHello;
    return type == kClientKeyExchange ? kSslClientKeyx : 0u;
  }
  if (type == kServerHelloType) return kSslServerHello;
  return type == kServerKeyExchange ? kSslServerKeyx : 0u;
}

// GREASE values (RFC 8701: 0x0a0a, 0x1a1a, ... 0xfafa) are left out of JA3 fingerprints.
bool IsGrease(uint32_t v) { return (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff); }

// Appends the 16-bit values of `list` (not GREASE) in decimal, '-' separated.
void AppendU16List(std::string_view list, std::string& out) {
  bool first = true;
  for (size_t i = 0; i + 1 < list.size(); i += 2) {
    const uint32_t v = uint32_t(uint8_t(list[i])) << 8 | uint8_t(list[i + 1]);
    if (IsGrease(v)) continue;
    if (!first) out.push_back('-');
    out += std::to_string(v);
    first = false;
  }
}

}  // namespace

void TlsStats::ForEach(const std::function<void(std::string_view, uint64_t)>& f) const {
#define VIGIL_TLS_VISIT(field, name) f(name, field);
  VIGIL_TLS_COUNTERS(VIGIL_TLS_VISIT)
#undef VIGIL_TLS_VISIT
}

bool ParseClientHello(std::string_view body, TlsHandshake& out) {
  Reader r(body);
  uint32_t version = 0;
  std::string_view session, ciphers, compression, extensions;
  if (!r.U16(version) || !r.Skip(32) || !Vector(r, 1, session) || !Vector(r, 2, ciphers) ||
      !Vector(r, 1, compression)) {
    return false;
  }
  out.client_version = uint16_t(version);
  out.client_tls_version = uint16_t(version);
  out.sni.clear();
  // JA3: version, ciphers, extensions, supported groups, EC point formats.
  std::string ja3 = std::to_string(version) + ",";
  AppendU16List(ciphers, ja3);
  ja3.push_back(',');
  std::string groups, formats;
  bool first_extension = true;
  auto finish = [&] {
    ja3 += "," + groups + ",";
    for (size_t i = 0; i < formats.size(); ++i) {
      if (i > 0) ja3.push_back('-');
      ja3 += std::to_string(uint8_t(formats[i]));
    }
    out.ja3 = std::move(ja3);
    out.ja3_hash = Md5Hex(out.ja3);
    return true;
  };
  if (r.empty()) return finish();  // no extensions
  if (!Vector(r, 2, extensions)) return false;
  Reader ext(extensions);
  while (!ext.empty()) {
    uint32_t type = 0;
    std::string_view data;
    if (!ext.U16(type) || !Vector(ext, 2, data)) return false;
    if (!IsGrease(type)) {
      if (!first_extension) ja3.push_back('-');
      ja3 += std::to_string(type);
      first_extension = false;
    }
    if (type == 43) {  // supported_versions: a list of 16-bit versions
      Reader list(data);
      std::string_view versions;
      if (!Vector(list, 1, versions)) return false;
      for (size_t i = 0; i + 1 < versions.size(); i += 2) {
        if (uint8_t(versions[i]) == 3 && uint8_t(versions[i + 1]) == 4) {
          out.client_tls_version = 0x0304;
        }
      }
    }
    if (type == 10 || type == 11) {  // supported_groups, ec_point_formats
      Reader list(data);
      std::string_view values;
      if (!Vector(list, type == 10 ? 2 : 1, values)) return false;
      if (type == 10) {
        groups.clear();
        AppendU16List(values, groups);
      } else {
        formats.assign(values);
      }
    }
    if (type != 0) continue;  // server_name
    Reader sn(data);
    std::string_view list;
    if (!Vector(sn, 2, list)) return false;
    Reader names(list);
    while (!names.empty()) {
      uint32_t name_type = 0;
      std::string_view name;
      if (!names.U8(name_type) || !Vector(names, 2, name)) return false;
      if (name_type == 0 && out.sni.empty()) out.sni = name;  // host_name
    }
  }
  return finish();
}

bool ParseServerHello(std::string_view body, TlsHandshake& out) {
  Reader r(body);
  uint32_t version = 0, cipher = 0, compression = 0;
  std::string_view session, extensions;
  if (!r.U16(version) || !r.Skip(32) || !Vector(r, 1, session) || !r.U16(cipher) ||
      !r.U8(compression)) {
    return false;
  }
  out.server_version = uint16_t(version);
  out.server_tls_version = uint16_t(version);
  std::string ja3s = std::to_string(version) + "," + std::to_string(cipher) + ",";
  if (!r.empty()) {
    if (!Vector(r, 2, extensions)) return false;
    Reader ext(extensions);
    bool first = true;
    while (!ext.empty()) {
      uint32_t type = 0;
      std::string_view data;
      if (!ext.U16(type) || !Vector(ext, 2, data)) return false;
      if (type == 43 && data.size() == 2) {  // supported_versions: the selected version
        out.server_tls_version = uint16_t(uint8_t(data[0]) << 8 | uint8_t(data[1]));
      }
      if (IsGrease(type)) continue;
      if (!first) ja3s.push_back('-');
      ja3s += std::to_string(type);
      first = false;
    }
  }
  out.ja3s = std::move(ja3s);
  out.ja3s_hash = Md5Hex(out.ja3s);
  return true;
}

bool TlsFlow::done() const {
  return state_ == State::kNotTls || (side_[0].stopped && side_[1].stopped);
}

void TlsFlow::Stop(bool to_server, TlsStats& stats) {
  ++stats.malformed;
  side_[to_server ? 0 : 1].stopped = true;
}

void TlsFlow::Gap(bool to_server, TlsStats& stats) {
  Side& s = side_[to_server ? 0 : 1];
  if (state_ == State::kNotTls || s.stopped) return;
  ++stats.gaps;
  if (state_ == State::kUnknown) {
    state_ = State::kNotTls;
    ++stats.not_tls;
    return;
  }
  s.stopped = true;
}

void TlsFlow::Sslv2(const uint8_t* data, size_t len, TlsStats& stats) {
  // A two-byte record header (top bit set), then the message type and the version: CLIENT-HELLO
  // (1) of SSL 2.0 (0x0002) or of a 3.x client speaking SSLv2 for compatibility.
  if (len >= 5 && data[2] == 1 && (data[3] == 0 || data[3] == 3)) {
    versions_ |= kSslV2;
    current_ |= kSslClientHello;
  }
  state_ = State::kNotTls;
  ++stats.not_tls;
}

void TlsFlow::Feed(bool to_server, const uint8_t* data, size_t len, TlsStats& stats,
                   std::vector<TlsStage>& events) {
  current_ = 0;
  if (state_ == State::kNotTls) return;
  if (!to_server && state_ != State::kTls) return;  // the server's bytes once the client's were TLS
  Side& s = side_[to_server ? 0 : 1];
  if (state_ == State::kUnknown && s.record.empty() && len > 0 && (data[0] & 0x80) != 0) {
    Sslv2(data, len, stats);
    return;
  }
  while (len > 0 && !s.stopped && state_ != State::kNotTls) {
    size_t want = kRecordHeader;
    if (s.record.size() >= kRecordHeader) {
      want += size_t(uint8_t(s.record[3])) << 8 | uint8_t(s.record[4]);
    }
    const size_t take = std::min(len, want - s.record.size());
    s.record.append(reinterpret_cast<const char*>(data), take);
    data += take;
    len -= take;
    if (s.record.size() == kRecordHeader) {
      // Detection by content, and a sanity check of every header.
      const uint8_t type = uint8_t(s.record[0]);
      const size_t body = size_t(uint8_t(s.record[3])) << 8 | uint8_t(s.record[4]);
      const bool ok = type >= kChangeCipherSpec && type <= kApplicationData && s.record[1] == 3 &&
                      uint8_t(s.record[2]) <= 4 && body <= kMaxRecordBody;
      if (state_ == State::kUnknown && (!ok || type != kHandshake)) {
        state_ = State::kNotTls;
        ++stats.not_tls;
        return;
      }
      if (!ok) {
        Stop(to_server, stats);
        return;
      }
      versions_ |= VersionFlag(uint8_t(s.record[1]), uint8_t(s.record[2]));
      if (body > 0) continue;
    }
    if (s.record.size() < want) continue;
    Record(to_server, stats, events);
    s.record.clear();
  }
}

void TlsFlow::Record(bool to_server, TlsStats& stats, std::vector<TlsStage>& events) {
  Side& s = side_[to_server ? 0 : 1];
  const uint8_t type = uint8_t(s.record[0]);
  if (type == kChangeCipherSpec || type == kApplicationData) {
    s.stopped = true;  // what follows is encrypted
    return;
  }
  if (type == kAlert) return;
  // Handshake: messages may span records and a record may hold several.
  std::string_view body = std::string_view(s.record).substr(kRecordHeader);
  while (!body.empty() && !s.stopped) {
    if (s.skipping) {
      const size_t n = std::min(body.size(), s.skip_left);
      body.remove_prefix(n);
      s.skip_left -= n;
      if (s.skip_left == 0) s.skipping = false;
      continue;
    }
    const size_t want_header = 4;
    if (s.message.size() < want_header) {
      const size_t n = std::min(body.size(), want_header - s.message.size());
      s.message.append(body.substr(0, n));
      body.remove_prefix(n);
      if (s.message.size() < want_header) break;
      current_ |= MessageFlag(uint8_t(s.message[0]), to_server);
    }
    const size_t length = size_t(uint8_t(s.message[1])) << 16 | size_t(uint8_t(s.message[2])) << 8 |
                          uint8_t(s.message[3]);
    if (length > kMaxHandshakeBytes) {
      ++stats.message_too_long;
      s.message.clear();
      s.skipping = true;
      s.skip_left = length;
      continue;
    }
    const size_t n = std::min(body.size(), 4 + length - s.message.size());
    s.message.append(body.substr(0, n));
    body.remove_prefix(n);
    if (s.message.size() < 4 + length) break;
    std::string msg;
    msg.swap(s.message);
    Message(to_server, msg, stats, events);
  }
}

void TlsFlow::Message(bool to_server, std::string_view msg, TlsStats& stats,
                      std::vector<TlsStage>& events) {
  const uint8_t type = uint8_t(msg[0]);
  const std::string_view body = msg.substr(4);
  if (to_server) {
    if (type != kClientHelloType || hs_.client_hello) {
      if (state_ == State::kUnknown) {
        state_ = State::kNotTls;
        ++stats.not_tls;
      }
      return;
    }
    if (!ParseClientHello(body, hs_)) {
      if (state_ == State::kUnknown) {
        state_ = State::kNotTls;
        ++stats.not_tls;
        return;
      }
      Stop(true, stats);
      return;
    }
    if (state_ == State::kUnknown) {
      state_ = State::kTls;
      ++stats.flows;
    }
    hs_.client_hello = true;
    versions_ |= VersionFlag(hs_.client_version >> 8, hs_.client_version & 0xff);
    ++stats.client_hellos;
    events.push_back(TlsStage::kClientHello);
    return;
  }
  if (type == kServerHelloType && !hs_.server_hello) {
    if (!ParseServerHello(body, hs_)) {
      Stop(false, stats);
      return;
    }
    hs_.server_hello = true;
    versions_ |= VersionFlag(hs_.server_version >> 8, hs_.server_version & 0xff);
    events.push_back(TlsStage::kServerHello);
    return;
  }
  if (type == kCertificateType && !hs_.server_certificate) {
    // TLS 1.3 sends it encrypted; a cleartext one with a request context is 1.3's layout.
    if (!ParseCertificates(body, false, hs_) && !ParseCertificates(body, true, hs_)) {
      Stop(false, stats);
      return;
    }
    hs_.server_certificate = true;
    ++stats.certificates;
    // Suricata reads the subject, issuer, serial and fingerprint of the server's own (first)
    // certificate.
    X509Fields fields;
    hs_.cert_decoded = !hs_.certs.empty() && ParseX509(hs_.certs.front(), fields);
    if (hs_.cert_decoded) {
      hs_.cert_subject = std::move(fields.subject);
      hs_.cert_issuer = std::move(fields.issuer);
      hs_.cert_serial = std::move(fields.serial);
      hs_.cert_fingerprint = Sha1Fingerprint(hs_.certs.front());
    } else if (!hs_.certs.empty()) {
      ++stats.bad_certificates;
    }
    events.push_back(TlsStage::kServerCertificate);
  }
}

}  // namespace vigil::app

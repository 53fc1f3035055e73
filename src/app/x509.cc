#include "app/x509.h"

#include <cstdint>

namespace vigil::app {
namespace {

// Universal tags (X.680) that x509-parser renders as text.
constexpr uint8_t kBoolean = 0x01;
constexpr uint8_t kInteger = 0x02;
constexpr uint8_t kBitString = 0x03;
constexpr uint8_t kObjectDescriptor = 0x07;
constexpr uint8_t kOctetString = 0x04;
constexpr uint8_t kOid = 0x06;
constexpr uint8_t kUtf8String = 0x0c;
constexpr uint8_t kNumericString = 0x12;
constexpr uint8_t kPrintableString = 0x13;
constexpr uint8_t kT61String = 0x14;
constexpr uint8_t kVideotexString = 0x15;
constexpr uint8_t kIa5String = 0x16;
constexpr uint8_t kUtcTime = 0x17;
constexpr uint8_t kGeneralizedTime = 0x18;
constexpr uint8_t kGraphicString = 0x19;
constexpr uint8_t kVisibleString = 0x1a;
constexpr uint8_t kGeneralString = 0x1b;
constexpr uint8_t kBmpString = 0x1e;
constexpr uint8_t kSequence = 0x30;
constexpr uint8_t kSet = 0x31;
constexpr uint8_t kVersionTag = 0xa0;     // [0] EXPLICIT
constexpr uint8_t kExtensionsTag = 0xa3;  // [3] EXPLICIT
constexpr uint8_t kHighTagNumber = 0x1f;
// A tag of the high-tag-number form (more than one byte) is reported as this.
constexpr uint8_t kLongTag = 0xff;

constexpr std::string_view kInvalidName = "<X509Error: Invalid X.509 name>";

struct Tlv {
  uint8_t tag = 0;
  std::string_view content;
};

// A cursor over DER TLVs (tag, length, value) that fails rather than reads past the end.
// Definite lengths only (DER has no other), of at most 4 bytes.
class Der {
 public:
  explicit Der(std::string_view s) : s_(s) {}
  bool Next(Tlv& out) {
    if (s_.size() < 2) return false;
    size_t i = 0;
    out.tag = uint8_t(s_[i++]);
    if ((out.tag & kHighTagNumber) == kHighTagNumber) {
      // The tag number continues in base 128; at most 4 more bytes.
      size_t n = 0;
      while (i < s_.size() && (uint8_t(s_[i]) & 0x80) != 0 && n < 4) ++i, ++n;
      if (i >= s_.size() || n == 4) return false;
      ++i;
      out.tag = kLongTag;
    }
    if (i >= s_.size()) return false;
    size_t length = uint8_t(s_[i++]);
    if (length & 0x80) {
      const size_t bytes = length & 0x7f;
      if (bytes == 0 || bytes > 4 || s_.size() - i < bytes) return false;  // 0: indefinite
      length = 0;
      for (size_t k = 0; k < bytes; ++k) length = length << 8 | uint8_t(s_[i++]);
    }
    if (s_.size() - i < length) return false;
    out.content = s_.substr(i, length);
    s_.remove_prefix(i + length);
    return true;
  }
  // The next TLV, which must have tag `tag`.
  bool Expect(uint8_t tag, std::string_view& content) {
    Tlv t;
    if (!Next(t) || t.tag != tag) return false;
    content = t.content;
    return true;
  }
  [[nodiscard]] bool PeekTag(uint8_t tag) const { return !s_.empty() && uint8_t(s_[0]) == tag; }
  [[nodiscard]] bool empty() const { return s_.empty(); }

 private:
  std::string_view s_;
};

// True when every byte of `s` is consumed by well-formed TLVs.
bool WellFormed(std::string_view s) {
  Der d(s);
  Tlv t;
  while (!d.empty()) {
    if (!d.Next(t)) return false;
  }
  return true;
}

// Well-formed UTF-8 as Rust's str::from_utf8 accepts it: no overlong forms, no surrogates,
// nothing above U+10FFFF.
bool IsUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const uint8_t b = uint8_t(s[i]);
    if (b < 0x80) {
      ++i;
      continue;
    }
    size_t n = 0;
    uint32_t cp = 0, min = 0;
    if ((b & 0xe0) == 0xc0) {
      n = 1, cp = b & 0x1f, min = 0x80;
    } else if ((b & 0xf0) == 0xe0) {
      n = 2, cp = b & 0x0f, min = 0x800;
    } else if ((b & 0xf8) == 0xf0) {
      n = 3, cp = b & 0x07, min = 0x10000;
    } else {
      return false;
    }
    if (s.size() - i <= n) return false;
    for (size_t k = 1; k <= n; ++k) {
      const uint8_t c = uint8_t(s[i + k]);
      if ((c & 0xc0) != 0x80) return false;
      cp = cp << 6 | (c & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += n + 1;
  }
  return true;
}

void AppendHex(std::string_view bytes, std::string& out, bool colons) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (colons && i > 0) out.push_back(':');
    out.push_back(kDigits[uint8_t(bytes[i]) >> 4]);
    out.push_back(kDigits[uint8_t(bytes[i]) & 0x0f]);
  }
}

// The dotted form of an OID's content ("2.5.4.3"), as asn1-rs writes it: the first byte holds the
// first two arcs (byte / 40, byte % 40), then base-128 arcs; when an arc takes more than 9 bytes
// (64 bits), the content's bytes in lowercase hexadecimal, space separated. False for an empty
// OID or one whose last arc is cut short.
bool OidText(std::string_view oid, std::string& out) {
  if (oid.empty() || (oid.size() > 1 && (uint8_t(oid.back()) & 0x80) != 0)) return false;
  const uint8_t head = uint8_t(oid[0]);
  std::string dotted = std::to_string(head / 40) + "." + std::to_string(head % 40);
  uint64_t arc = 0;
  size_t bytes = 0;
  bool too_long = false;
  for (char ch : oid.substr(1)) {
    const uint8_t b = uint8_t(ch);
    arc = arc << 7 | (b & 0x7f);
    too_long |= ++bytes > 9;
    if (b & 0x80) continue;
    dotted += "." + std::to_string(arc);
    arc = 0;
    bytes = 0;
  }
  if (!too_long) {
    out += dotted;
    return true;
  }
  static constexpr char kDigits[] = "0123456789abcdef";
  for (size_t i = 0; i < oid.size(); ++i) {
    if (i > 0) out.push_back(' ');
    out.push_back(kDigits[uint8_t(oid[i]) >> 4]);
    out.push_back(kDigits[uint8_t(oid[i]) & 0x0f]);
  }
  return true;
}

// x509-parser's abbreviations, then the short names of the oid-registry crate's x509 and
// crypto sets, for the attribute types a Name holds.
std::string_view AttributeName(std::string_view dotted) {
  struct Entry {
    std::string_view oid, name;
  };
  static constexpr Entry kNames[] = {
      {"2.5.4.3", "CN"},
      {"2.5.4.6", "C"},
      {"2.5.4.7", "L"},
      {"2.5.4.8", "ST"},
      {"2.5.4.10", "O"},
      {"2.5.4.11", "OU"},
      {"0.9.2342.19200300.100.1.25", "DC"},
      {"1.2.840.113549.1.9.1", "Email"},
      {"2.5.4.0", "objectClass"},
      {"2.5.4.1", "aliasedEntryName"},
      {"2.5.4.2", "knowledgeInformation"},
      {"2.5.4.4", "surname"},
      {"2.5.4.5", "serialNumber"},
      {"2.5.4.9", "streetAddress"},
      {"2.5.4.12", "title"},
      {"2.5.4.13", "description"},
      {"2.5.4.14", "searchGuide"},
      {"2.5.4.15", "businessCategory"},
      {"2.5.4.16", "postalAddress"},
      {"2.5.4.17", "postalCode"},
      {"2.5.4.41", "name"},
      {"2.5.4.42", "givenName"},
      {"2.5.4.43", "initials"},
      {"2.5.4.44", "generationQualifier"},
      {"2.5.4.45", "uniqueIdentifier"},
      {"2.5.4.46", "dnQualifier"},
      {"1.2.840.113549.1.9.2", "unstructuredName"},
      {"1.3.6.1.4.1.311.60.2.1.1", "msJurisdictionLocality"},
      {"1.3.6.1.4.1.311.60.2.1.2", "msJurisdictionStateOrProvince"},
      {"1.3.6.1.4.1.311.60.2.1.3", "msJurisdictionCountry"},
  };
  for (const Entry& e : kNames) {
    if (e.oid == dotted) return e.name;
  }
  return {};
}

bool IsStringTag(uint8_t tag) {
  switch (tag) {
    case kNumericString:
    case kBmpString:
    case kVisibleString:
    case kPrintableString:
    case kGeneralString:
    case kObjectDescriptor:
    case kGraphicString:
    case kT61String:
    case kVideotexString:
    case kUtf8String:
    case kIa5String:
      return true;
    default:
      return false;
  }
}

enum class NameResult { kOk, kMalformed, kUnprintable };

// Renders the content of a Name SEQUENCE into `out`. kMalformed when it is not a Name (the
// certificate is then not one either); kUnprintable when a string value is not UTF-8.
NameResult RenderName(std::string_view name, std::string& out) {
  Der rdns(name);
  bool unprintable = false;
  bool first_rdn = true;
  while (!rdns.empty()) {
    std::string_view set;
    if (!rdns.Expect(kSet, set) || set.empty()) return NameResult::kMalformed;
    if (!first_rdn) out += ", ";
    first_rdn = false;
    Der attributes(set);
    bool first_attribute = true;
    while (!attributes.empty()) {
      std::string_view atv, oid;
      Tlv value;
      if (!attributes.Expect(kSequence, atv)) return NameResult::kMalformed;
      Der fields(atv);
      if (!fields.Expect(kOid, oid) || !fields.Next(value)) return NameResult::kMalformed;
      if (!first_attribute) out += " + ";
      first_attribute = false;
      std::string dotted;
      if (!OidText(oid, dotted)) return NameResult::kMalformed;
      const std::string_view abbrev = AttributeName(dotted);
      if (abbrev.empty()) {
        out += "OID(" + dotted + ")";
      } else {
        out += abbrev;
      }
      out.push_back('=');
      if (!IsStringTag(value.tag)) {
        AppendHex(value.content, out, false);
      } else if (IsUtf8(value.content)) {
        out += value.content;
      } else {
        unprintable = true;
      }
    }
  }
  return unprintable ? NameResult::kUnprintable : NameResult::kOk;
}

bool Name(Der& tbs, std::string& out) {
  std::string_view name;
  if (!tbs.Expect(kSequence, name)) return false;
  out.clear();
  switch (RenderName(name, out)) {
    case NameResult::kOk:
      return true;
    case NameResult::kUnprintable:
      out = kInvalidName;
      return true;
    case NameResult::kMalformed:
      return false;
  }
  return false;
}

// An AlgorithmIdentifier: SEQUENCE { OID, parameters OPTIONAL }.
bool Algorithm(Der& d) {
  std::string_view algorithm, oid;
  if (!d.Expect(kSequence, algorithm)) return false;
  Der fields(algorithm);
  return fields.Expect(kOid, oid) && !oid.empty() && WellFormed(algorithm);
}

bool Time(Der& d) {
  Tlv t;
  return d.Next(t) && (t.tag == kUtcTime || t.tag == kGeneralizedTime);
}

bool Extensions(std::string_view tagged) {
  Der outer(tagged);
  std::string_view list;
  if (!outer.Expect(kSequence, list) || !outer.empty()) return false;
  Der extensions(list);
  while (!extensions.empty()) {
    std::string_view extension, oid, value;
    if (!extensions.Expect(kSequence, extension)) return false;
    Der fields(extension);
    if (!fields.Expect(kOid, oid) || oid.empty()) return false;
    if (fields.PeekTag(kBoolean) && !fields.Expect(kBoolean, value)) return false;
    if (!fields.Expect(kOctetString, value)) return false;
  }
  return true;
}

}  // namespace

bool ParseX509(std::string_view der, X509Fields& out) {
  std::string_view certificate, tbs_bytes, signature;
  Der outer(der);
  if (!outer.Expect(kSequence, certificate)) return false;
  Der cert(certificate);
  if (!cert.Expect(kSequence, tbs_bytes)) return false;
  if (!Algorithm(cert) || !cert.Expect(kBitString, signature) || signature.empty()) return false;

  Der tbs(tbs_bytes);
  if (tbs.PeekTag(kVersionTag)) {
    std::string_view explicit_version, version;
    if (!tbs.Expect(kVersionTag, explicit_version)) return false;
    Der v(explicit_version);
    // A non-negative INTEGER that fits 32 bits (x509-parser reads it as a u32).
    if (!v.Expect(kInteger, version) || version.empty() || version.size() > 5 ||
        (uint8_t(version[0]) & 0x80) != 0 || (version.size() == 5 && version[0] != 0)) {
      return false;
    }
  }
  std::string_view serial, validity, key_info;
  if (!tbs.Expect(kInteger, serial) || !Algorithm(tbs) || !Name(tbs, out.issuer)) return false;
  if (!tbs.Expect(kSequence, validity)) return false;
  Der times(validity);
  if (!Time(times) || !Time(times)) return false;
  if (!Name(tbs, out.subject) || !tbs.Expect(kSequence, key_info)) return false;
  Der key(key_info);
  std::string_view key_bits;
  if (!Algorithm(key) || !key.Expect(kBitString, key_bits)) return false;
  // Unique identifiers: well-formed; extensions: each SEQUENCE { OID, critical BOOLEAN
  // OPTIONAL, OCTET STRING }, its value not decoded.
  Tlv rest;
  while (!tbs.empty()) {
    if (!tbs.Next(rest)) return false;
    if (rest.tag == kExtensionsTag && !Extensions(rest.content)) return false;
  }
  out.serial.clear();
  AppendHex(serial, out.serial, true);
  return true;
}

}  // namespace vigil::app

// Rule: the parsed form (AST) of one Snort 2.9 / Snort 3 / Suricata rule.
//
// The parser (rules/parser.h) produces Rules; the detection compiler (detect/) reads them and never
// changes them. A rule that parses but uses a keyword the detection engine cannot evaluate yet is
// kept with `enabled = false` and `disabled_reason` set, so it is counted and reported, never
// evaluated wrongly and never silently dropped.
//
//   action proto src_addr src_port -> dst_addr dst_port (option; option:value; ...)
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "base/ip_address.h"

namespace vigil::rules {

enum class Action : uint8_t {
  kAlert,
  kLog,
  kPass,
  kDrop,
  kReject,
  kSdrop,
  kRejectSrc,
  kRejectDst,
  kRejectBoth,
};

// The transport a rule applies to. Application protocols in the header (http, dns, tls, ...) are
// kept in Rule::service and imply their transport (tcp for http, udp+tcp for dns, ...).
enum class Protocol : uint8_t { kIp, kTcp, kUdp, kIcmp };

// An address expression, variables already substituted:
//   any | CIDR | [expr, expr, ...], each optionally negated with '!'.
// A list matches an address when some non-negated member matches it (or the list has no
// non-negated member) and no negated member matches it.
struct AddressExpr {
  enum class Kind : uint8_t { kAny, kCidr, kList };
  Kind kind = Kind::kAny;
  bool negated = false;
  base::IpAddress network;  // kCidr
  int prefix_len = 0;       // kCidr: 0..32 or 0..128
  std::vector<AddressExpr> members;  // kList

  [[nodiscard]] bool Matches(const base::IpAddress& ip) const;
  [[nodiscard]] bool IsAny() const { return kind == Kind::kAny && !negated; }
};

// A port expression: any | N | lo:hi | lo: | :hi | [expr, ...], each optionally negated; the same
// list rule as AddressExpr.
struct PortExpr {
  enum class Kind : uint8_t { kAny, kRange, kList };
  Kind kind = Kind::kAny;
  bool negated = false;
  uint16_t lo = 0;  // kRange, inclusive
  uint16_t hi = 0;  // kRange, inclusive
  std::vector<PortExpr> members;  // kList

  [[nodiscard]] bool Matches(uint16_t port) const;
  [[nodiscard]] bool IsAny() const { return kind == Kind::kAny && !negated; }
};

// content:"..." and its modifiers. Offsets are as written (negative offsets are allowed by Snort for
// distance). `buffer` names the buffer the content inspects: empty for the packet payload
// (pkt_data), otherwise the sticky buffer or modifier name in Suricata spelling ("http.uri", ...).
struct ContentOption {
  std::string pattern;  // raw bytes, |hex| and escapes decoded
  bool negated = false;
  bool nocase = false;
  bool rawbytes = false;
  std::optional<int32_t> offset;
  std::optional<int32_t> depth;
  std::optional<int32_t> distance;
  std::optional<int32_t> within;
  bool fast_pattern = false;
  bool fast_pattern_only = false;
  std::string buffer;

  [[nodiscard]] bool IsRelative() const { return distance.has_value() || within.has_value(); }
};

// One detection option in rule order. Issue-by-issue the variant grows (pcre, byte_test, flow...).
using Option = std::variant<ContentOption>;

struct Reference {
  std::string system;  // "url", "cve", ...
  std::string id;
};

struct Rule {
  Action action = Action::kAlert;
  Protocol protocol = Protocol::kIp;
  std::string service;  // application protocol named in the header, "" when none
  AddressExpr src_addr;
  PortExpr src_port;
  bool bidirectional = false;  // "<>" instead of "->"
  AddressExpr dst_addr;
  PortExpr dst_port;

  uint32_t gid = 1;
  uint32_t sid = 0;
  uint32_t rev = 0;
  std::string msg;
  std::string classtype;
  std::optional<int> priority;  // explicit "priority:"; else the classtype's
  std::vector<Reference> references;

  std::vector<Option> options;  // detection options, in rule order

  bool enabled = true;
  std::string disabled_reason;  // set when !enabled, e.g. "unsupported keyword pcre"

  // Where the rule came from, for messages.
  std::string file;
  uint32_t line = 0;
};

}  // namespace vigil::rules

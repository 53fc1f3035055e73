// Rule: the parsed form (AST) of one Snort 2.9 / Snort 3 / Suricata rule.
//
// The parser (rules/parser.h) produces Rules; the detection compiler (detect/) reads them and never
// changes them. A rule that parses but uses a keyword the detection engine cannot evaluate yet is
// kept with `enabled = false` and `disabled_reason` set (by the loader's support check, see
// rule_file.h and detect/support.h), so it is counted and reported, never evaluated wrongly and
// never silently dropped.
//
//   action proto src_addr src_port -> dst_addr dst_port (option; option:value; ...)
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/ip_address.h"
#include "rules/options.h"

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

// An application protocol that may stand in a rule header instead of a transport (Suricata's
// `alert http ...`). `transport` is what Rule::protocol becomes; `also_tcp` / `also_udp` say that
// the protocol also runs over the other transport (DNS over TCP, SIP over TCP, ...), so the rule
// applies to both. The table is in rule.cc; FindAppProtocol returns nullptr for other names.
struct AppProtocol {
  std::string_view name;
  Protocol transport;
  bool also_tcp = false;
  bool also_udp = false;
};
[[nodiscard]] const AppProtocol* FindAppProtocol(std::string_view name);

// The members of a list expression (or a port expression's flattened ranges), read like a
// std::vector. Copies share one vector, never changed while shared: every rule header holds its
// parsed addresses and ports, and a ruleset names the same variable ($HTTP_PORTS, 209 ports in
// Snort 2.9's list) in thousands of rules; a copy of the list for each of them was most of ET Open
// 2017's parse time. push_back on a shared list copies it first.
template <class T>
class SharedList {
 public:
  SharedList() = default;
  explicit SharedList(std::vector<T> items)
      : items_(items.empty() ? nullptr : std::make_shared<std::vector<T>>(std::move(items))) {}

  [[nodiscard]] const T* begin() const { return items_ ? items_->data() : nullptr; }
  [[nodiscard]] const T* end() const { return items_ ? items_->data() + items_->size() : nullptr; }
  [[nodiscard]] size_t size() const { return items_ ? items_->size() : 0; }
  [[nodiscard]] bool empty() const { return size() == 0; }
  [[nodiscard]] const T& operator[](size_t i) const { return (*items_)[i]; }

  void push_back(T item) {
    if (!items_) {
      items_ = std::make_shared<std::vector<T>>();
    } else if (items_.use_count() > 1) {
      items_ = std::make_shared<std::vector<T>>(*items_);
    }
    items_->push_back(std::move(item));
  }
  void clear() { items_.reset(); }

  friend bool operator==(const SharedList& a, const SharedList& b) {
    return a.items_ == b.items_ || std::equal(a.begin(), a.end(), b.begin(), b.end());
  }

 private:
  std::shared_ptr<std::vector<T>> items_;  // null when empty
};

// An address expression, variables already substituted:
//   any | CIDR | [expr, expr, ...], each optionally negated with '!'.
// A list matches an address when some non-negated member matches it (or the list has no
// non-negated member) and no negated member matches it. The parser merges a nested list that is
// not negated into its parent, as Suricata does (variables.h), so a list's members are never
// plain non-negated lists; a negated list member is evaluated on its own, then excluded.
struct AddressExpr {
  enum class Kind : uint8_t { kAny, kCidr, kList };
  Kind kind = Kind::kAny;
  bool negated = false;
  base::IpAddress network;          // kCidr
  int prefix_len = 0;               // kCidr: 0..32 or 0..128
  SharedList<AddressExpr> members;  // kList

  [[nodiscard]] bool Matches(const base::IpAddress& ip) const;
  [[nodiscard]] bool IsAny() const { return kind == Kind::kAny && !negated; }

  friend bool operator==(const AddressExpr&, const AddressExpr&) = default;
};

// A port expression: any | N | lo:hi | lo: | :hi | [expr, ...], each optionally negated; the same
// list rule as AddressExpr.
struct PortExpr {
  enum class Kind : uint8_t { kAny, kRange, kList };
  Kind kind = Kind::kAny;
  bool negated = false;
  uint16_t lo = 0;               // kRange, inclusive
  uint16_t hi = 0;               // kRange, inclusive
  SharedList<PortExpr> members;  // kList
  // The ports the expression matches as sorted, disjoint, inclusive ranges, once Flatten() has
  // run (ParsePort does): Matches is then a binary search, not a walk of every list member (a
  // header with $HTTP_PORTS is a list of dozens). Not part of equality: it follows from the rest.
  SharedList<std::pair<uint16_t, uint16_t>> flat;
  bool flattened = false;

  [[nodiscard]] bool Matches(uint16_t port) const;
  [[nodiscard]] bool IsAny() const { return kind == Kind::kAny && !negated; }
  void Flatten();

  friend bool operator==(const PortExpr& a, const PortExpr& b) {
    return a.kind == b.kind && a.negated == b.negated && a.lo == b.lo && a.hi == b.hi &&
           a.members == b.members;
  }

 private:
  [[nodiscard]] bool MatchesExpr(uint16_t port) const;
};

struct Reference {
  std::string system;  // "url", "cve", ...
  std::string id;      // as written (escapes kept)

  friend bool operator==(const Reference&, const Reference&) = default;
};

struct Rule {
  Action action = Action::kAlert;
  Protocol protocol = Protocol::kIp;
  std::string service;  // application protocol named in the header, "" when none
  // Suricata's narrowed header protocols ("tcp-pkt", "tcp-stream", "ipv4", "ipv6", "icmpv4",
  // "icmpv6"), "" for the plain ones. `protocol` holds the transport underneath; the detector
  // cannot evaluate the narrowing yet, so such rules are disabled.
  std::string protocol_variant;
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
  std::vector<std::string> metadata;  // each metadata option's value as written
  std::vector<std::string> services;  // Snort 3 `service:` option, e.g. {"http", "ssl"}

  std::string target;  // Suricata `target:` "src_ip" / "dest_ip", "" when none

  std::vector<Option> options;  // detection options, in rule order (options.h)

  // Set by the rule loader's support check (rule_file.h), never by the parser: a rule the
  // detector cannot evaluate is kept with enabled = false and the reason, e.g.
  // "unsupported keyword pcre".
  bool enabled = true;
  std::string disabled_reason;

  // Where the rule came from, for messages.
  std::string file;
  uint32_t line = 0;

  // True when the rule applies to packets of transport `p`: its own protocol, any for ip, and the
  // second transport of an application protocol that runs over both (see AppProtocol).
  [[nodiscard]] bool AppliesToTransport(Protocol p) const;

  friend bool operator==(const Rule&, const Rule&) = default;
};

// The canonical text of a rule: one line that ParseRule reads back to an equal Rule (given the same
// file and line). Addresses and ports are printed resolved (no variables), contents in the
// Snort 2 / Suricata spelling (`content:"a|0D 0A|"; nocase; depth:10;`), non-printable and
// special bytes as |hex|, buffers as sticky buffer keywords in Suricata spelling (`http.uri;`)
// printed where the buffer changes, options in the order msg, detection options, reference,
// classtype, priority, metadata, service, target, gid, sid, rev. `enabled` and
// `disabled_reason` are not part of the text.
[[nodiscard]] std::string ToText(const Rule& rule);
[[nodiscard]] std::string ToText(const AddressExpr& expr);
[[nodiscard]] std::string ToText(const PortExpr& expr);
[[nodiscard]] std::string_view ActionName(Action action);
[[nodiscard]] std::string_view ProtocolName(Protocol protocol);

}  // namespace vigil::rules

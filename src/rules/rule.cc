#include "rules/rule.h"

#include <algorithm>
#include <array>
#include <cstdio>

namespace vigil::rules {

namespace {

// Application protocols a header may name, after Suricata's app-layer list (plus Snort 3's "ssl").
// The transport is the one the protocol is normally carried on; the flags add the other one where
// Suricata's parsers run over both. Sorted by name for the binary search.
constexpr std::array kAppProtocols = {
    AppProtocol{"bittorrent-dht", Protocol::kUdp},
    AppProtocol{"dcerpc", Protocol::kTcp, false, true},
    AppProtocol{"dhcp", Protocol::kUdp},
    AppProtocol{"dnp3", Protocol::kTcp},
    AppProtocol{"dns", Protocol::kUdp, true, false},
    AppProtocol{"enip", Protocol::kTcp, false, true},
    AppProtocol{"file", Protocol::kIp},  // Snort 3 `alert file (...)`: file data of any service
    AppProtocol{"ftp", Protocol::kTcp},
    AppProtocol{"ftp-data", Protocol::kTcp},
    AppProtocol{"http", Protocol::kTcp},
    AppProtocol{"http1", Protocol::kTcp},
    AppProtocol{"http2", Protocol::kTcp},
    AppProtocol{"ike", Protocol::kUdp},
    AppProtocol{"ikev2", Protocol::kUdp},
    AppProtocol{"imap", Protocol::kTcp},
    AppProtocol{"irc", Protocol::kTcp},
    AppProtocol{"krb5", Protocol::kUdp, true, false},
    AppProtocol{"ldap", Protocol::kTcp, false, true},
    AppProtocol{"modbus", Protocol::kTcp},
    AppProtocol{"mqtt", Protocol::kTcp},
    AppProtocol{"nfs", Protocol::kTcp, false, true},
    AppProtocol{"ntp", Protocol::kUdp},
    AppProtocol{"pgsql", Protocol::kTcp},
    AppProtocol{"pop3", Protocol::kTcp},
    AppProtocol{"quic", Protocol::kUdp},
    AppProtocol{"rdp", Protocol::kTcp},
    AppProtocol{"rfb", Protocol::kTcp},
    AppProtocol{"sip", Protocol::kUdp, true, false},
    AppProtocol{"smb", Protocol::kTcp},
    AppProtocol{"smtp", Protocol::kTcp},
    AppProtocol{"snmp", Protocol::kUdp},
    AppProtocol{"ssh", Protocol::kTcp},
    AppProtocol{"ssl", Protocol::kTcp},
    AppProtocol{"telnet", Protocol::kTcp},
    AppProtocol{"tftp", Protocol::kUdp},
    AppProtocol{"tls", Protocol::kTcp},
    AppProtocol{"websocket", Protocol::kTcp},
};

bool ListMatches(const auto& members, const auto& value) {
  bool has_positive = false;
  bool positive_hit = false;
  for (const auto& m : members) {
    if (m.negated) {
      // A negated member "matches" when its inner expression does not; a value its inner
      // expression covers is excluded from the whole list.
      if (!m.Matches(value)) return false;
    } else {
      has_positive = true;
      if (!positive_hit && m.Matches(value)) positive_hit = true;
    }
  }
  return !has_positive || positive_hit;
}

void AppendEscapedString(std::string& out, std::string_view s) {
  out += '"';
  for (char c : s) {
    if (c == '"' || c == '\\' || c == ';') out += '\\';
    out += c;
  }
  out += '"';
}

// A PCRE whose flags name its buffer (/U, /H, ...) carries it whatever the sticky buffer is.
bool BufferFromFlags(const Option& o) {
  const auto* p = std::get_if<PcreOption>(&o);
  if (p == nullptr) return false;
  return p->flags.find_first_of("UIPQHDMCKSYVWZ") != std::string::npos;
}

}  // namespace

const AppProtocol* FindAppProtocol(std::string_view name) {
  auto it = std::lower_bound(kAppProtocols.begin(), kAppProtocols.end(), name,
                             [](const AppProtocol& p, std::string_view n) { return p.name < n; });
  if (it == kAppProtocols.end() || it->name != name) return nullptr;
  return &*it;
}

bool AddressExpr::Matches(const base::IpAddress& ip) const {
  bool raw = true;
  switch (kind) {
    case Kind::kAny:
      raw = true;
      break;
    case Kind::kCidr:
      raw = ip.InPrefix(network, prefix_len);
      break;
    case Kind::kList:
      raw = ListMatches(members, ip);
      break;
  }
  return negated ? !raw : raw;
}

bool PortExpr::Matches(uint16_t port) const {
  if (!flattened) return MatchesExpr(port);
  // The last range starting at or below `port`.
  auto it = std::upper_bound(flat.begin(), flat.end(), port,
                             [](uint16_t v, const auto& r) { return v < r.first; });
  return it != flat.begin() && port <= std::prev(it)->second;
}

namespace {

using PortRanges = std::vector<std::pair<uint16_t, uint16_t>>;

// Sorts and merges overlapping or adjacent ranges.
PortRanges Normalized(PortRanges r) {
  std::sort(r.begin(), r.end());
  PortRanges out;
  for (const auto& [lo, hi] : r) {
    if (!out.empty() && uint32_t{lo} <= uint32_t{out.back().second} + 1) {
      out.back().second = std::max(out.back().second, hi);
    } else {
      out.emplace_back(lo, hi);
    }
  }
  return out;
}

// The ports of [0, 65535] that normalized `r` leaves out.
PortRanges Complement(const PortRanges& r) {
  PortRanges out;
  uint32_t next = 0;
  for (const auto& [lo, hi] : r) {
    if (lo > next) out.emplace_back(uint16_t(next), uint16_t(lo - 1));
    next = uint32_t{hi} + 1;
  }
  if (next <= 65535) out.emplace_back(uint16_t(next), uint16_t{65535});
  return out;
}

}  // namespace

// Set algebra on sorted ranges, in time linear in the expression's size (up to a sort): a list
// is the union of its positive members (every port when it has none) less the ports its
// negated members exclude, as ListMatches walks it. Evaluating the expression at every range
// bound instead costs bounds x members, seconds for ET Open's port-grouped lists.
void PortExpr::Flatten() {
  auto ranges_of = [](const PortExpr& e, auto&& self) -> PortRanges {
    PortRanges raw;
    switch (e.kind) {
      case Kind::kAny:
        raw = {{0, 65535}};
        break;
      case Kind::kRange:
        if (e.lo <= e.hi) raw = {{e.lo, e.hi}};
        break;
      case Kind::kList: {
        PortRanges positive, excluded;
        bool has_positive = false;
        for (const PortExpr& m : e.members) {
          if (m.kind == Kind::kRange && !m.negated) {  // most members: no recursion
            has_positive = true;
            if (m.lo <= m.hi) positive.emplace_back(m.lo, m.hi);
            continue;
          }
          PortRanges r = self(m, self);
          if (m.negated) {
            // A negated member admits r; the list keeps only what every negated member admits.
            PortRanges out = Complement(r);
            excluded.insert(excluded.end(), out.begin(), out.end());
          } else {
            has_positive = true;
            positive.insert(positive.end(), r.begin(), r.end());
          }
        }
        PortRanges kept = has_positive ? Normalized(std::move(positive)) : PortRanges{{0, 65535}};
        PortRanges admitted = Complement(Normalized(std::move(excluded)));
        // kept ∩ admitted, both sorted and disjoint.
        for (size_t i = 0, j = 0; i < kept.size() && j < admitted.size();) {
          const uint16_t lo = std::max(kept[i].first, admitted[j].first);
          const uint16_t hi = std::min(kept[i].second, admitted[j].second);
          if (lo <= hi) raw.emplace_back(lo, hi);
          (kept[i].second < admitted[j].second ? i : j)++;
        }
        break;
      }
    }
    return e.negated ? Complement(raw) : raw;
  };
  flat = SharedList(ranges_of(*this, ranges_of));
  flattened = true;
}

bool PortExpr::MatchesExpr(uint16_t port) const {
  bool raw = true;
  switch (kind) {
    case Kind::kAny:
      raw = true;
      break;
    case Kind::kRange:
      raw = port >= lo && port <= hi;
      break;
    case Kind::kList:
      raw = ListMatches(members, port);
      break;
  }
  return negated ? !raw : raw;
}

bool Rule::AppliesToTransport(Protocol p) const {
  if (protocol == Protocol::kIp || protocol == p) return true;
  if (service.empty()) return false;
  const AppProtocol* app = FindAppProtocol(service);
  if (app == nullptr) return false;
  return (p == Protocol::kTcp && app->also_tcp) || (p == Protocol::kUdp && app->also_udp);
}

std::string_view ActionName(Action action) {
  switch (action) {
    case Action::kAlert:
      return "alert";
    case Action::kLog:
      return "log";
    case Action::kPass:
      return "pass";
    case Action::kDrop:
      return "drop";
    case Action::kReject:
      return "reject";
    case Action::kSdrop:
      return "sdrop";
    case Action::kRejectSrc:
      return "rejectsrc";
    case Action::kRejectDst:
      return "rejectdst";
    case Action::kRejectBoth:
      return "rejectboth";
  }
  return "?";
}

std::string_view ProtocolName(Protocol protocol) {
  switch (protocol) {
    case Protocol::kIp:
      return "ip";
    case Protocol::kTcp:
      return "tcp";
    case Protocol::kUdp:
      return "udp";
    case Protocol::kIcmp:
      return "icmp";
  }
  return "?";
}

std::string ToText(const AddressExpr& expr) {
  std::string out = expr.negated ? "!" : "";
  switch (expr.kind) {
    case AddressExpr::Kind::kAny:
      out += "any";
      break;
    case AddressExpr::Kind::kCidr:
      out += expr.network.ToString();
      if (expr.prefix_len != expr.network.bit_width()) {
        out += '/';
        out += std::to_string(expr.prefix_len);
      }
      break;
    case AddressExpr::Kind::kList:
      out += '[';
      for (size_t i = 0; i < expr.members.size(); ++i) {
        if (i > 0) out += ',';
        out += ToText(expr.members[i]);
      }
      out += ']';
      break;
  }
  return out;
}

std::string ToText(const PortExpr& expr) {
  std::string out = expr.negated ? "!" : "";
  switch (expr.kind) {
    case PortExpr::Kind::kAny:
      out += "any";
      break;
    case PortExpr::Kind::kRange:
      out += std::to_string(expr.lo);
      if (expr.hi != expr.lo) {
        out += ':';
        out += std::to_string(expr.hi);
      }
      break;
    case PortExpr::Kind::kList:
      out += '[';
      for (size_t i = 0; i < expr.members.size(); ++i) {
        if (i > 0) out += ',';
        out += ToText(expr.members[i]);
      }
      out += ']';
      break;
  }
  return out;
}

std::string ToText(const Rule& rule) {
  std::string out;
  out.reserve(256);
  out += ActionName(rule.action);
  out += ' ';
  if (!rule.protocol_variant.empty()) {
    out += rule.protocol_variant;
  } else if (!rule.service.empty()) {
    out += rule.service;
  } else {
    out += ProtocolName(rule.protocol);
  }
  out += ' ';
  out += ToText(rule.src_addr);
  out += ' ';
  out += ToText(rule.src_port);
  out += rule.bidirectional ? " <> " : " -> ";
  out += ToText(rule.dst_addr);
  out += ' ';
  out += ToText(rule.dst_port);
  out += " (";
  const size_t options_start = out.size();
  if (!rule.msg.empty()) {
    out += "msg:";
    AppendEscapedString(out, rule.msg);
    out += ';';
  }
  // Buffers print as sticky buffer keywords where they change (see options.h). A transform
  // after options already printed in its buffer starts the buffer again, so that it applies to
  // the options after it only.
  std::string_view current;
  bool used = false;
  for (const Option& option : rule.options) {
    const std::string* buffer = OptionBuffer(option);
    if (buffer != nullptr && !BufferFromFlags(option)) {
      bool transform = std::holds_alternative<TransformOption>(option);
      if (*buffer != current || (transform && used)) {
        out += ' ';
        out += buffer->empty() ? std::string_view("pkt_data") : std::string_view(*buffer);
        out += ';';
        current = *buffer;
        used = false;
      }
      if (!transform) used = true;
    }
    out += ' ';
    out += ToText(option);
    out += ';';
  }
  for (const Reference& ref : rule.references)
    out += " reference:" + ref.system + "," + ref.id + ";";
  if (!rule.classtype.empty()) out += " classtype:" + rule.classtype + ";";
  if (rule.priority) out += " priority:" + std::to_string(*rule.priority) + ";";
  for (const std::string& m : rule.metadata) out += " metadata:" + m + ";";
  if (!rule.services.empty()) {
    out += " service:";
    for (size_t i = 0; i < rule.services.size(); ++i) {
      if (i > 0) out += ',';
      out += rule.services[i];
    }
    out += ';';
  }
  if (!rule.target.empty()) out += " target:" + rule.target + ";";
  if (rule.gid != 1) out += " gid:" + std::to_string(rule.gid) + ";";
  out += " sid:" + std::to_string(rule.sid) + ";";
  out += " rev:" + std::to_string(rule.rev) + ";)";
  // Every option above is printed after a space; the first one follows '(' directly.
  if (out[options_start] == ' ') out.erase(options_start, 1);
  return out;
}

}  // namespace vigil::rules

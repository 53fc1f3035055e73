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

// Bytes printed as themselves inside a quoted content; everything else is printed as |hex| so the
// text never needs an escape (`"`, `;`, `\`, `:` and `|` are special in the rule language).
bool IsPlainContentByte(unsigned char c) {
  return c >= 0x20 && c < 0x7f && c != '"' && c != ';' && c != '\\' && c != '|' && c != ':';
}

void AppendQuotedPattern(std::string& out, std::string_view pattern) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  out += '"';
  bool in_hex = false;
  for (unsigned char c : pattern) {
    if (IsPlainContentByte(c)) {
      if (in_hex) out += '|';
      in_hex = false;
      out += char(c);
    } else {
      if (in_hex) {
        out += ' ';
      } else {
        out += '|';
        in_hex = true;
      }
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  if (in_hex) out += '|';
  out += '"';
}

void AppendEscapedString(std::string& out, std::string_view s) {
  out += '"';
  for (char c : s) {
    if (c == '"' || c == '\\' || c == ';') out += '\\';
    out += c;
  }
  out += '"';
}

void AppendRaw(std::string& out, const RawOption& raw) {
  out += ' ';
  out += raw.keyword;
  if (raw.has_value) {
    out += ':';
    out += raw.value;
  }
  out += ';';
}

void AppendContent(std::string& out, const ContentOption& c) {
  out += " content:";
  if (c.negated) out += '!';
  AppendQuotedPattern(out, c.pattern);
  // Snort 2 has no spelling for a fast-pattern slice without fast_pattern, or for only one half of
  // it; Snort 3's content sub-options do, so those rare shapes use them.
  bool fp_pair = c.fast_pattern && !c.fast_pattern_only && c.fast_pattern_offset.has_value() &&
                 c.fast_pattern_length.has_value();
  if (!fp_pair) {
    if (c.fast_pattern_offset)
      out += ",fast_pattern_offset " + std::to_string(*c.fast_pattern_offset);
    if (c.fast_pattern_length)
      out += ",fast_pattern_length " + std::to_string(*c.fast_pattern_length);
  }
  out += ';';
  if (c.nocase) out += " nocase;";
  if (c.rawbytes) out += " rawbytes;";
  if (c.offset) out += " offset:" + std::to_string(*c.offset) + ";";
  if (c.depth) out += " depth:" + std::to_string(*c.depth) + ";";
  if (c.distance) out += " distance:" + std::to_string(*c.distance) + ";";
  if (c.within) out += " within:" + std::to_string(*c.within) + ";";
  if (c.fast_pattern_only) {
    out += " fast_pattern:only;";
  } else if (fp_pair) {
    out += " fast_pattern:" + std::to_string(*c.fast_pattern_offset) + "," +
           std::to_string(*c.fast_pattern_length) + ";";
  } else if (c.fast_pattern) {
    out += " fast_pattern;";
  }
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
  if (!rule.msg.empty()) {
    out += "msg:";
    AppendEscapedString(out, rule.msg);
    out += ';';
  }
  size_t raw = 0;
  const auto& raws = rule.unsupported_options;
  for (size_t i = 0; i <= rule.options.size(); ++i) {
    while (raw < raws.size() && raws[raw].position <= i) AppendRaw(out, raws[raw++]);
    if (i == rule.options.size()) break;
    std::visit([&](const auto& opt) { AppendContent(out, opt); }, rule.options[i]);
  }
  while (raw < raws.size()) AppendRaw(out, raws[raw++]);
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
  if (rule.gid != 1) out += " gid:" + std::to_string(rule.gid) + ";";
  out += " sid:" + std::to_string(rule.sid) + ";";
  out += " rev:" + std::to_string(rule.rev) + ";)";
  return out;
}

}  // namespace vigil::rules

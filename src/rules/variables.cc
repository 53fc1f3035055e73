#include "rules/variables.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <utility>

#include "rules/lexer.h"

namespace vigil::rules {

namespace {

// Deeper nesting than any real ruleset uses; the bound keeps hostile input from exhausting the
// stack.
constexpr int kMaxNesting = 64;

constexpr std::string_view kSnortHttpPorts =
    "[36,80,81,82,83,84,85,86,87,88,89,90,311,323,383,443,444,555,591,593,623,631,664,801,808,818,"
    "901,972,1158,1220,1270,1414,1533,1581,1719,1720,1741,1801,1812,1830,1942,2231,2301,2375,2381,"
    "2578,2809,2869,2980,3000,3029,3037,3057,3128,3323,3443,3702,4000,4343,4444,4592,4848,5000,"
    "5054,5060,5061,5117,5222,5250,5416,5443,5450,5480,5555,5600,5814,5894,5984,5985,5986,6060,"
    "6080,6173,6988,7000,7001,7005,7070,7071,7080,7144,7145,7180,7181,7510,7770,7777,7778,7779,"
    "8000,8001,8008,8014,8015,8020,8028,8040,8080,8081,8082,8085,8088,8090,8095,8118,8123,8161,"
    "8180,8181,8182,8222,8243,8280,8300,8333,8344,8393,8400,8443,8484,8500,8509,8511,8694,8787,"
    "8800,8848,8852,8880,8888,8899,8983,9000,9001,9002,9050,9060,9080,9090,9091,9111,9200,9201,"
    "9290,9443,9447,9502,9700,9710,9788,9830,9850,9990,9999,10000,10080,10100,10250,10255,10297,"
    "10443,11371,12601,13014,14592,15489,16000,16992,16993,16994,16995,17000,18081,19980,20000,"
    "29991,30007,30018,30888,33300,34412,34443,34444,36099,37215,40007,41080,44449,49152,49153,"
    "50000,50002,50452,51423,53331,54444,55252,55555,56712]";

struct Default {
  std::string_view name;
  std::string_view value;
};

// snort.conf (Snort 2.9 community) first, then the groups only Suricata's suricata.yaml defines.
constexpr Default kDefaultAddresses[] = {
    {"HOME_NET", "any"},
    {"EXTERNAL_NET", "any"},
    {"DNS_SERVERS", "$HOME_NET"},
    {"SMTP_SERVERS", "$HOME_NET"},
    {"HTTP_SERVERS", "$HOME_NET"},
    {"SQL_SERVERS", "$HOME_NET"},
    {"TELNET_SERVERS", "$HOME_NET"},
    {"SSH_SERVERS", "$HOME_NET"},
    {"FTP_SERVERS", "$HOME_NET"},
    {"SIP_SERVERS", "$HOME_NET"},
    {"AIM_SERVERS",
     "[64.12.24.0/23,64.12.28.0/23,64.12.161.0/24,64.12.163.0/24,64.12.200.0/24,205.188.3.0/24,"
     "205.188.5.0/24,205.188.7.0/24,205.188.9.0/24,205.188.153.0/24,205.188.179.0/24,"
     "205.188.248.0/24]"},
    {"DC_SERVERS", "$HOME_NET"},
    {"DNP3_SERVER", "$HOME_NET"},
    {"DNP3_CLIENT", "$HOME_NET"},
    {"MODBUS_CLIENT", "$HOME_NET"},
    {"MODBUS_SERVER", "$HOME_NET"},
    {"ENIP_CLIENT", "$HOME_NET"},
    {"ENIP_SERVER", "$HOME_NET"},
};

constexpr Default kDefaultPorts[] = {
    {"HTTP_PORTS", kSnortHttpPorts},   {"SHELLCODE_PORTS", "!80"},
    {"ORACLE_PORTS", "1024:"},         {"SSH_PORTS", "22"},
    {"FTP_PORTS", "[21,2100,3535]"},   {"SIP_PORTS", "[5060,5061,5600]"},
    {"MAIL_PORTS", "[110,143]"},       {"FILE_DATA_PORTS", "[$HTTP_PORTS,110,143]"},
    {"GTP_PORTS", "[2123,2152,3386]"}, {"DNP3_PORTS", "20000"},
    {"MODBUS_PORTS", "502"},           {"GENEVE_PORTS", "6081"},
    {"VXLAN_PORTS", "4789"},           {"TEREDO_PORTS", "3544"},
};

bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

bool IsValidName(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (!IsNameChar(c)) return false;
  }
  return true;
}

base::Error ErrorAt(size_t offset, std::string message) {
  base::Error e{std::move(message)};
  e.column = uint32_t(offset + 1);
  return e;
}

// Parses a decimal number with no sign; false on anything else or overflow past `max`.
bool ParseUnsigned(std::string_view s, uint32_t max, uint32_t& out) {
  if (s.empty() || s.size() > 10) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + uint64_t(c - '0');
  }
  if (v > max) return false;
  out = uint32_t(v);
  return true;
}

void ClearHostBits(base::IpAddress& ip, int prefix_len) {
  int width = ip.bit_width();
  for (int bit = prefix_len; bit < width; ++bit) {
    ip.bytes[size_t(bit / 8)] &= uint8_t(~(0x80 >> (bit % 8)));
  }
}

std::string_view KindName(const AddressExpr*) { return "address"; }
std::string_view KindName(const PortExpr*) { return "port"; }

base::Result<AddressExpr> ParseAddressAtom(Token token) {
  std::string_view t = token.text;
  if (t == "any") return AddressExpr{};
  size_t slash = t.find('/');
  std::string_view ip_text = t.substr(0, slash);
  auto ip = base::IpAddress::Parse(ip_text);
  if (!ip) {
    return ErrorAt(token.offset, "invalid address '" + std::string(t) + "'");
  }
  AddressExpr e;
  e.kind = AddressExpr::Kind::kCidr;
  e.prefix_len = ip->bit_width();
  if (slash != std::string_view::npos) {
    uint32_t len = 0;
    std::string_view len_text = t.substr(slash + 1);
    if (!ParseUnsigned(len_text, uint32_t(ip->bit_width()), len)) {
      return ErrorAt(token.offset + slash + 1, "invalid prefix length '" + std::string(len_text) +
                                                   "' (0 to " + std::to_string(ip->bit_width()) +
                                                   ")");
    }
    e.prefix_len = int(len);
  }
  ClearHostBits(*ip, e.prefix_len);
  e.network = *ip;
  return e;
}

base::Result<PortExpr> ParsePortAtom(Token token) {
  std::string_view t = token.text;
  if (t == "any") return PortExpr{};
  PortExpr e;
  e.kind = PortExpr::Kind::kRange;
  size_t colon = t.find(':');
  auto number = [&](std::string_view s, size_t at, uint16_t& out) -> base::Status {
    uint32_t v = 0;
    if (!ParseUnsigned(s, 65535, v)) {
      return ErrorAt(token.offset + at, "invalid port '" + std::string(s) + "' (0 to 65535)");
    }
    out = uint16_t(v);
    return {};
  };
  if (colon == std::string_view::npos) {
    if (auto st = number(t, 0, e.lo); !st) return st.error();
    e.hi = e.lo;
    return e;
  }
  std::string_view lo = t.substr(0, colon);
  std::string_view hi = t.substr(colon + 1);
  if (lo.empty() && hi.empty()) return ErrorAt(token.offset, "port range ':' has no bounds");
  e.lo = 0;
  e.hi = 65535;
  if (!lo.empty()) {
    if (auto st = number(lo, 0, e.lo); !st) return st.error();
  }
  if (!hi.empty()) {
    if (auto st = number(hi, colon + 1, e.hi); !st) return st.error();
  }
  if (e.lo > e.hi) {
    return ErrorAt(token.offset,
                   "port range '" + std::string(t) + "' has its low bound above its high bound");
  }
  return e;
}

base::Result<AddressExpr> ParseAtom(Token token, const AddressExpr*) {
  return ParseAddressAtom(token);
}
base::Result<PortExpr> ParseAtom(Token token, const PortExpr*) { return ParsePortAtom(token); }

// Recursive-descent parser for one address or port expression. `Lookup` resolves $NAME:
// `lookup.template Find<Expr>(name)` returns the resolved expression or an Error (whose column the
// parser replaces with that of the '$').
template <class Expr, class Lookup>
class ExprParser {
 public:
  ExprParser(std::string_view text, Lookup& lookup) : text_(text), lookup_(lookup) {}

  base::Result<Expr> ParseAll() {
    SkipSpace();
    if (pos_ >= text_.size()) return ErrorAt(pos_, "empty " + std::string(Kind()) + " expression");
    auto e = ParseOne(0);
    if (!e) return e;
    SkipSpace();
    if (pos_ < text_.size()) {
      return ErrorAt(pos_, "unexpected '" + std::string(1, text_[pos_]) + "' in " +
                               std::string(Kind()) + " expression");
    }
    return e;
  }

 private:
  static std::string_view Kind() { return KindName(static_cast<const Expr*>(nullptr)); }

  void SkipSpace() {
    while (pos_ < text_.size() && IsSpace(text_[pos_])) ++pos_;
  }

  base::Result<Expr> ParseOne(int depth) {
    if (depth > kMaxNesting)
      return ErrorAt(pos_, std::string(Kind()) + " expression nested too deeply");
    SkipSpace();
    if (pos_ >= text_.size()) {
      return ErrorAt(pos_, "missing " + std::string(Kind()) + " at the end of the expression");
    }
    size_t start = pos_;
    char c = text_[pos_];
    if (c == '!') {
      ++pos_;
      auto inner = ParseOne(depth + 1);
      if (!inner) return inner;
      if (inner->kind == Expr::Kind::kAny && !inner->negated) {
        return ErrorAt(start, "'" + std::string(text_.substr(start, pos_ - start)) +
                                  "' negates 'any' and so matches nothing");
      }
      inner->negated = !inner->negated;
      return inner;
    }
    if (c == '[') return ParseList(depth);
    if (c == '$') {
      ++pos_;
      size_t name_start = pos_;
      while (pos_ < text_.size() && IsNameChar(text_[pos_])) ++pos_;
      std::string_view name = text_.substr(name_start, pos_ - name_start);
      if (name.empty()) return ErrorAt(start, "'$' must be followed by a variable name");
      auto found = lookup_.template Find<Expr>(name);
      if (!found) {
        base::Error e = found.error();
        e.column = uint32_t(start + 1);
        return e;
      }
      return **found;
    }
    if (c == ',' || c == ']') {
      return ErrorAt(pos_,
                     "missing " + std::string(Kind()) + " before '" + std::string(1, c) + "'");
    }
    while (pos_ < text_.size() && !IsSpace(text_[pos_]) && text_[pos_] != ',' &&
           text_[pos_] != ']' && text_[pos_] != '[') {
      ++pos_;
    }
    return ParseAtom(Token{text_.substr(start, pos_ - start), start},
                     static_cast<const Expr*>(nullptr));
  }

  base::Result<Expr> ParseList(int depth) {
    size_t open = pos_++;
    Expr list;
    list.kind = Expr::Kind::kList;
    while (true) {
      SkipSpace();
      if (pos_ < text_.size() && text_[pos_] == ']' && list.members.empty()) {
        return ErrorAt(open, "empty " + std::string(Kind()) + " list");
      }
      auto member = ParseOne(depth + 1);
      if (!member) return member;
      if (member->kind == Expr::Kind::kList && !member->negated) {
        // As Suricata and Snort do, a nested list that is not negated (often a variable's value)
        // joins the outer list: its exclusions exclude from the whole list.
        for (const Expr& m : member->members) list.members.push_back(m);
      } else {
        list.members.push_back(std::move(*member));
      }
      SkipSpace();
      if (pos_ >= text_.size()) return ErrorAt(open, "unterminated '[' list");
      if (text_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (text_[pos_] == ']') {
        ++pos_;
        return list;
      }
      return ErrorAt(pos_, "expected ',' or ']' in " + std::string(Kind()) + " list, found '" +
                               std::string(1, text_[pos_]) + "'");
    }
  }

  std::string_view text_;
  size_t pos_ = 0;
  Lookup& lookup_;
};

// Looks $NAME up in an already resolved Variables.
struct FinalLookup {
  const Variables& vars;

  template <class Expr>
  base::Result<const Expr*> Find(std::string_view name) {
    const Expr* e = nullptr;
    bool other = false;
    if constexpr (std::is_same_v<Expr, AddressExpr>) {
      e = vars.FindAddress(name);
      other = vars.FindPort(name) != nullptr;
    } else {
      e = vars.FindPort(name);
      other = vars.FindAddress(name) != nullptr;
    }
    if (e != nullptr) return e;
    std::string kind(KindName(static_cast<const Expr*>(nullptr)));
    if (other) {
      return base::MakeError("$" + std::string(name) + " is not a " + kind +
                             " variable (it is defined as the other kind)");
    }
    return base::MakeError("undefined " + kind + " variable $" + std::string(name));
  }
};

}  // namespace

// Resolves variable texts into expressions, following references depth-first and reporting
// cycles. Used by Variables::Rebuild only.
class VariableResolver {
 public:
  VariableResolver(const Variables::AddressMap& address_texts, const Variables::PortMap& port_texts,
                   Variables::AddressMap& addresses, Variables::PortMap& ports)
      : address_texts_(address_texts),
        port_texts_(port_texts),
        addresses_(addresses),
        ports_(ports) {}

  template <class Expr>
  base::Result<const Expr*> Find(std::string_view name) {
    if constexpr (std::is_same_v<Expr, AddressExpr>) {
      return Resolve<AddressExpr>(name, address_texts_, addresses_, port_texts_);
    } else {
      return Resolve<PortExpr>(name, port_texts_, ports_, address_texts_);
    }
  }

 private:
  template <class Expr, class Map, class OtherMap>
  base::Result<const Expr*> Resolve(std::string_view name, const Map& texts, Map& done,
                                    const OtherMap& other_texts) {
    if (auto it = done.find(name); it != done.end()) return &it->second.expr;
    std::string kind(KindName(static_cast<const Expr*>(nullptr)));
    auto text = texts.find(name);
    if (text == texts.end()) {
      if (other_texts.contains(name)) {
        return base::MakeError("$" + std::string(name) + " is not a " + kind +
                               " variable (it is defined as the other kind)");
      }
      return base::MakeError("undefined " + kind + " variable $" + std::string(name));
    }
    std::string key = kind + ":" + std::string(name);
    if (std::find(visiting_.begin(), visiting_.end(), key) != visiting_.end()) {
      std::string chain;
      for (const auto& v : visiting_) chain += v.substr(v.find(':') + 1) + " -> ";
      return base::MakeError("variable definitions form a cycle: " + chain + std::string(name));
    }
    visiting_.push_back(key);
    ExprParser<Expr, VariableResolver> parser(text->second.text, *this);
    auto expr = parser.ParseAll();
    visiting_.pop_back();
    if (!expr) {
      base::Error e = expr.error();
      if (!visiting_.empty()) {
        // Report inner failures against the outermost variable's text (the caller's column).
        e.message = "in $" + std::string(name) + ": " + e.message;
      }
      return e;
    }
    auto [it, inserted] =
        done.emplace(std::string(name), typename Map::mapped_type{text->second.text, *expr});
    return &it->second.expr;
  }

  const Variables::AddressMap& address_texts_;
  const Variables::PortMap& port_texts_;
  Variables::AddressMap& addresses_;
  Variables::PortMap& ports_;
  std::vector<std::string> visiting_;
};

Variables::Variables() {
  for (const Default& d : kDefaultAddresses) {
    addresses_[std::string(d.name)].text = std::string(d.value);
  }
  for (const Default& d : kDefaultPorts) ports_[std::string(d.name)].text = std::string(d.value);
  AddressMap addresses = addresses_;
  PortMap ports = ports_;
  if (auto st = Rebuild(addresses, ports); !st) {
    // The defaults are constants checked by rules_test; failing here is a programming error.
    std::fprintf(stderr, "vigil: built-in rule variables do not resolve: %s\n",
                 st.error().ToString().c_str());
    std::abort();
  }
}

Variables Variables::Empty() { return Variables(Tag{}); }

namespace {

// An error met while re-resolving a variable other than the one being set: its column is in that
// variable's text, so it moves into the message.
base::Error InOtherVariable(const std::string& name, base::Error e) {
  std::string where = e.column > 0 ? " (column " + std::to_string(e.column) + " of its value)" : "";
  e.message = "$" + name + where + ": " + e.message;
  e.column = 0;
  return e;
}

}  // namespace

base::Status Variables::Rebuild(AddressMap& addresses, PortMap& ports) {
  AddressMap resolved_addresses;
  PortMap resolved_ports;
  VariableResolver resolver(addresses, ports, resolved_addresses, resolved_ports);
  for (const auto& [name, entry] : addresses) {
    auto r = resolver.Find<AddressExpr>(name);
    if (!r) return InOtherVariable(name, r.error());
  }
  for (const auto& [name, entry] : ports) {
    auto r = resolver.Find<PortExpr>(name);
    if (!r) return InOtherVariable(name, r.error());
  }
  addresses_ = std::move(resolved_addresses);
  ports_ = std::move(resolved_ports);
  stamp_ = NewStamp();
  return {};
}

base::Status Variables::SetAddress(std::string_view name, std::string_view value) {
  if (!IsValidName(name)) {
    return base::MakeError("invalid variable name '" + std::string(name) +
                           "' (letters, digits and '_' only)");
  }
  AddressMap addresses = addresses_;
  PortMap ports = ports_;
  addresses[std::string(name)].text = std::string(value);
  // Resolve the new value first so that its own errors carry columns in `value`.
  {
    AddressMap resolved_addresses;
    PortMap resolved_ports;
    VariableResolver resolver(addresses, ports, resolved_addresses, resolved_ports);
    if (auto r = resolver.Find<AddressExpr>(name); !r) return r.error();
  }
  return Rebuild(addresses, ports);
}

base::Status Variables::SetPort(std::string_view name, std::string_view value) {
  if (!IsValidName(name)) {
    return base::MakeError("invalid variable name '" + std::string(name) +
                           "' (letters, digits and '_' only)");
  }
  AddressMap addresses = addresses_;
  PortMap ports = ports_;
  ports[std::string(name)].text = std::string(value);
  {
    AddressMap resolved_addresses;
    PortMap resolved_ports;
    VariableResolver resolver(addresses, ports, resolved_addresses, resolved_ports);
    if (auto r = resolver.Find<PortExpr>(name); !r) return r.error();
  }
  return Rebuild(addresses, ports);
}

const AddressExpr* Variables::FindAddress(std::string_view name) const {
  auto it = addresses_.find(name);
  return it == addresses_.end() ? nullptr : &it->second.expr;
}

const PortExpr* Variables::FindPort(std::string_view name) const {
  auto it = ports_.find(name);
  return it == ports_.end() ? nullptr : &it->second.expr;
}

const std::string* Variables::AddressText(std::string_view name) const {
  auto it = addresses_.find(name);
  return it == addresses_.end() ? nullptr : &it->second.text;
}

const std::string* Variables::PortText(std::string_view name) const {
  auto it = ports_.find(name);
  return it == ports_.end() ? nullptr : &it->second.text;
}

std::vector<std::string> Variables::AddressNames() const {
  std::vector<std::string> names;
  for (const auto& [name, entry] : addresses_) names.push_back(name);
  return names;
}

std::vector<std::string> Variables::PortNames() const {
  std::vector<std::string> names;
  for (const auto& [name, entry] : ports_) names.push_back(name);
  return names;
}

uint64_t Variables::NewStamp() {
  static std::atomic<uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

Variables::Variables(Variables&& other) noexcept
    : addresses_(std::move(other.addresses_)),
      ports_(std::move(other.ports_)),
      stamp_(std::exchange(other.stamp_, NewStamp())) {}

Variables& Variables::operator=(Variables&& other) noexcept {
  addresses_ = std::move(other.addresses_);
  ports_ = std::move(other.ports_);
  stamp_ = std::exchange(other.stamp_, NewStamp());
  return *this;
}

namespace {

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

// What ParseAddress / ParsePort last returned on this thread, by text, for the variables of one
// stamp: a ruleset names the same few lists ($HOME_NET, $HTTP_PORTS, any) in thousands of rules,
// and ET Open's port-grouped lists run to hundreds of members. Cleared when the stamp changes or
// it holds kMaxEntries texts.
template <class Expr>
class ParseMemo {
 public:
  static constexpr size_t kMaxEntries = 4096;
  // Long texts are lists written out in one rule (ET Open's port-grouped rules), seldom repeated:
  // parsed directly, they are not copied into the memo and out again.
  static constexpr size_t kMaxTextLen = 256;
  template <class F>
  base::Result<Expr> Get(std::string_view text, const Variables& vars, F&& parse) {
    if (text.size() > kMaxTextLen) return parse();
    if (vars.stamp() != stamp_ || entries_.size() >= kMaxEntries) {
      entries_.clear();
      stamp_ = vars.stamp();
    }
    auto it = entries_.find(text);
    if (it == entries_.end()) it = entries_.emplace(std::string(text), parse()).first;
    return it->second;
  }

 private:
  uint64_t stamp_ = 0;
  std::unordered_map<std::string, base::Result<Expr>, StringHash, std::equal_to<>> entries_;
};

}  // namespace

base::Result<AddressExpr> ParseAddress(std::string_view text, const Variables& vars) {
  thread_local ParseMemo<AddressExpr> memo;
  return memo.Get(text, vars, [&] {
    FinalLookup lookup{vars};
    return ExprParser<AddressExpr, FinalLookup>(text, lookup).ParseAll();
  });
}

base::Result<PortExpr> ParsePort(std::string_view text, const Variables& vars) {
  thread_local ParseMemo<PortExpr> memo;
  return memo.Get(text, vars, [&] {
    FinalLookup lookup{vars};
    auto e = ExprParser<PortExpr, FinalLookup>(text, lookup).ParseAll();
    if (e) e->Flatten();
    return e;
  });
}

}  // namespace vigil::rules

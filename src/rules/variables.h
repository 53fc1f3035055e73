// Variables: the named address and port groups that rule headers refer to as $NAME (Snort's
// `ipvar` / `portvar`, Suricata's `address-groups` / `port-groups`), and the parser for the
// address and port expressions they and the rule headers are written in.
//
//   Variables vars;                                   // Snort's defaults: HOME_NET any, ...
//   auto st = vars.SetAddress("HOME_NET", "[10.0.0.0/8,192.168.0.0/16]");
//   st = vars.SetAddress("EXTERNAL_NET", "!$HOME_NET");
//   auto dst = ParseAddress("[$HOME_NET,!10.1.0.0/16]", vars);   // variables substituted
//
// Values are kept as text and resolved when set: a value may name other variables (recursively,
// possibly negated, `[$HTTP_PORTS,8080]`). Redefining a variable re-resolves every variable that
// refers to it, so EXTERNAL_NET = !$HOME_NET follows a later change of HOME_NET. Addresses and
// ports are separate name spaces, as in Snort and Suricata.
//
// Expression grammar (whitespace allowed inside brackets):
//   address := '!' address | '[' address (',' address)* ']' | 'any' | '$' NAME
//            | IPv4 ['/' 0..32] | IPv6 ['/' 0..128]
//   port    := '!' port | '[' port (',' port)* ']' | 'any' | '$' NAME
//            | N | N ':' M | ':' M | N ':'              (0 <= N <= M <= 65535)
// List semantics are Suricata's: a list matches what its positive members cover (everything when
// it has none) minus what its negated members cover; a nested list that is not negated is merged
// into the enclosing one (so `[$HOME_NET,1.2.3.4]` with HOME_NET `[10.0.0.0/8,!10.1.0.0/16]` is
// `[10.0.0.0/8,!10.1.0.0/16,1.2.3.4]`), while a negated list is evaluated on its own and then
// excluded. A negated `any` (written or through a variable) matches nothing and is an error, as in
// Snort and Suricata. Network addresses are stored with their host bits cleared.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "rules/rule.h"

namespace vigil::rules {

class Variables {
 public:
  // Snort 2.9's snort.conf defaults plus the Suricata-only groups the rulesets use:
  // HOME_NET and EXTERNAL_NET `any`, the *_SERVERS groups `$HOME_NET`, HTTP_PORTS Snort's long
  // list, SHELLCODE_PORTS !80, ORACLE_PORTS 1024:, and the rest (see variables.cc).
  Variables();
  Variables(const Variables&) = default;
  Variables& operator=(const Variables&) = default;
  // A moved-from Variables takes a new stamp(): it no longer holds what it held.
  Variables(Variables&& other) noexcept;
  Variables& operator=(Variables&& other) noexcept;

  // No variables at all.
  [[nodiscard]] static Variables Empty();

  // Sets (or redefines) an address / port variable from its text. Fails, leaving the variables as
  // they were, when the name is not [A-Za-z0-9_]+, the value does not parse, names an undefined
  // variable, or the definitions form a cycle. Error columns are 1-based in `value`.
  [[nodiscard]] base::Status SetAddress(std::string_view name, std::string_view value);
  [[nodiscard]] base::Status SetPort(std::string_view name, std::string_view value);

  // The resolved value, or nullptr when the variable is not defined.
  [[nodiscard]] const AddressExpr* FindAddress(std::string_view name) const;
  [[nodiscard]] const PortExpr* FindPort(std::string_view name) const;
  // The value as it was set, or nullptr.
  [[nodiscard]] const std::string* AddressText(std::string_view name) const;
  [[nodiscard]] const std::string* PortText(std::string_view name) const;

  [[nodiscard]] std::vector<std::string> AddressNames() const;
  [[nodiscard]] std::vector<std::string> PortNames() const;

  // Equal for two Variables only when they hold the same definitions (a copy, or the same object
  // unchanged since): ParseAddress and ParsePort remember their results under it.
  [[nodiscard]] uint64_t stamp() const { return stamp_; }

 private:
  struct Tag {};
  explicit Variables(Tag) {}

  template <class Expr>
  struct Entry {
    std::string text;
    Expr expr;
  };
  using AddressMap = std::map<std::string, Entry<AddressExpr>, std::less<>>;
  using PortMap = std::map<std::string, Entry<PortExpr>, std::less<>>;

  // Resolves every variable from its text into fresh maps; on success replaces the current ones.
  base::Status Rebuild(AddressMap& addresses, PortMap& ports);

  AddressMap addresses_;
  PortMap ports_;
  uint64_t stamp_ = NewStamp();
  static uint64_t NewStamp();

  friend class VariableResolver;
};

// Parses an address / port expression, substituting variables from `vars`. Error columns are
// 1-based in `text`.
[[nodiscard]] base::Result<AddressExpr> ParseAddress(std::string_view text, const Variables& vars);
[[nodiscard]] base::Result<PortExpr> ParsePort(std::string_view text, const Variables& vars);

}  // namespace vigil::rules

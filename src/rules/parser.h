// Rule parser: turns the text of one Snort 2.9 / Snort 3 / Suricata rule into a Rule (rule.h).
//
//   Variables vars;  // Snort's defaults
//   auto rule = ParseRule(R"(alert tcp $HOME_NET any -> any 80 (msg:"x"; content:"GET"; sid:1;))",
//                         vars, "local.rules", 12);
//   if (!rule) std::cerr << rule.error().ToString();   // "local.rules:12:40: ..."
//
// Header: `action protocol src_addr src_port direction dst_addr dst_port`.
//   action     alert log pass drop reject sdrop rejectsrc rejectdst rejectboth
//   protocol   ip tcp udp icmp, or an application protocol (http, dns, tls, ...; see
//              FindAppProtocol in rule.h): Rule::service is set to it and Rule::protocol to its
//              usual transport (http -> tcp, dns -> udp with DNS over TCP also matched, ...).
//              Suricata's tcp-pkt, tcp-stream, ipv4/ip4, ipv6/ip6, icmpv4, icmpv6, sctp and pkthdr
//              parse into Rule::protocol_variant.
//   addresses  see variables.h ($VARIABLES are substituted, so the Rule holds no variable)
//   direction  -> or <>
// Snort 3's short headers parse too: `alert http (...)` (a service or a transport, no addresses:
// any any -> any any) and `alert (...)` / `alert file (...)` (protocol ip, any any -> any any).
//
// Options: `keyword;` or `keyword:value;` inside the parentheses; the last ';' may be omitted.
// As in Snort 2 and Suricata a value ends at the first ';' not escaped by '\', inside quotes too.
// Keywords are case-insensitive, as in Snort 2 and Suricata.
//   msg, sid (required), rev, gid, classtype, priority, reference, metadata (kept as written),
//   service (Snort 3), target (Suricata) are Rule fields;
//   every detection keyword the shipped rulesets use becomes its typed option (options.h), its
//   arguments checked: content and its modifiers (Snort 2 / Suricata separate options, or Snort 3
//   sub-options `content:"x",depth 5,nocase`), pcre, flow, flowbits, byte_*, isdataat, dsize, ...;
//   buffers are read from content modifiers (`content:"x"; http_uri;`) and from sticky buffer
//   keywords (Snort 3 `http_uri; content:"x";`, Suricata `http.uri; content:"x";`) into each
//   option's `buffer`. Which of the two an `http_uri`-like keyword is: a modifier when it follows
//   a content (or its modifiers) in a Snort 2 / Suricata rule, a sticky buffer otherwise; a rule
//   is read as Snort 3 when it has a short header, a `service` option, content sub-options or an
//   HTTP buffer with arguments.
//   Other keywords of the three dialects that no shipped ruleset uses are kept verbatim
//   (OtherOption). A keyword no dialect knows is an error.
//
// The parser never disables a rule: whether the detector can evaluate it is the loader's support
// check (rule_file.h, detect/support.h).
//
// Checks (each one a rule Snort or Suricata itself rejects): numbers in range (offset and distance
// -65535..65535, depth and within 1..65535, sid >= 1, ...), a modifier needs a content before it
// and may be given once per content, depth and within at least the content's length, fast_pattern
// offset + length within the content, fast_pattern:only neither negated nor combined with
// offset/depth/distance/within, startswith not combined with them either, no empty content, no
// bad escape or hex in a content, pcre flags known and given once, no duplicate
// msg/sid/rev/gid/classtype/priority/threshold; a number may name a byte_extract / byte_math
// variable only when an earlier option defines it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"
#include "rules/rule.h"
#include "rules/variables.h"

namespace vigil::rules {

// Parses one rule (continuation lines already joined). On failure the Error names `file`, `line`
// and the 1-based column in `text` of the offending token.
[[nodiscard]] base::Result<Rule> ParseRule(std::string_view text, const Variables& vars,
                                           const std::string& file = "", uint32_t line = 0);

// What the parser knows about a rule option keyword (case-insensitive).
enum class KeywordSupport : uint8_t {
  kUnknown,    // no dialect has it: a rule using it is an error
  kRuleField,  // msg, sid, reference, ...: a Rule member
  kTyped,      // a typed option (options.h), or a content modifier
  kBuffer,     // a sticky buffer or buffer modifier (http_uri, http.uri, file_data, ...)
  kOther,      // known, kept verbatim as OtherOption
};
[[nodiscard]] KeywordSupport LookupKeyword(std::string_view keyword);

}  // namespace vigil::rules

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
//              parse into Rule::protocol_variant and disable the rule (not evaluated yet).
//   addresses  see variables.h ($VARIABLES are substituted, so the Rule holds no variable)
//   direction  -> or <>
// Snort 3's header-less (`alert (...)`) and service-only (`alert http (...)`) forms are rejected.
//
// Options: `keyword;` or `keyword:value;` inside the parentheses; the last ';' may be omitted.
// As in Snort 2 and Suricata a value ends at the first ';' not escaped by '\', inside quotes too.
// Keywords are case-insensitive, as in Snort 2 and Suricata.
//   msg, sid (required), rev, gid, classtype, priority, reference, metadata (kept as written),
//   service (Snort 3, kept in Rule::services),
//   content:[!]"text|hex bytes|text" and its modifiers nocase, rawbytes, offset, depth, distance,
//   within, fast_pattern[:only | :offset,length] — written as separate options (Snort 2,
//   Suricata) or as Snort 3 sub-options (`content:"x",depth 5,nocase,fast_pattern_offset 1`).
// Every other keyword of the three dialects (pcre, flow, http.uri, byte_test, ...) is accepted:
// the rule parses with enabled = false, disabled_reason = "unsupported keyword <first one>", and
// the option kept verbatim in Rule::unsupported_options. A keyword no dialect knows is an error.
//
// Checks (each one a rule Snort or Suricata itself rejects): numbers in range (offset and distance
// -65535..65535, depth and within 1..65535, sid >= 1), a modifier needs a content before it and
// may be given once per content, depth and within at least the content's length, fast_pattern
// offset + length within the content, fast_pattern:only neither negated nor combined with
// offset/depth/distance/within, no empty content, no bad escape or hex in a content, no duplicate
// msg/sid/rev/gid/classtype/priority. A modifier value may name a byte_extract / byte_math
// variable defined earlier in the rule (kept verbatim, like the unsupported keywords).
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
  kUnknown,      // no dialect has it: a rule using it is an error
  kSupported,    // parsed into the Rule
  kUnsupported,  // known, kept verbatim, disables the rule
};
[[nodiscard]] KeywordSupport LookupKeyword(std::string_view keyword);

}  // namespace vigil::rules

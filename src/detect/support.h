// Detector support: decides whether the detector (detector.h) can evaluate a parsed rule exactly.
// Parsing (rules/parser.h) accepts every rule of the three dialects; this is the one place that
// says which of them the detection engine evaluates today, so that a rule it cannot evaluate is
// kept disabled with a precise reason instead of being evaluated wrongly.
//
//   rules::LoadReport report;
//   report.support_check = detect::UnsupportedReason;   // the loader disables what it rejects
//   rules::LoadRuleFile("local.rules", vars, report);
//   // a rule with pcre: enabled = false, disabled_reason = "unsupported keyword pcre"
//
// Supported today: the header (every action; protocols ip, tcp, udp, icmp; addresses, ports,
// direction) and content options on the packet payload with their modifiers nocase, rawbytes,
// offset, depth, distance, within and fast_pattern (all forms). Everything else — an application
// protocol or a narrowing variant (tcp-pkt, ipv6, ...) in the header, a content in another buffer
// (http.uri, file.data, ...), startswith / endswith, a modifier given as a byte_extract variable,
// and every other detection option — makes the rule unsupported. Rule fields (msg, sid,
// reference, classtype, priority, metadata, service, target) never do.
#pragma once

#include <optional>
#include <string>

#include "rules/rule.h"

namespace vigil::detect {

// nullopt when the detector evaluates `rule` exactly; else why not, naming the first obstacle in
// rule order: "unsupported protocol http (application-layer detection)",
// "unsupported protocol tcp-pkt", "unsupported buffer http.uri", "unsupported keyword pcre", ...
[[nodiscard]] std::optional<std::string> UnsupportedReason(const rules::Rule& rule);

}  // namespace vigil::detect

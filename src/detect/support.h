// Detector support: decides whether the detector (detector.h) can evaluate a parsed rule exactly.
// Parsing (rules/parser.h) accepts every rule of the three dialects; this is the one place that
// says which of them the detection engine evaluates today, so that a rule it cannot evaluate is
// kept disabled with a precise reason instead of being evaluated wrongly.
//
//   rules::LoadReport report;
//   report.support_check = detect::UnsupportedReason;   // the loader disables what it rejects
//   rules::LoadRuleFile("local.rules", vars, report);
//   // a rule with flowbits: enabled = false, disabled_reason = "unsupported keyword flowbits"
//
// Supported today: the header (every action; protocols ip, tcp, udp, icmp and http — app/http.h
// identifies HTTP flows by content; addresses, ports, direction), the HTTP transaction buffers
// option_program.h lists (http.uri, http.header, http.method, http_client_body, file.data — the
// body of the rule's direction, decoded —, http.response_body, http.header_names, ...: content,
// pcre with the HTTP letters, byte_*, isdataat, bsize / bufferlen and urilen on them), and, on the
// packet payload (the pkt_data buffer), content with every modifier
// (nocase, rawbytes, offset, depth, distance, within, fast_pattern in all forms, startswith,
// endswith, modifiers given as byte_extract / byte_math variables), pcre (flags i s m x A E G R B
// O; a pattern PCRE2 rejects disables the rule), byte_test, byte_jump, byte_extract, byte_math
// (binary numbers up to 8 bytes, at most kMaxRuleVariables variables) and isdataat; and the packet
// options dsize, ttl, id, ip_proto, itype, icode, icmp_id, icmp_seq, fragbits, flags, flow and
// sameip. Everything else — an application protocol other than http or a narrowing variant
// (tcp-pkt, ipv6, ...) in the header, any option on another buffer (dns.query, tls.sni, ...),
// Snort 3's file_data in a rule whose service list leaves out http (an SMTP attachment), flowint,
// xbits, tag, application-layer keywords and every other detection option — makes the rule
// unsupported. Rule fields (msg, sid, reference, classtype, priority, metadata, service, target)
// never do. The answer is the matcher's own: a rule is supported exactly when CompileProgram
// (option_program.h) compiles it.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "base/result.h"
#include "detect/option_program.h"
#include "rules/rule.h"

namespace vigil::detect {

// nullopt when the detector evaluates `rule` exactly; else why not, naming the first obstacle in
// rule order: "unsupported protocol dns (application-layer detection)",
// "unsupported protocol tcp-pkt", "unsupported buffer file.data", "unsupported keyword flowint",
// "pcre does not compile: missing closing parenthesis at offset 3", ...
[[nodiscard]] std::optional<std::string> UnsupportedReason(const rules::Rule& rule);

// The rule's options compiled (CompileProgram) when the detector evaluates `rule` exactly; else an
// error whose message is UnsupportedReason's. The check and the compilation are one piece of
// work: DetectionPlan::Build keeps the program of each rule it checks. `jit` and `pcres` as
// CompileProgram's.
[[nodiscard]] base::Result<std::unique_ptr<RuleProgram>> CompileSupported(
    const rules::Rule& rule, bool jit = true, PcreCache* pcres = nullptr);

}  // namespace vigil::detect

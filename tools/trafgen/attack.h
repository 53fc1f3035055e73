// Attack building for the traffic generator: turns a rule into a packet that must trigger it.
//
// For a rule whose detection is content options on the packet payload (pkt_data), BuildAttack
// lays the positive contents out in rule order, honouring offset/depth (absolute window) and
// distance/within (window after the previous match), checks that overlapping placements agree
// byte for byte, fills the gaps with a byte no content uses, and then proves the payload with the
// project's own content matcher (detect::MatchContents), negated contents included. PickAddress
// and PickPort find concrete values that a rule header's address and port expressions match
// (sampling candidates and checking each with Matches()). The generator then checks every
// injected frame, decoded, with detect::MatchRule before it writes it into ground truth.
//
//   auto attack = trafgen::BuildAttack(rule);               // Result<AttackTemplate>
//   if (!attack) Skip(rule, attack.error().message);       // the reason, e.g. "content 2 ..."
//   trafgen::Rng rng(1);
//   auto port = trafgen::PickPort(rule.dst_port, rng, 80);  // std::optional<uint16_t>
//
// Not on the packet path.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/ip_address.h"
#include "base/result.h"
#include "rules/rule.h"
#include "trafgen/random.h"

namespace vigil::trafgen {

// The largest attack payload: one segment of a 1500-byte path over IPv6 with TCP options to spare.
inline constexpr size_t kMaxAttackPayload = 1400;

// An IPv4 or IPv6 prefix to draw host addresses from.
struct Subnet {
  base::IpAddress network;
  int prefix_len = 0;
};
// Parses "10.0.0.0/8" or "fd00::/64" (a bare address is a /32 or /128); nullopt when malformed.
[[nodiscard]] std::optional<Subnet> ParseSubnet(std::string_view text);
// A random host address inside `subnet` (for IPv4 prefixes up to /30, never the all-zeros or
// all-ones host).
[[nodiscard]] base::IpAddress RandomAddress(Rng& rng, const Subnet& subnet);

// An address that `expr` matches: first tried from `preferred` (the generator's own pools, so
// that attacks look like the rest of the traffic), then from the expression's own networks, then
// anywhere; `family` 4 or 6 restricts the family, 0 allows both. nullopt when no sampled
// candidate matched.
[[nodiscard]] std::optional<base::IpAddress> PickAddress(const rules::AddressExpr& expr, Rng& rng,
                                                         std::span<const Subnet> preferred,
                                                         int family);
// A port that `expr` matches: `preferred` when it matches, else sampled from the expression's
// ranges and then from all ports. nullopt when no sampled candidate matched.
[[nodiscard]] std::optional<uint16_t> PickPort(const rules::PortExpr& expr, Rng& rng,
                                               uint16_t preferred);

// A payload that satisfies `contents` (all in one buffer), or an Error whose message says why
// none was built ("content 2 does not fit its window", "negated content 3 is unavoidable", ...).
[[nodiscard]] base::Result<std::vector<uint8_t>> BuildContentPayload(
    std::span<const rules::ContentOption* const> contents);

// How to carry a rule's attack.
struct AttackTemplate {
  std::vector<uint8_t> payload;
  bool udp = false;           // a UDP datagram; else a segment of a TCP session
  bool server_sends = false;  // TCP: the server side sends it (flow:to_client, or src port 80)
  bool needs_flow = false;    // the rule has a flow option: checked in an established session
};

// Checks that the rule can be attacked by content alone (enabled, not pass/sdrop, protocol tcp,
// udp or ip, no detection option but content and flow, at least one positive content, every
// content in pkt_data) and builds its payload. A flow option is met by sending the attack inside
// an established TCP session, from the side its direction names; flow:not_established,
// only_stream, only_frag, and flow:established on UDP are reasons to skip. Modifiers given as
// byte_extract variables are left to the loader's support check, which disables such rules. The
// error message is the reason the rule was skipped.
[[nodiscard]] base::Result<AttackTemplate> BuildAttack(const rules::Rule& rule);

}  // namespace vigil::trafgen

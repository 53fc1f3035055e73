// DecodeStats: what the decoder counted — plain totals (packets, bytes, IPv4, TCP …) and one
// counter per named anomaly (a malformed or truncated header, "decode.ipv4.bad_checksum").
//
// Each anomaly is an `Anomaly` enum value whose name lives beside it in one X-macro list, so the
// packet path only increments an array slot and names are produced only when stats are printed:
//
//   decoder.stats().ForEach([](std::string_view name, uint64_t value) {
//     fmt::print("{:40} {}\n", name, value);
//   });
//   uint64_t bad = decoder.stats().anomaly(decode::Anomaly::kIpv4BadChecksum);
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace vigil::decode {

// Plain totals: X(field, "name"). A packet is counted under ipv4/ipv6 when its IP header was
// decoded (ip_version != 0), under tcp/udp/icmp/icmpv6 when its transport header was, and under
// other when its link layer carries something that is not IP (ARP, LLC, an unknown EtherType or
// loopback family), under gre when DecodeTunnel read a well-formed GRE header carrying a
// protocol it decodes. `bytes` sums captured lengths.
#define VIGIL_DECODE_COUNTERS(X)   \
  X(packets, "decode.packets")     \
  X(bytes, "decode.bytes")         \
  X(ipv4, "decode.ipv4")           \
  X(ipv6, "decode.ipv6")           \
  X(tcp, "decode.tcp")             \
  X(udp, "decode.udp")             \
  X(icmp, "decode.icmp")           \
  X(icmpv6, "decode.icmpv6")       \
  X(fragments, "decode.fragments") \
  X(gre, "decode.gre")             \
  X(vlan, "decode.vlan")           \
  X(arp, "decode.arp")             \
  X(llc, "decode.llc")             \
  X(other, "decode.other")

// Anomalies: X(EnumValue, "name"). "truncated" means the header runs past the bytes that were
// captured (or that the enclosing header declares); the other names say which field is invalid.
#define VIGIL_DECODE_ANOMALIES(X)                                          \
  X(kLinkUnsupported, "decode.link.unsupported")                           \
  X(kEthTruncated, "decode.eth.truncated")                                 \
  X(kVlanTruncated, "decode.vlan.truncated")                               \
  X(kVlanTooDeep, "decode.vlan.too_deep")                                  \
  X(kVlanIdsNotKept, "decode.vlan.ids_not_kept")                           \
  X(kLoopbackTruncated, "decode.loopback.truncated")                       \
  X(kSllTruncated, "decode.sll.truncated")                                 \
  X(kSll2Truncated, "decode.sll2.truncated")                               \
  X(kRawTruncated, "decode.raw.truncated")                                 \
  X(kPppTruncated, "decode.ppp.truncated")                                 \
  X(kRawBadVersion, "decode.raw.bad_version")                              \
  X(kIpv4Truncated, "decode.ipv4.truncated")                               \
  X(kIpv4BadVersion, "decode.ipv4.bad_version")                            \
  X(kIpv4BadHeaderLength, "decode.ipv4.bad_header_length")                 \
  X(kIpv4BadTotalLength, "decode.ipv4.bad_total_length")                   \
  X(kIpv4BadOption, "decode.ipv4.bad_option")                              \
  X(kIpv4BadChecksum, "decode.ipv4.bad_checksum")                          \
  X(kIpv4FragmentTooLarge, "decode.ipv4.fragment_too_large")               \
  X(kIpv6Truncated, "decode.ipv6.truncated")                               \
  X(kIpv6BadVersion, "decode.ipv6.bad_version")                            \
  X(kIpv6Jumbogram, "decode.ipv6.jumbogram")                               \
  X(kIpv6ExtHeaderTruncated, "decode.ipv6.ext_header_truncated")           \
  X(kIpv6TooManyExtHeaders, "decode.ipv6.too_many_ext_headers")            \
  X(kIpv6HopByHopNotFirst, "decode.ipv6.hop_by_hop_not_first")             \
  X(kIpv6DuplicateFragmentHeader, "decode.ipv6.duplicate_fragment_header") \
  X(kIpv6FragmentTooLarge, "decode.ipv6.fragment_too_large")               \
  X(kIpOffsetTooLarge, "decode.ip.offset_too_large")                       \
  X(kTcpTruncated, "decode.tcp.truncated")                                 \
  X(kTcpBadDataOffset, "decode.tcp.bad_data_offset")                       \
  X(kTcpBadOptionLength, "decode.tcp.bad_option_length")                   \
  X(kUdpTruncated, "decode.udp.truncated")                                 \
  X(kUdpBadLength, "decode.udp.bad_length")                                \
  X(kUdpLengthMismatch, "decode.udp.length_mismatch")                      \
  X(kIcmpTruncated, "decode.icmp.truncated")                               \
  X(kIcmpv6Truncated, "decode.icmpv6.truncated")                           \
  X(kGreTruncated, "decode.gre.truncated")                                 \
  X(kGreBadVersion, "decode.gre.bad_version")                              \
  X(kGreBadFlags, "decode.gre.bad_flags")                                  \
  X(kGreUnsupportedProtocol, "decode.gre.unsupported_protocol")

enum class Anomaly : uint8_t {
#define VIGIL_DECODE_ENUM(value, name) value,
  VIGIL_DECODE_ANOMALIES(VIGIL_DECODE_ENUM)
#undef VIGIL_DECODE_ENUM
};

inline constexpr size_t kAnomalyCount = 0
#define VIGIL_DECODE_ONE(value, name) +1
    VIGIL_DECODE_ANOMALIES(VIGIL_DECODE_ONE)
#undef VIGIL_DECODE_ONE
    ;

// The counter name of `a`, e.g. "decode.ipv4.bad_checksum"; "" for a value outside the enum.
[[nodiscard]] constexpr std::string_view AnomalyName(Anomaly a) {
  constexpr std::string_view kNames[] = {
#define VIGIL_DECODE_NAME(value, name) name,
      VIGIL_DECODE_ANOMALIES(VIGIL_DECODE_NAME)
#undef VIGIL_DECODE_NAME
  };
  const auto i = static_cast<size_t>(a);
  return i < kAnomalyCount ? kNames[i] : std::string_view();
}

struct DecodeStats {
#define VIGIL_DECODE_FIELD(field, name) uint64_t field = 0;
  VIGIL_DECODE_COUNTERS(VIGIL_DECODE_FIELD)
#undef VIGIL_DECODE_FIELD
  std::array<uint64_t, kAnomalyCount> anomalies{};

  [[nodiscard]] uint64_t anomaly(Anomaly a) const { return anomalies[static_cast<size_t>(a)]; }

  // Sum of every anomaly counter.
  [[nodiscard]] uint64_t TotalAnomalies() const {
    uint64_t total = 0;
    for (uint64_t v : anomalies) total += v;
    return total;
  }

  // Calls f(std::string_view name, uint64_t value) for every counter, the plain totals first and
  // then the anomalies, in declaration order (zero values included).
  template <class F>
  void ForEach(F f) const {
#define VIGIL_DECODE_VISIT(field, name) f(std::string_view(name), field);
    VIGIL_DECODE_COUNTERS(VIGIL_DECODE_VISIT)
#undef VIGIL_DECODE_VISIT
    for (size_t i = 0; i < kAnomalyCount; ++i) {
      f(AnomalyName(static_cast<Anomaly>(i)), anomalies[i]);
    }
  }

  // The value of the counter called `name`; nullopt when there is none. Linear: not for the
  // packet path.
  [[nodiscard]] std::optional<uint64_t> Find(std::string_view name) const {
    std::optional<uint64_t> found;
    ForEach([&](std::string_view n, uint64_t v) {
      if (n == name) found = v;
    });
    return found;
  }

  // Adds `rhs` counter by counter, to merge the stats of several workers.
  DecodeStats& operator+=(const DecodeStats& rhs) {
#define VIGIL_DECODE_ADD(field, name) field += rhs.field;
    VIGIL_DECODE_COUNTERS(VIGIL_DECODE_ADD)
#undef VIGIL_DECODE_ADD
    for (size_t i = 0; i < kAnomalyCount; ++i) anomalies[i] += rhs.anomalies[i];
    return *this;
  }
};

}  // namespace vigil::decode

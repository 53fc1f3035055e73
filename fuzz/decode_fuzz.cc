// decode_fuzz: libFuzzer target for decode::Decoder.
//
// Input layout: byte 0 picks the link type (kLinks[byte % size], the same order as
// fuzz/seeds/make_decode_seeds.py uses), the remaining bytes are the captured frame. libFuzzer
// hands over a heap buffer of exactly `size` bytes, so the frame ends where the allocation ends
// and AddressSanitizer (ASan) reports any read past caplen. Every byte the decoder points at
// (payload, headers at l3_offset/l4_offset) is read back so that a wrong pointer or length is
// caught even when the decoder itself never dereferences it; the packet.h invariants later stages
// rely on are checked and abort on violation.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <iterator>

#include "decode/decoder.h"
#include "packet/packet.h"

namespace {

using vigil::packet::LinkType;

constexpr LinkType kLinks[] = {
    LinkType::kEthernet,
    LinkType::kNull,
    LinkType::kLoop,
    LinkType::kRaw,
    LinkType::kIpv4,
    LinkType::kIpv6,
    LinkType::kLinuxSll,
    LinkType::kLinuxSll2,
    static_cast<LinkType>(147),  // unsupported: exercises the fallback
};

void Require(bool ok) {
  if (!ok) std::abort();
}

uint32_t SumBytes(const uint8_t* p, uint32_t n) {
  uint32_t sum = 0;
  for (uint32_t i = 0; i < n; ++i) sum += p[i];
  return sum;
}

volatile uint32_t g_sink;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0 || size > UINT32_MAX) return 0;
  // One decoder for the whole run, as a worker keeps one: its counters must not overflow or
  // depend on earlier packets.
  static vigil::decode::Decoder decoder;

  vigil::packet::Packet p;
  p.linktype = kLinks[data[0] % std::size(kLinks)];
  p.data = data + 1;
  p.caplen = uint32_t(size - 1);
  p.wirelen = p.caplen;
  decoder.Decode(p);

  const uint8_t* begin = p.data;
  const uint8_t* end = p.data + p.caplen;
  uint32_t sum = 0;
  if (p.payload_len != 0) {
    Require(p.payload >= begin && p.payload <= end && p.payload_len <= uint32_t(end - p.payload));
    sum += SumBytes(p.payload, p.payload_len);
  }
  if (p.ip_version != 0) {
    Require(p.ip_version == 4 || p.ip_version == 6);
    const uint32_t ip_header = p.ip_version == 4 ? 20 : 40;
    Require(p.l3_offset + ip_header <= p.caplen);
    sum += SumBytes(begin + p.l3_offset, ip_header);
  } else {
    Require(p.l4_offset == 0 && !p.has_tcp && !p.has_udp && !p.has_icmp && p.payload_len == 0);
  }
  Require(int(p.has_tcp) + int(p.has_udp) + int(p.has_icmp) <= 1);
  Require(p.l4_offset <= p.caplen);
  if (p.has_tcp || p.has_udp || p.has_icmp) {
    const uint32_t l4_header = p.has_tcp ? 20 : 8;
    Require(p.l4_offset != 0 && p.l4_offset + l4_header <= p.caplen);
    Require(p.payload >= begin + p.l4_offset + l4_header);
    sum += SumBytes(begin + p.l4_offset, l4_header);
  }
  if (p.fragment_offset != 0) Require(p.is_fragment && !p.has_tcp && !p.has_udp && !p.has_icmp);
  Require(p.vlan_count <= 2);
  g_sink = sum;
  return 0;
}

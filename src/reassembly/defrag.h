// Defragmenter: reassembles IPv4 and IPv6 fragments into whole datagrams, resolving overlapping
// fragments the way the destination's operating system would (frag3's target-based policies,
// see overlap.h), and returns each completed datagram as a full IP packet that decode::Decoder
// can decode again with LinkType kRaw.
//
//   auto defrag = reassembly::Defragmenter::Create({});          // Result<unique_ptr>
//   if (p.is_fragment) {
//     std::span<const uint8_t> whole = (*defrag)->Add(p, now_ns);
//     if (!whole.empty()) {                     // valid until the next Add
//       packet::Packet q;
//       q.data = whole.data(); q.caplen = q.wirelen = whole.size();
//       q.linktype = packet::LinkType::kRaw; q.ts = p.ts;
//       decoder.Decode(q);                      // then flow lookup, reassembly, detection
//     }
//   }
//   (*defrag)->Expire(now_ns, 16);               // once per batch
//
// The rebuilt packet: IPv4 keeps the offset-0 fragment's header (options included) with total
// length fixed, flags and offset cleared and the checksum recomputed; IPv6 keeps the offset-0
// fragment's unfragmentable part (header and extension headers before the fragment header),
// drops the fragment header, and fixes the payload length and the next-header chain.
// last_frame() is the same datagram behind the offset-0 fragment's link-layer header (Ethernet
// and VLAN tags, PPP, ...; up to kMaxLinkHeader bytes, none beyond) in that fragment's link type,
// the frame Suricata logs for a reassembled packet (EVE `packet`, pcap logs).
//
// Datagrams are keyed by source, destination, identification, protocol (IPv4) and family.
// Anomalies, each a named counter: defrag.overlap and defrag.overlap_conflict (overlapping
// fragments; with different bytes), defrag.tiny_fragment (a non-last fragment of fewer than
// min_fragment_bytes), defrag.misaligned (a non-last fragment whose length is not a multiple of
// 8; trimmed), defrag.oversize (data past 65,535 bytes; dropped), defrag.last_conflict (a second
// last fragment with another end; ignored), defrag.bad_fragment (empty or unparsable).
// Caps: at most max_trackers datagrams in progress and `memcap` bytes held — either one evicts
// the oldest datagram (defrag.evicted); at most per_source_memcap bytes per source address
// (defrag.source_memcap_drop: the fragment is dropped, so one host cannot fill the table); at most
// max_fragments_per_datagram pieces (defrag.too_many_fragments: dropped). A datagram not
// completed timeout_seconds after its first fragment is dropped (defrag.timeout).
//
// Cost per fragment: one hash-map lookup, an overlap resolution over that datagram's pieces, a
// copy of the fragment's data; on completion one copy of the datagram. Fragments are rare, so
// this path allocates.
#pragma once

#include <array>
#include <cstdint>
#include <list>
#include <memory>
#include <span>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/result.h"
#include "packet/packet.h"
#include "reassembly/overlap.h"

namespace vigil::reassembly {

// The longest link-layer header kept for last_frame(): Ethernet with a few VLAN tags, cooked
// captures and PPP fit.
inline constexpr uint32_t kMaxLinkHeader = 64;

// 65,515 data bytes (65,535 less the IPv4 header) in 48-byte pieces.
inline constexpr uint32_t kMaxFragmentsPerDatagram = (65535 - 20 + 47) / 48;

struct DefragConfig {
  PolicyTable policies{Policy::kBsd};  // by destination address; frag3's default is bsd
  uint32_t timeout_seconds = 60;
  uint64_t memcap = uint64_t{64} << 20;
  uint64_t per_source_memcap = uint64_t{4} << 20;
  uint32_t max_trackers = 16384;
  // The most fragments a datagram of the largest size (65,535 bytes) needs over the smallest
  // link any IPv4 host must accept (68 bytes, RFC 791: 48 data bytes per fragment): 1,365. More
  // pieces than that can only come from a sender splitting on purpose (8-byte fragments) or
  // overlapping itself; each costs a sorted insert, so the cap bounds a datagram's work.
  uint32_t max_fragments_per_datagram = kMaxFragmentsPerDatagram;
  uint32_t min_fragment_bytes = 32;
};

#define VIGIL_DEFRAG_COUNTERS(X)                     \
  X(fragments, "defrag.fragments")                   \
  X(reassembled, "defrag.reassembled")               \
  X(overlap, "defrag.overlap")                       \
  X(overlap_conflict, "defrag.overlap_conflict")     \
  X(tiny_fragment, "defrag.tiny_fragment")           \
  X(misaligned, "defrag.misaligned")                 \
  X(oversize, "defrag.oversize")                     \
  X(last_conflict, "defrag.last_conflict")           \
  X(bad_fragment, "defrag.bad_fragment")             \
  X(timeout, "defrag.timeout")                       \
  X(evicted, "defrag.evicted")                       \
  X(source_memcap_drop, "defrag.source_memcap_drop") \
  X(too_many_fragments, "defrag.too_many_fragments")

struct DefragStats {
#define VIGIL_DEFRAG_FIELD(field, name) uint64_t field = 0;
  VIGIL_DEFRAG_COUNTERS(VIGIL_DEFRAG_FIELD)
#undef VIGIL_DEFRAG_FIELD
  template <class F>
  void ForEach(F&& f) const {
#define VIGIL_DEFRAG_VISIT(field, name) f(std::string_view(name), field);
    VIGIL_DEFRAG_COUNTERS(VIGIL_DEFRAG_VISIT)
#undef VIGIL_DEFRAG_VISIT
  }
};

class Defragmenter {
 public:
  // Fails when a cap is 0.
  [[nodiscard]] static base::Result<std::unique_ptr<Defragmenter>> Create(DefragConfig config);
  ~Defragmenter();

  // Takes one decoded fragment (p.is_fragment). Returns the whole IP packet when this fragment
  // completed its datagram, else an empty span. The bytes stay valid until the next Add.
  [[nodiscard]] std::span<const uint8_t> Add(const packet::Packet& p, int64_t now_ns);

  // The datagram the last completing Add returned, behind its offset-0 fragment's link-layer
  // header, and that header's link type (kRaw when the header was longer than kMaxLinkHeader).
  // Valid until the next Add.
  [[nodiscard]] std::span<const uint8_t> last_frame() const { return {out_.data(), out_.size()}; }
  [[nodiscard]] packet::LinkType last_linktype() const { return last_linktype_; }

  // Drops up to `budget` datagrams whose timeout has passed at `now_ns`; returns how many.
  size_t Expire(int64_t now_ns, size_t budget);

  [[nodiscard]] size_t tracker_count() const { return lru_.size(); }
  [[nodiscard]] uint64_t memory_used() const { return memory_used_; }
  [[nodiscard]] const DefragStats& stats() const { return stats_; }

 private:
  struct Key {
    std::array<uint8_t, 16> src;
    std::array<uint8_t, 16> dst;
    uint32_t id;
    uint8_t proto;
    uint8_t family;
    friend bool operator==(const Key&, const Key&) = default;
  };
  struct KeyHash {
    size_t operator()(const Key& k) const;
  };
  struct SourceHash {
    size_t operator()(const std::array<uint8_t, 16>& a) const;
  };
  // One datagram in progress.
  struct Tracker {
    Key key;
    Policy policy = Policy::kBsd;
    int64_t first_ns = 0;
    std::vector<uint8_t> header;  // IPv4 header or IPv6 unfragmentable part, from offset 0
    std::vector<uint8_t> link;    // the offset-0 fragment's link-layer header
    packet::LinkType linktype = packet::LinkType::kRaw;
    uint32_t next_header_at = 0;  // IPv6: where in `header` the fragment header was named
    uint8_t proto = 0;            // IPv6: the fragment header's next header
    bool have_first = false;
    bool have_last = false;
    uint32_t total_len = 0;  // the datagram's data length, known from the last fragment
    uint32_t fragments = 0;
    SegmentList data;
  };
  using TrackerList = std::list<Tracker>;

  explicit Defragmenter(DefragConfig config) : config_(std::move(config)) {}
  void Drop(TrackerList::iterator t);
  [[nodiscard]] uint64_t Footprint(const Tracker& t) const;
  std::span<const uint8_t> Rebuild(Tracker& t);

  DefragConfig config_;
  TrackerList lru_;  // oldest first
  std::unordered_map<Key, TrackerList::iterator, KeyHash> index_;
  std::unordered_map<std::array<uint8_t, 16>, uint64_t, SourceHash> source_bytes_;
  uint64_t memory_used_ = 0;
  std::vector<uint8_t> out_;  // link-layer header, then the datagram
  packet::LinkType last_linktype_ = packet::LinkType::kRaw;
  DefragStats stats_;
};

}  // namespace vigil::reassembly

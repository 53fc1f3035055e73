#include "reassembly/defrag.h"

#include <algorithm>
#include <cstring>

#include "base/bytes.h"

namespace vigil::reassembly {
namespace {

constexpr int64_t kNsPerSecond = 1'000'000'000;
constexpr uint64_t kTrackerOverhead = 256;  // tracker, list node, index entry: counted per datagram
constexpr uint32_t kMaxDatagram = 65535;

uint16_t Ipv4Checksum(const uint8_t* header, size_t len) {
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < len; i += 2) sum += uint32_t(header[i] << 8 | header[i + 1]);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return uint16_t(~sum);
}

// Where a fragment's pieces lie in the packet.
struct FragmentView {
  const uint8_t* data = nullptr;  // the fragmentable data carried
  uint32_t len = 0;
  uint32_t offset = 0;  // in bytes within the datagram
  bool more = false;
  uint32_t header_len = 0;      // IPv4 header, or IPv6 unfragmentable part, from l3_offset
  uint32_t next_header_at = 0;  // IPv6: offset from l3 of the byte naming the fragment header
  uint8_t proto = 0;            // IPv4 protocol, or the IPv6 fragment header's next header
};

bool ParseFragment(const packet::Packet& p, FragmentView* v) {
  const uint32_t l3 = p.l3_offset;
  if (p.data == nullptr || l3 >= p.caplen) return false;
  const uint8_t* ip = p.data + l3;
  const uint32_t avail = p.caplen - l3;
  if (p.ip_version == 4) {
    if (avail < 20) return false;
    const uint32_t ihl = uint32_t(ip[0] & 0x0f) * 4;
    const uint32_t total = base::LoadBe16(ip + 2);
    if (ihl < 20 || total < ihl || ihl > avail) return false;
    const uint32_t end = std::min(total, avail);
    v->header_len = ihl;
    v->data = ip + ihl;
    v->len = end - ihl;
    const uint16_t frag = base::LoadBe16(ip + 6);
    v->offset = uint32_t(frag & 0x1fff) * 8;
    v->more = frag & 0x2000;
    v->proto = ip[9];
    return true;
  }
  if (p.ip_version == 6) {
    if (avail < 40) return false;
    const uint32_t end = std::min<uint32_t>(40 + base::LoadBe16(ip + 4), avail);
    uint8_t nh = ip[6];
    uint32_t nh_at = 6;
    uint32_t pos = 40;
    for (int hops = 0; hops < 16; ++hops) {
      if (nh == 44) {
        if (pos + 8 > end) return false;
        const uint16_t frag = base::LoadBe16(ip + pos + 2);
        v->header_len = pos;
        v->next_header_at = nh_at;
        v->proto = ip[pos];
        v->offset = uint32_t(frag & 0xfff8);
        v->more = frag & 1;
        v->data = ip + pos + 8;
        v->len = end - (pos + 8);
        return true;
      }
      if (nh != 0 && nh != 43 && nh != 60) return false;
      if (pos + 8 > end) return false;
      const uint32_t len = (uint32_t(ip[pos + 1]) + 1) * 8;
      if (pos + len > end) return false;
      nh_at = pos;
      nh = ip[pos];
      pos += len;
    }
  }
  return false;
}

}  // namespace

size_t Defragmenter::KeyHash::operator()(const Key& k) const {
  uint64_t h = 0xcbf29ce484222325ull;
  auto mix = [&h](const uint8_t* p, size_t n) {
    for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 0x100000001b3ull;
  };
  mix(k.src.data(), 16);
  mix(k.dst.data(), 16);
  mix(reinterpret_cast<const uint8_t*>(&k.id), 4);
  mix(&k.proto, 1);
  mix(&k.family, 1);
  return size_t(h);
}

size_t Defragmenter::SourceHash::operator()(const std::array<uint8_t, 16>& a) const {
  uint64_t h = 0xcbf29ce484222325ull;
  for (uint8_t b : a) h = (h ^ b) * 0x100000001b3ull;
  return size_t(h);
}

base::Result<std::unique_ptr<Defragmenter>> Defragmenter::Create(DefragConfig config) {
  if (config.memcap == 0 || config.per_source_memcap == 0 || config.max_trackers == 0 ||
      config.max_fragments_per_datagram == 0) {
    return base::MakeError("defrag: caps must be positive");
  }
  return std::unique_ptr<Defragmenter>(new Defragmenter(std::move(config)));
}

Defragmenter::~Defragmenter() = default;

uint64_t Defragmenter::Footprint(const Tracker& t) const {
  return kTrackerOverhead + t.header.size() + t.link.size() + t.data.memory();
}

void Defragmenter::Drop(TrackerList::iterator t) {
  const uint64_t bytes = Footprint(*t);
  memory_used_ -= bytes;
  auto src = source_bytes_.find(t->key.src);
  if (src != source_bytes_.end()) {
    src->second -= std::min(src->second, bytes);
    if (src->second == 0) source_bytes_.erase(src);
  }
  index_.erase(t->key);
  lru_.erase(t);
}

size_t Defragmenter::Expire(int64_t now_ns, size_t budget) {
  size_t dropped = 0;
  const int64_t timeout = int64_t{config_.timeout_seconds} * kNsPerSecond;
  while (dropped < budget && !lru_.empty() && now_ns - lru_.front().first_ns > timeout) {
    Drop(lru_.begin());
    ++stats_.timeout;
    ++dropped;
  }
  return dropped;
}

std::span<const uint8_t> Defragmenter::Add(const packet::Packet& p, int64_t now_ns) {
  ++stats_.fragments;
  FragmentView f;
  if (!p.is_fragment || !ParseFragment(p, &f) || f.len == 0) {
    ++stats_.bad_fragment;
    return {};
  }
  if (f.more && (f.len & 7) != 0) {
    ++stats_.misaligned;
    f.len &= ~7u;
    if (f.len == 0) return {};
  }
  if (f.more && f.len < config_.min_fragment_bytes) ++stats_.tiny_fragment;
  const uint32_t max_data = kMaxDatagram - (p.ip_version == 4 ? f.header_len : f.header_len - 40);
  if (f.offset + f.len > max_data) {
    ++stats_.oversize;
    return {};
  }
  Expire(now_ns, 4);

  Key key{};
  key.src = p.src_ip.bytes;
  key.dst = p.dst_ip.bytes;
  key.id = p.ip_id;
  key.proto = p.ip_version == 4 ? f.proto : 0;
  key.family = p.ip_version;
  auto found = index_.find(key);
  TrackerList::iterator t;
  if (found != index_.end() &&
      now_ns - found->second->first_ns > int64_t{config_.timeout_seconds} * kNsPerSecond) {
    Drop(found->second);
    ++stats_.timeout;
    found = index_.end();
  }
  if (found == index_.end()) {
    while (lru_.size() >= config_.max_trackers) {
      Drop(lru_.begin());
      ++stats_.evicted;
    }
    lru_.emplace_back();
    t = std::prev(lru_.end());
    t->key = key;
    t->policy = config_.policies.Lookup(p.dst_ip);
    t->first_ns = now_ns;
    index_.emplace(key, t);
    memory_used_ += kTrackerOverhead;
    source_bytes_[key.src] += kTrackerOverhead;
  } else {
    t = found->second;
  }

  if (t->fragments >= config_.max_fragments_per_datagram) {
    ++stats_.too_many_fragments;
    return {};
  }
  const bool keep_link = p.l3_offset <= kMaxLinkHeader;
  const uint64_t cost = f.len + SegmentList::kPieceOverhead +
                        (f.offset == 0 ? f.header_len + (keep_link ? p.l3_offset : 0) : 0);
  if (source_bytes_[key.src] + cost > config_.per_source_memcap) {
    ++stats_.source_memcap_drop;
    if (t->fragments == 0) Drop(t);
    return {};
  }
  while (memory_used_ + cost > config_.memcap && lru_.begin() != t) {
    Drop(lru_.begin());
    ++stats_.evicted;
  }
  if (memory_used_ + cost > config_.memcap) {
    ++stats_.evicted;  // even alone this datagram does not fit
    Drop(t);
    return {};
  }

  const uint64_t before = Footprint(*t);
  ++t->fragments;
  if (f.offset == 0 && !t->have_first) {
    t->have_first = true;
    t->header.assign(p.data + p.l3_offset, p.data + p.l3_offset + f.header_len);
    if (keep_link) {
      t->link.assign(p.data, p.data + p.l3_offset);
      t->linktype = p.linktype;
    }
    t->next_header_at = f.next_header_at;
    t->proto = f.proto;
  }
  if (!f.more) {
    const uint32_t end = f.offset + f.len;
    if (t->have_last && end != t->total_len) {
      ++stats_.last_conflict;
    } else {
      t->have_last = true;
      t->total_len = end;
    }
  }
  const SegmentList::InsertResult r = t->data.Insert(f.offset, f.data, f.len, FragRules(t->policy));
  if (r.overlap_bytes != 0) ++stats_.overlap;
  if (r.conflict_bytes != 0) ++stats_.overlap_conflict;
  const uint64_t after = Footprint(*t);
  memory_used_ = memory_used_ + after - before;
  source_bytes_[key.src] = source_bytes_[key.src] + after - before;

  // Held bytes (overlaps resolved) reach the datagram's length only when it may be complete;
  // the walk over its pieces runs then, not on every fragment.
  if (!t->have_first || !t->have_last || t->data.bytes() < t->total_len) return {};
  uint64_t pos = 0;
  for (const SegmentList::Segment& s : t->data.segments()) {
    if (s.start > pos) return {};
    pos = std::max(pos, s.end());
    if (pos >= t->total_len) break;
  }
  if (pos < t->total_len) return {};
  const uint64_t length =
      t->key.family == 4 ? t->header.size() + t->total_len : t->header.size() - 40 + t->total_len;
  if (length > kMaxDatagram) {
    ++stats_.oversize;
    Drop(t);
    return {};
  }
  std::span<const uint8_t> whole = Rebuild(*t);
  ++stats_.reassembled;
  Drop(t);
  return whole;
}

std::span<const uint8_t> Defragmenter::Rebuild(Tracker& t) {
  const size_t link_len = t.link.size();
  const size_t header_len = t.header.size();
  out_.assign(link_len + header_len + t.total_len, 0);
  if (link_len != 0) std::memcpy(out_.data(), t.link.data(), link_len);
  last_linktype_ = t.linktype;
  uint8_t* ip = out_.data() + link_len;
  std::memcpy(ip, t.header.data(), header_len);
  for (const SegmentList::Segment& s : t.data.segments()) {
    if (s.start >= t.total_len) break;
    const uint64_t n = std::min<uint64_t>(s.len, t.total_len - s.start);
    std::memcpy(ip + header_len + s.start, s.data(), n);
  }
  if (t.key.family == 4) {
    base::StoreBe16(ip + 2, uint16_t(header_len + t.total_len));
    base::StoreBe16(ip + 6, 0);
    base::StoreBe16(ip + 10, 0);
    base::StoreBe16(ip + 10, Ipv4Checksum(ip, header_len));
  } else {
    base::StoreBe16(ip + 4, uint16_t(header_len - 40 + t.total_len));
    ip[t.next_header_at] = t.proto;
  }
  return {ip, header_len + t.total_len};
}

}  // namespace vigil::reassembly

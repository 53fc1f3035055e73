#include "tenant/tenant_table.h"

#include <algorithm>
#include <charconv>
#include <cstring>

#include "decode/decoder.h"
#include "tenant/program_chain.h"

namespace vigil::tenant {

namespace {
uint32_t Be32(const uint8_t* p) {
  return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3];
}
}  // namespace
namespace {

base::Error TenantError(const std::string& tenant, const std::string& message) {
  return base::MakeError("tenant '" + tenant + "': " + message);
}

}  // namespace

base::Result<TenantTable> TenantTable::Build(std::vector<TenantSpec> specs,
                                             const std::vector<std::string>& interfaces,
                                             const TenantTable* previous) {
  TenantTable table;
  bool has_default = false;
  for (const TenantSpec& s : specs) has_default |= s.name == "default";
  if (!has_default) specs.push_back(TenantSpec{.name = "default"});
  // The default tenant goes last: it is what no selector claimed.
  std::stable_partition(specs.begin(), specs.end(),
                        [](const TenantSpec& s) { return s.name != "default"; });
  for (const TenantSpec& s : specs) {
    if (s.name.empty()) return base::MakeError("a tenant needs a name");
    for (const TenantSpec& seen : table.specs_) {
      if (seen.name == s.name) return TenantError(s.name, "named twice");
    }
    if (s.weight == 0) return TenantError(s.name, "weight must be at least 1");
    if (!(s.cap > 0 && s.cap <= 1)) return TenantError(s.name, "cap must be in (0, 1]");
    Selector sel;
    for (const std::string& text : s.prefixes) {
      size_t slash = text.find('/');
      auto address = base::IpAddress::Parse(std::string_view(text).substr(0, slash));
      if (!address) return TenantError(s.name, "'" + text + "' is not an address or prefix");
      int length = address->bit_width();
      if (slash != std::string::npos) {
        std::string_view digits = std::string_view(text).substr(slash + 1);
        auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), length);
        if (ec != std::errc{} || end != digits.data() + digits.size() || length < 0 ||
            length > address->bit_width()) {
          return TenantError(s.name, "'" + text + "': bad prefix length");
        }
      }
      sel.prefixes.push_back({*address, length});
    }
    sel.vlans = s.vlans;
    for (const std::string& name : s.interfaces) {
      auto it = std::find(interfaces.begin(), interfaces.end(), name);
      if (it == interfaces.end()) {
        return TenantError(s.name, "interface '" + name + "' is not one vigil captures on");
      }
      sel.interfaces.push_back(uint32_t(it - interfaces.begin()));
    }
    std::shared_ptr<ProgramChain> chain;
    if (!s.programs.empty()) {
      if (previous != nullptr) {
        for (uint32_t t = 0; t < previous->size(); ++t) {
          if (previous->specs_[t].name == s.name && previous->chains_[t] != nullptr &&
              previous->chains_[t]->Reusable(s.programs)) {
            chain = previous->chains_[t];
          }
        }
      }
      if (chain == nullptr) {
        auto loaded = ProgramChain::Load(s.programs, s.name);
        if (!loaded) return loaded.error();
        chain = std::move(*loaded);
      }
      table.has_programs_ = true;
    }
    table.specs_.push_back(s);
    table.selectors_.push_back(std::move(sel));
    table.chains_.push_back(std::move(chain));
  }
  table.default_ = uint32_t(table.specs_.size() - 1);
  // The IPv4 fast path: when every tenant selects by prefixes alone, an IPv4 packet's tenant is
  // the first IPv4 prefix in tenant order that holds its destination, else its source.
  table.v4_only_prefixes_ = true;
  for (uint32_t t = 0; t < table.default_; ++t) {
    const Selector& sel = table.selectors_[t];
    table.v4_only_prefixes_ &= sel.vlans.empty() && sel.interfaces.empty() && !sel.prefixes.empty();
    for (const Prefix& pre : sel.prefixes) {
      if (!pre.network.is_v4()) continue;
      const uint32_t mask = pre.length == 0 ? 0 : ~0u << (32 - pre.length);
      table.v4_.push_back(
          {.network = Be32(pre.network.bytes.data()) & mask, .mask = mask, .tenant = t});
    }
  }
  return table;
}

namespace {

// base::IpAddress::InPrefix without its calls (memcmp of a variable length): the first
// `length` bits of the two 16-byte addresses compared as two big-endian 64-bit words. This runs
// for every packet, several times (each tenant's prefixes, destination then source).
inline bool InPrefix(const base::IpAddress& a, const base::IpAddress& network, int length) {
  if (a.family != network.family) return false;
  uint64_t x[2], y[2];
  std::memcpy(x, a.bytes.data(), 16);
  std::memcpy(y, network.bytes.data(), 16);
  const uint64_t hi = __builtin_bswap64(x[0] ^ y[0]), lo = __builtin_bswap64(x[1] ^ y[1]);
  const uint64_t hi_mask = length >= 64 ? ~0ull : length <= 0 ? 0 : ~0ull << (64 - length);
  const uint64_t lo_mask = length >= 128 ? ~0ull : length <= 64 ? 0 : ~0ull << (128 - length);
  return ((hi & hi_mask) | (lo & lo_mask)) == 0;
}

}  // namespace

uint32_t TenantTable::ClassifyV4(uint32_t src, uint32_t dst) const {
  for (const V4Prefix& e : v4_) {
    if ((dst & e.mask) == e.network) return e.tenant;
  }
  for (const V4Prefix& e : v4_) {
    if ((src & e.mask) == e.network) return e.tenant;
  }
  return default_;
}

uint32_t TenantTable::Classify(const packet::Packet& p, uint32_t ingress) const {
  if (v4_only_prefixes_ && p.ip_version != 0 && p.src_ip.is_v4() && p.dst_ip.is_v4()) {
    return ClassifyV4(Be32(p.src_ip.bytes.data()), Be32(p.dst_ip.bytes.data()));
  }
  const bool ip = p.ip_version != 0;
  return ClassifyKeys({.has_vlan = p.vlan_count > 0,
                       .vlan = p.vlan_ids[0],
                       .src = ip ? &p.src_ip : nullptr,
                       .dst = ip ? &p.dst_ip : nullptr},
                      ingress);
}

uint32_t TenantTable::ClassifyFrame(std::span<const uint8_t> frame, uint32_t ingress) const {
  // The decoder's rules (decode/decoder.cc: DecodeEthertype, DecodeIpv4, DecodeIpv6), reduced to
  // what selectors read; tenant_table_test holds the two to the same answers.
  Keys keys;
  base::IpAddress src, dst;
  auto be16 = [&](size_t at) { return uint16_t(frame[at] << 8 | frame[at + 1]); };
  if (frame.size() < 14) return ClassifyKeys(keys, ingress);
  uint16_t type = be16(12);
  size_t at = 14;
  int tags = 0;
  while (type == 0x8100 || type == 0x88a8 || type == 0x9100) {  // 802.1Q, 802.1ad, pre-standard
    if (tags == decode::kMaxVlanTags || frame.size() - at < 4) return ClassifyKeys(keys, ingress);
    if (tags == 0) {
      keys.has_vlan = true;
      keys.vlan = be16(at) & 0x0fff;
    }
    ++tags;
    type = be16(at + 2);
    at += 4;
  }
  const uint8_t* ip = frame.data() + at;
  const size_t left = frame.size() - at;
  if (type == 0x0800 && left >= 20 && ip[0] >> 4 == 4) {
    const size_t header_len = size_t(ip[0] & 0x0f) * 4;
    if (header_len >= 20 && header_len <= left && size_t(ip[2] << 8 | ip[3]) >= header_len) {
      if (v4_only_prefixes_) return ClassifyV4(Be32(ip + 12), Be32(ip + 16));
      src = base::IpAddress::V4(ip + 12);
      dst = base::IpAddress::V4(ip + 16);
      keys.src = &src;
      keys.dst = &dst;
    }
  } else if (type == 0x86dd && left >= 40 && ip[0] >> 4 == 6) {
    src = base::IpAddress::V6(ip + 8);
    dst = base::IpAddress::V6(ip + 24);
    keys.src = &src;
    keys.dst = &dst;
  }
  return ClassifyKeys(keys, ingress);
}

uint32_t TenantTable::ClassifyKeys(const Keys& keys, uint32_t ingress) const {
  auto matches = [&](const Selector& sel, const base::IpAddress* address) {
    if (!sel.interfaces.empty() &&
        std::find(sel.interfaces.begin(), sel.interfaces.end(), ingress) == sel.interfaces.end()) {
      return false;
    }
    if (!sel.vlans.empty() && (!keys.has_vlan || std::find(sel.vlans.begin(), sel.vlans.end(),
                                                           keys.vlan) == sel.vlans.end())) {
      return false;
    }
    if (sel.prefixes.empty()) return true;
    if (address == nullptr) return false;
    for (const Prefix& pre : sel.prefixes) {
      if (InPrefix(*address, pre.network, pre.length)) return true;
    }
    return false;
  };
  // Destination first, over every tenant; then the source; selectors without prefixes match on
  // the first pass already.
  for (const base::IpAddress* address : {keys.dst, keys.src}) {
    for (uint32_t t = 0; t < default_; ++t) {
      if (matches(selectors_[t], address)) return t;
    }
  }
  return default_;
}

}  // namespace vigil::tenant

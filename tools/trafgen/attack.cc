#include "trafgen/attack.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <variant>

#include "detect/content_match.h"

namespace vigil::trafgen {
namespace {

// How many random candidates each stage of PickAddress tries before the next stage.
constexpr int kAddressTries = 32;

void CollectNetworks(const rules::AddressExpr& e, std::vector<Subnet>& out) {
  if (e.negated) return;  // a negated member only excludes
  if (e.kind == rules::AddressExpr::Kind::kCidr) out.push_back({e.network, e.prefix_len});
  if (e.kind == rules::AddressExpr::Kind::kList) {
    for (const auto& m : e.members) CollectNetworks(m, out);
  }
}

void CollectRanges(const rules::PortExpr& e, std::vector<std::pair<uint16_t, uint16_t>>& out) {
  if (e.negated) return;
  if (e.kind == rules::PortExpr::Kind::kRange) out.emplace_back(e.lo, e.hi);
  if (e.kind == rules::PortExpr::Kind::kList) {
    for (const auto& m : e.members) CollectRanges(m, out);
  }
}

uint8_t Lower(uint8_t c) { return (c >= 'A' && c <= 'Z') ? uint8_t(c + 32) : c; }

// A short printable form of a pattern, for skip reasons.
std::string Printable(const std::string& pattern) {
  std::string s;
  for (unsigned char c : pattern.substr(0, 24)) {
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '|') {
      s.push_back(char(c));
    } else {
      s += fmt::format("|{:02X}|", c);
    }
  }
  if (pattern.size() > 24) s += "...";
  return s;
}

// A filler byte that no content contains in any letter case, so that the gaps between placed
// contents can never complete or fake one. Printable choices first, for readable payloads.
std::optional<uint8_t> ChooseFiller(std::span<const rules::ContentOption* const> contents) {
  std::array<bool, 256> used{};
  for (const rules::ContentOption* c : contents) {
    for (unsigned char b : c->pattern) {
      used[b] = true;
      used[Lower(b)] = true;
      if (b >= 'a' && b <= 'z') used[b - 32] = true;
    }
  }
  for (unsigned char b : std::string_view("x.Q-_ Z#~0")) {
    if (!used[b]) return b;
  }
  for (int b = 1; b < 256; ++b) {
    if (!used[b]) return uint8_t(b);
  }
  return std::nullopt;
}

}  // namespace

std::optional<Subnet> ParseSubnet(std::string_view text) {
  size_t slash = text.find('/');
  auto ip = base::IpAddress::Parse(text.substr(0, slash));
  if (!ip) return std::nullopt;
  int len = ip->bit_width();
  if (slash != std::string_view::npos) {
    std::string_view digits = text.substr(slash + 1);
    if (digits.empty() || digits.size() > 3) return std::nullopt;
    len = 0;
    for (char c : digits) {
      if (c < '0' || c > '9') return std::nullopt;
      len = len * 10 + (c - '0');
    }
    if (len > ip->bit_width()) return std::nullopt;
  }
  return Subnet{*ip, len};
}

base::IpAddress RandomAddress(Rng& rng, const Subnet& subnet) {
  base::IpAddress a = subnet.network;
  const int width = a.bit_width();
  const int host_bits = width - subnet.prefix_len;
  for (int attempt = 0; attempt < 8; ++attempt) {
    for (int bit = subnet.prefix_len; bit < width; ++bit) {
      const uint8_t mask = uint8_t(0x80 >> (bit % 8));
      if (rng.Next() & 1) {
        a.bytes[bit / 8] |= mask;
      } else {
        a.bytes[bit / 8] &= uint8_t(~mask);
      }
    }
    if (!a.is_v4() || host_bits < 2) return a;
    // Avoid the network and broadcast addresses of an IPv4 subnet.
    bool all_zero = true;
    bool all_one = true;
    for (int bit = subnet.prefix_len; bit < width; ++bit) {
      bool set = a.bytes[bit / 8] & (0x80 >> (bit % 8));
      all_zero &= !set;
      all_one &= set;
    }
    if (!all_zero && !all_one) return a;
  }
  return a;
}

std::optional<base::IpAddress> PickAddress(const rules::AddressExpr& expr, Rng& rng,
                                           std::span<const Subnet> preferred, int family) {
  auto fits = [&](const Subnet& s) { return family == 0 || s.network.family == family; };
  std::vector<Subnet> pools;
  for (const Subnet& s : preferred) {
    if (fits(s)) pools.push_back(s);
  }
  std::vector<Subnet> own;
  CollectNetworks(expr, own);
  std::erase_if(own, [&](const Subnet& s) { return !fits(s); });
  const std::array<Subnet, 2> everywhere = {
      Subnet{base::IpAddress{{}, 4}, 0},
      Subnet{base::IpAddress{{}, 6}, 0},
  };
  std::vector<Subnet> anywhere;
  for (const Subnet& s : everywhere) {
    if (fits(s)) anywhere.push_back(s);
  }
  for (const std::vector<Subnet>* stage : {&pools, &own, &anywhere}) {
    if (stage->empty()) continue;
    for (int i = 0; i < kAddressTries; ++i) {
      base::IpAddress a = RandomAddress(rng, rng.Pick(*stage));
      if (expr.Matches(a)) return a;
    }
  }
  return std::nullopt;
}

std::optional<uint16_t> PickPort(const rules::PortExpr& expr, Rng& rng, uint16_t preferred) {
  if (expr.Matches(preferred)) return preferred;
  std::vector<std::pair<uint16_t, uint16_t>> ranges;
  CollectRanges(expr, ranges);
  for (int i = 0; i < 64 && !ranges.empty(); ++i) {
    const auto& [lo, hi] = rng.Pick(ranges);
    uint16_t p = uint16_t(rng.Range(lo, hi));
    if (p != 0 && expr.Matches(p)) return p;
  }
  for (int i = 0; i < 64; ++i) {
    uint16_t p = uint16_t(rng.Range(1, 65535));
    if (expr.Matches(p)) return p;
  }
  // Exhaustive, from a random start, so nullopt means that no port matches at all.
  const uint32_t start = uint32_t(rng.Range(1, 65535));
  for (uint32_t i = 0; i < 65535; ++i) {
    uint16_t p = uint16_t(1 + (start - 1 + i) % 65535);
    if (expr.Matches(p)) return p;
  }
  return std::nullopt;
}

base::Result<std::vector<uint8_t>> BuildContentPayload(
    std::span<const rules::ContentOption* const> contents) {
  std::optional<uint8_t> filler = ChooseFiller(contents);
  if (!filler) return base::MakeError("contents use every byte value: no neutral filler byte");
  std::vector<uint8_t> buf;
  std::vector<bool> fixed;
  int64_t cursor = 0;
  const int64_t limit = int64_t(kMaxAttackPayload);
  for (size_t i = 0; i < contents.size(); ++i) {
    const rules::ContentOption& c = *contents[i];
    if (c.negated || c.pattern.empty()) continue;  // negated ones are checked at the end
    const int64_t n = int64_t(c.pattern.size());
    // The window, exactly as detect/content_match.cc computes it.
    int64_t start = 0;
    int64_t end = limit;
    if (c.IsRelative()) {
      start = cursor + c.distance.value_or(0);
      if (c.within) end = start + *c.within;
    } else {
      start = c.offset.value_or(0);
      if (c.depth) end = start + *c.depth;
    }
    start = std::max<int64_t>(start, 0);
    end = std::min<int64_t>(end, limit);
    int64_t at = -1;
    for (int64_t p = start; p + n <= end && at < 0; ++p) {
      bool ok = true;
      for (int64_t k = 0; k < n && ok; ++k) {
        if (size_t(p + k) >= buf.size() || !fixed[size_t(p + k)]) continue;
        uint8_t have = buf[size_t(p + k)];
        uint8_t want = uint8_t(c.pattern[size_t(k)]);
        ok = have == want || (c.nocase && Lower(have) == Lower(want));
      }
      if (ok) at = p;
    }
    if (at < 0) {
      return base::MakeError(
          fmt::format("content {} \"{}\" does not fit its window", i + 1, Printable(c.pattern)));
    }
    if (buf.size() < size_t(at + n)) {
      buf.resize(size_t(at + n), *filler);
      fixed.resize(size_t(at + n), false);
    }
    for (int64_t k = 0; k < n; ++k) {
      if (!fixed[size_t(at + k)]) buf[size_t(at + k)] = uint8_t(c.pattern[size_t(k)]);
      fixed[size_t(at + k)] = true;
    }
    cursor = at + n;
  }
  if (buf.empty()) return base::MakeError("no positive content");
  // Some trailing filler, as data usually goes on after what a rule looks for.
  buf.resize(std::min<size_t>(buf.size() + 16, kMaxAttackPayload), *filler);

  if (!detect::MatchContents(contents, buf.data(), uint32_t(buf.size()))) {
    std::vector<const rules::ContentOption*> positive;
    for (const rules::ContentOption* c : contents) {
      if (!c->negated) positive.push_back(c);
    }
    if (detect::MatchContents(positive, buf.data(), uint32_t(buf.size()))) {
      return base::MakeError("a negated content is present in the built payload");
    }
    return base::MakeError("the content matcher rejects the built payload (overlapping contents)");
  }
  return buf;
}

base::Result<AttackTemplate> BuildAttack(const rules::Rule& rule) {
  if (!rule.enabled) return base::MakeError("disabled: " + rule.disabled_reason);
  if (rule.action == rules::Action::kPass) return base::MakeError("pass rule (never alerts)");
  if (rule.action == rules::Action::kSdrop) return base::MakeError("sdrop rule (never alerts)");
  if (!rule.service.empty() || !rule.protocol_variant.empty()) {
    return base::MakeError("application or narrowed protocol in the header");
  }
  if (rule.protocol == rules::Protocol::kIcmp) return base::MakeError("protocol icmp");
  std::vector<const rules::ContentOption*> contents;
  const rules::FlowOption* flow = nullptr;
  for (const rules::Option& o : rule.options) {
    if (const auto* f = std::get_if<rules::FlowOption>(&o)) {
      flow = f;
      continue;
    }
    const auto* c = std::get_if<rules::ContentOption>(&o);
    if (c == nullptr) return base::MakeError("a detection option other than content and flow");
    if (!c->buffer.empty()) return base::MakeError("content in buffer " + c->buffer);
    contents.push_back(c);
  }
  if (std::none_of(contents.begin(), contents.end(),
                   [](const rules::ContentOption* c) { return !c->negated; })) {
    return base::MakeError("no positive content");
  }
  auto payload = BuildContentPayload(contents);
  if (!payload) return payload.error();
  AttackTemplate t;
  t.payload = std::move(*payload);
  t.udp = rule.protocol != rules::Protocol::kTcp;
  t.server_sends = !rule.src_port.IsAny() && rule.dst_port.IsAny();
  if (flow != nullptr) {
    using F = rules::FlowOption;
    if (flow->state == F::State::kNotEstablished) return base::MakeError("flow:not_established");
    if (flow->stream == F::Stream::kOnlyStream) return base::MakeError("flow:only_stream");
    if (flow->frag == F::Frag::kOnlyFrag) return base::MakeError("flow:only_frag");
    if (flow->state == F::State::kEstablished) {
      if (rule.protocol == rules::Protocol::kUdp) {
        return base::MakeError("flow:established on udp");
      }
      t.udp = false;  // an `ip` rule: a TCP session establishes it
    }
    if (flow->direction != F::Direction::kAny) {
      t.server_sends = flow->direction == F::Direction::kToClient;
    }
    t.needs_flow = true;
  }
  return t;
}

}  // namespace vigil::trafgen

#include "app/dns.h"

#include <algorithm>

namespace vigil::app {
namespace {

constexpr size_t kHeaderBytes = 12;
constexpr size_t kMaxNameBytes = 255;

uint16_t Be16(const uint8_t* p) { return uint16_t(p[0] << 8 | p[1]); }

// Reads the name at data[*pos], appending it to `name` in dotted form and moving *pos past it (past
// the first pointer when compressed). False when it runs past the message, a label is longer than
// 63 bytes, the name longer than 255, or a pointer does not point backwards.
bool ReadName(const uint8_t* data, size_t len, size_t* pos, std::string& name) {
  size_t at = *pos;
  size_t limit = at;  // a pointer must point before where the name being read started
  bool jumped = false;
  size_t wire = 0;
  while (true) {
    if (at >= len) return false;
    const uint8_t b = data[at];
    if ((b & 0xc0) == 0xc0) {
      if (at + 1 >= len) return false;
      const size_t target = size_t(b & 0x3f) << 8 | data[at + 1];
      if (target >= limit) return false;
      if (!jumped) *pos = at + 2;
      jumped = true;
      limit = target;
      at = target;
      continue;
    }
    if (b & 0xc0) return false;  // 0x40 / 0x80: extended label types, not in use
    if (b == 0) {
      if (!jumped) *pos = at + 1;
      return true;
    }
    if (at + 1 + b > len) return false;
    wire += size_t(b) + 1;
    if (wire > kMaxNameBytes) return false;
    if (!name.empty()) name.push_back('.');
    name.append(reinterpret_cast<const char*>(data + at + 1), b);
    at += 1 + size_t(b);
  }
}

}  // namespace

void DnsStats::ForEach(const std::function<void(std::string_view, uint64_t)>& f) const {
#define VIGIL_DNS_VISIT(field, name) f(name, field);
  VIGIL_DNS_COUNTERS(VIGIL_DNS_VISIT)
#undef VIGIL_DNS_VISIT
}

bool ParseDns(const uint8_t* data, size_t len, DnsMessage& out, DnsStats& stats) {
  out.queries.clear();
  out.answers.clear();
  auto malformed = [&] {
    ++stats.malformed;
    return false;
  };
  if (len < kHeaderBytes) return malformed();
  out.id = Be16(data);
  const uint16_t flags = Be16(data + 2);
  out.response = (flags & 0x8000) != 0;
  out.opcode = uint8_t((flags >> 11) & 0xf);
  out.rcode = uint8_t(flags & 0xf);
  const uint16_t qdcount = Be16(data + 4);
  const uint16_t ancount = Be16(data + 6);
  if (out.opcode > 6 || out.opcode == 3) return malformed();
  if (qdcount > kMaxQuestions || (qdcount == 0 && !out.response)) return malformed();
  size_t pos = kHeaderBytes;
  for (uint16_t i = 0; i < qdcount; ++i) {
    DnsRecord q;
    if (!ReadName(data, len, &pos, q.name) || pos + 4 > len) return malformed();
    q.type = Be16(data + pos);
    q.rclass = Be16(data + pos + 2);
    pos += 4;
    out.queries.push_back(std::move(q));
  }
  // Answers: kept while they parse; a damaged answer section ends them, the message stays.
  for (uint16_t i = 0; i < ancount; ++i) {
    if (out.answers.size() >= kMaxAnswers) {
      stats.answers_skipped += ancount - i;
      break;
    }
    DnsRecord a;
    if (!ReadName(data, len, &pos, a.name) || pos + 10 > len) break;
    a.type = Be16(data + pos);
    a.rclass = Be16(data + pos + 2);
    const size_t rdlength = Be16(data + pos + 8);
    pos += 10;
    if (pos + rdlength > len) break;
    pos += rdlength;
    out.answers.push_back(std::move(a));
  }
  ++stats.messages;
  return true;
}

void DnsTcpStream::Feed(bool to_server, const uint8_t* data, size_t len, DnsStats& stats,
                        std::vector<DnsMessage>& out) {
  Side& s = side_[to_server ? 0 : 1];
  while (len > 0 && !s.stopped) {
    // Complete the length prefix, then the message it announces.
    size_t want = 2;
    if (s.pending.size() >= 2) {
      want = 2 + Be16(reinterpret_cast<const uint8_t*>(s.pending.data()));
    }
    const size_t take = std::min(len, want - s.pending.size());
    s.pending.append(reinterpret_cast<const char*>(data), take);
    data += take;
    len -= take;
    if (s.pending.size() < want) continue;
    if (want == 2) {
      if (Be16(reinterpret_cast<const uint8_t*>(s.pending.data())) == 0) s.pending.clear();
      continue;
    }
    DnsMessage msg;
    if (ParseDns(reinterpret_cast<const uint8_t*>(s.pending.data()) + 2, s.pending.size() - 2, msg,
                 stats)) {
      ++stats.tcp_messages;
      out.push_back(std::move(msg));
    }
    s.pending.clear();
  }
}

}  // namespace vigil::app

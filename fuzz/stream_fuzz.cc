// stream_fuzz: libFuzzer target for flow tracking, TCP reassembly and IP defragmentation.
//
// The input is a little program. Byte 0 configures the run (history size, overlap policy,
// midstream pickup); then each instruction is an opcode byte followed by its fields, read with
// bounds checks (a short read ends the program):
//   op % 6 == 0  TCP segment: flow (1), flags (1), sequence offset (2), length (1). Its bytes are
//                a fixed function of their sequence number, so any delivered byte can be checked.
//   op % 6 == 1  TCP segment with bytes taken from the input (may conflict with earlier data).
//   op % 6 == 2  IPv4 fragment: id (1), offset/8 (2, MF in the top bit), length (1), bytes.
//   op % 6 == 3  IPv6 fragment, same fields.
//   op % 6 == 4  time passes: seconds (1); flows and fragments expire.
//   op % 6 == 5  acknowledgment from the receiver: flow (1), offset (2) -> SkipGap.
// Invariants (abort on violation): every view is well formed (new_from <= len, history within
// history_bytes, contiguous with what the same direction delivered before unless a gap was
// skipped); a direction never delivers more bytes than were offered to it; bytes that only came
// from the sequence-number function are delivered exactly as that function says; memory and
// table caps hold after every instruction; every reassembled datagram decodes again as raw IP.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <vector>

#include "base/bytes.h"
#include "decode/decoder.h"
#include "flow/flow_table.h"
#include "flow/tcp_tracker.h"
#include "reassembly/defrag.h"
#include "reassembly/tcp_reassembler.h"

namespace {

using namespace vigil;

void Require(bool ok) {
  if (!ok) std::abort();
}

struct Reader {
  const uint8_t* p;
  size_t n;
  bool Get(uint8_t* v) {
    if (n == 0) return false;
    *v = *p++;
    --n;
    return true;
  }
  bool Get16(uint16_t* v) {
    if (n < 2) return false;
    *v = uint16_t(p[0] << 8 | p[1]);
    p += 2;
    n -= 2;
    return true;
  }
};

uint8_t ByteAt(uint32_t seq) { return uint8_t(seq * 131u + (seq >> 8) + 7); }

struct DirState {
  uint64_t offered = 0;    // payload bytes offered (upper bound on what may be delivered)
  uint64_t delivered = 0;  // new bytes delivered
  uint64_t next_offset = 0;
  bool tainted = false;  // bytes from the input were offered: content is not predictable
  bool gap = false;      // a hole was skipped: offsets may jump
};

constexpr uint32_t kMemcap = 64 << 10;
constexpr uint64_t kDefragMemcap = 32 << 10;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  Reader in{data + 1, size - 1};
  const uint8_t cfg = data[0];
  const uint32_t history = (cfg & 3) == 0 ? 0 : (cfg & 3) * 24;
  const auto policy = static_cast<reassembly::Policy>((cfg >> 2) % reassembly::kPolicyCount);

  auto table = std::move(*flow::FlowTable::Create({.max_flows = 3}));
  auto reasm =
      std::move(*reassembly::TcpReassembler::Create({.history_bytes = history,
                                                     .max_queued_bytes = 4096,
                                                     .max_queued_segments = 16,
                                                     .memcap = kMemcap,
                                                     .policies = reassembly::PolicyTable(policy)}));
  table->SetReleaseHook(&reassembly::TcpReassembler::OnRelease, reasm.get());
  auto defrag =
      std::move(*reassembly::Defragmenter::Create({.policies = reassembly::PolicyTable(policy),
                                                   .memcap = kDefragMemcap,
                                                   .per_source_memcap = 16 << 10,
                                                   .max_trackers = 4,
                                                   .max_fragments_per_datagram = 8}));
  flow::TcpTracker tracker({.midstream = (cfg & 0x80) == 0});
  decode::Decoder decoder;
  std::map<std::pair<uint64_t, int>, DirState> dirs;
  int64_t now = 0;
  uint8_t bytes[256];

  auto check_view = [&](const flow::Flow& f, flow::Direction d, const reassembly::StreamView& v) {
    if (!v.has_new()) return;
    DirState& s = dirs[{f.flow_id, flow::Index(d)}];
    Require(v.data != nullptr && v.new_from <= v.len && v.new_from <= history);
    const uint64_t fresh = v.len - v.new_from;
    if (!s.gap) Require(v.stream_offset + v.new_from == s.next_offset);
    Require(v.stream_offset + v.new_from >= s.next_offset);
    s.delivered += fresh;
    Require(s.delivered <= s.offered);
    s.next_offset = v.stream_offset + v.len;
    if (!s.tainted) {
      const flow::StreamAnchor& a = f.stream[flow::Index(d)];
      const uint32_t base = a.next_seq - uint32_t(a.delivered);
      for (size_t i = 0; i < v.len; ++i) {
        Require(v.data[i] == ByteAt(base + uint32_t(v.stream_offset + i)));
      }
    }
  };

  while (true) {
    uint8_t op;
    if (!in.Get(&op)) break;
    switch (op % 6) {
      case 0:
      case 1: {
        uint8_t which, flags, len;
        uint16_t seq_off;
        if (!in.Get(&which) || !in.Get(&flags) || !in.Get16(&seq_off) || !in.Get(&len)) break;
        const uint8_t c[4] = {10, 0, 0, uint8_t(1 + (which & 3))};
        const uint8_t s[4] = {10, 0, 0, 100};
        const bool to_server = !(which & 4);
        const base::IpAddress ca = base::IpAddress::V4(c), sa = base::IpAddress::V4(s);
        const flow::KeyedPacket k = to_server ? flow::MakeKey(ca, 40000, sa, 80, packet::kProtoTcp)
                                              : flow::MakeKey(sa, 80, ca, 40000, packet::kProtoTcp);
        // Sequence numbers near the 2^32 wrap for half of the flows.
        const uint32_t isn = (which & 8) ? 0xffffff00u : 1000u;
        flow::TcpSegment seg{.flags = flags,
                             .seq = isn + seq_off,
                             .ack = uint32_t(5000 + seq_off),
                             .window = uint16_t(seq_off | 1),
                             .payload_len = len};
        bool tainted = op % 6 == 1;
        for (uint32_t i = 0; i < len; ++i) {
          if (tainted) {
            if (!in.Get(&bytes[i])) bytes[i] = 0;
          } else {
            bytes[i] = ByteAt(seg.seq + ((flags & packet::kTcpSyn) ? 1 : 0) + i);
          }
        }
        flow::Lookup l = table->FindOrCreate(k, now, len + 54);
        Require(l.flow != nullptr && table->size() <= 3);
        const flow::TcpVerdict v = tracker.Update(*l.flow, l.dir, seg);
        if (v.restarted) {
          reasm->Reset(*l.flow);
          dirs.erase({l.flow->flow_id, 0});
          dirs.erase({l.flow->flow_id, 1});
        }
        if (v.payload_ok) {
          DirState& st = dirs[{l.flow->flow_id, flow::Index(l.dir)}];
          st.offered += len;
          st.tainted |= tainted;
          check_view(*l.flow, l.dir, reasm->Add(*l.flow, l.dir, v.payload_seq, bytes, len));
        }
        break;
      }
      case 2:
      case 3: {
        uint8_t id, len;
        uint16_t off;
        if (!in.Get(&id) || !in.Get16(&off) || !in.Get(&len)) break;
        const bool v6 = op % 6 == 3;
        std::vector<uint8_t> pkt(v6 ? 48 : 20, 0);
        if (v6) {
          pkt[0] = 0x60;
          base::StoreBe16(&pkt[4], uint16_t(8 + len));
          pkt[6] = 44;
          pkt[7] = 64;
          pkt[8] = 0x20;
          pkt[23] = 1;
          pkt[24] = 0x20;
          pkt[39] = 2;
          pkt[40] = packet::kProtoUdp;
          base::StoreBe16(&pkt[42], uint16_t((off & 0x1fff) << 3 | (off >> 15)));
          pkt[47] = id;
        } else {
          pkt[0] = 0x45;
          base::StoreBe16(&pkt[2], uint16_t(20 + len));
          pkt[5] = id;
          base::StoreBe16(&pkt[6], uint16_t((off & 0x1fff) | ((off >> 15) << 13)));
          pkt[8] = 64;
          pkt[9] = packet::kProtoUdp;
          pkt[12] = 10;
          pkt[15] = 1;
          pkt[16] = 10;
          pkt[19] = 2;
          uint32_t sum = 0;
          for (int i = 0; i < 20; i += 2) sum += uint32_t(pkt[i] << 8 | pkt[i + 1]);
          while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
          base::StoreBe16(&pkt[10], uint16_t(~sum));
        }
        for (uint32_t i = 0; i < len; ++i) {
          uint8_t b = 0;
          (void)in.Get(&b);
          pkt.push_back(b);
        }
        packet::Packet p;
        p.data = pkt.data();
        p.caplen = p.wirelen = uint32_t(pkt.size());
        p.linktype = packet::LinkType::kRaw;
        decoder.Decode(p);
        if (!p.is_fragment) break;
        const std::span<const uint8_t> whole = defrag->Add(p, now);
        Require(defrag->memory_used() <= kDefragMemcap && defrag->tracker_count() <= 4);
        if (!whole.empty()) {
          Require(whole.size() <= 65535 + 40);
          std::vector<uint8_t> copy(whole.begin(), whole.end());  // exact-size heap buffer
          packet::Packet q;
          q.data = copy.data();
          q.caplen = q.wirelen = uint32_t(copy.size());
          q.linktype = packet::LinkType::kRaw;
          decoder.Decode(q);
          Require(q.ip_version == (v6 ? 6 : 4) && !q.is_fragment);
        }
        break;
      }
      case 4: {
        uint8_t secs;
        if (!in.Get(&secs)) break;
        now += int64_t(secs) * 1'000'000'000;
        table->Expire(now, 8);
        defrag->Expire(now, 8);
        break;
      }
      case 5: {
        uint8_t which;
        uint16_t off;
        if (!in.Get(&which) || !in.Get16(&off)) break;
        const uint8_t c[4] = {10, 0, 0, uint8_t(1 + (which & 3))};
        const uint8_t s[4] = {10, 0, 0, 100};
        const flow::KeyedPacket k = flow::MakeKey(base::IpAddress::V4(c), 40000,
                                                  base::IpAddress::V4(s), 80, packet::kProtoTcp);
        flow::Flow* f = table->Find(k);
        if (f == nullptr) break;
        const flow::Direction d =
            (which & 4) ? flow::Direction::kToClient : flow::Direction::kToServer;
        const uint32_t isn = (which & 8) ? 0xffffff00u : 1000u;
        DirState& st = dirs[{f->flow_id, flow::Index(d)}];
        st.gap = true;  // offsets may jump from here on
        check_view(*f, d, reasm->SkipGap(*f, d, isn + off));
        break;
      }
    }
    Require(reasm->memory_used() <= kMemcap);
    Require(table->size() <= 3);
  }
  table.reset();  // releases every flow's buffers through the hook
  Require(reasm->memory_used() == 0);
  return 0;
}

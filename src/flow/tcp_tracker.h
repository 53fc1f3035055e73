// TcpTracker: follows each TCP (Transmission Control Protocol) flow's connection state — the
// three-way handshake, midstream pickup, sequence and window checks, FIN/RST close, SYN
// retransmission, data on SYN (TCP Fast Open) — and decides which segments' payload reassembly
// may take. Sequence numbers are compared with serial-number arithmetic (RFC 1982), so a stream
// that wraps past 2^32 is followed like any other.
//
//   flow::TcpTracker tracker({.midstream = true});   // default: off, as Suricata's
//   flow::Lookup l = table.FindOrCreate(k, now_ns, p.caplen);
//   flow::TcpVerdict v = tracker.Update(*l.flow, l.dir, flow::TcpSegment::From(p));
//   if (v.restarted) reassembler.Reset(*l.flow);      // the 4-tuple was reused by a new SYN
//   if (v.payload_ok) reassembler.Add(*l.flow, l.dir, v.payload_seq, p.payload, p.payload_len);
//
// What it keeps: Flow::tcp[2] (20 bytes a side), Flow::tcp_state, Flow::state and the
// established/midstream flags. `l.dir` may flip on the first packet: a flow first seen with the
// server's SYN-ACK makes the receiver the client. Decisions:
// - The client is the sender of the first SYN; midstream, the sender of the first packet unless
//   its source port is below 1024 and its destination port is not (then it is the server).
// - flow:established (Flow::established()) once the client ACKs the server's SYN-ACK, or at once
//   on midstream pickup; it stays set until the flow ends.
// - A segment whose first byte lies at or beyond the receiver's right window edge (last ACK +
//   scaled window) is out of window: counted, its payload not taken. Data at or after the
//   sender's FIN, and segments before any SYN with midstream pickup off, are not taken either.
// - An RST is honoured only inside the receiver's window (or, answering a SYN, with the right
//   ACK); others are counted and ignored so that a forged RST cannot end inspection.
// - A SYN whose sequence number repeats the first is a retransmission (payload offered again;
//   reassembly drops the duplicate). A new SYN after FIN/RST, or a SYN with a new ISN (initial
//   sequence number) before the handshake completed, restarts tracking (`restarted`).
// Cost per packet: a few comparisons on two cache lines of the flow; options are parsed only on
// SYNs. No allocation.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string_view>

#include "flow/flow.h"
#include "packet/packet.h"

namespace vigil::flow {

// Serial-number comparisons: a is before b when b - a, as a signed 32-bit value, is positive.
[[nodiscard]] constexpr bool SeqLt(uint32_t a, uint32_t b) { return int32_t(a - b) < 0; }
[[nodiscard]] constexpr bool SeqLeq(uint32_t a, uint32_t b) { return int32_t(a - b) <= 0; }
[[nodiscard]] constexpr bool SeqGt(uint32_t a, uint32_t b) { return int32_t(a - b) > 0; }
[[nodiscard]] constexpr bool SeqGeq(uint32_t a, uint32_t b) { return int32_t(a - b) >= 0; }

// The TCP fields the tracker reads.
struct TcpSegment {
  uint8_t flags = 0;
  uint32_t seq = 0;
  uint32_t ack = 0;
  uint16_t window = 0;
  int8_t wscale = -1;  // the SYN's window-scale option, -1 when absent
  uint32_t payload_len = 0;

  // From a decoded TCP packet (has_tcp); reads the options only when SYN is set.
  [[nodiscard]] static TcpSegment From(const packet::Packet& p);
};

struct TcpConfig {
  // Pick up flows whose handshake was not seen (Suricata's stream.midstream). Off by default, as
  // in Suricata: without it such a flow is never established and its payload is inspected packet
  // by packet only.
  bool midstream = false;
  bool check_window = true;  // refuse payload beyond the receiver's window
};

#define VIGIL_TCP_COUNTERS(X)                   \
  X(syn, "tcp.syn")                             \
  X(syn_retransmit, "tcp.syn_retransmit")       \
  X(synack_retransmit, "tcp.synack_retransmit") \
  X(syn_new_isn, "tcp.syn_new_isn")             \
  X(synack_bad_ack, "tcp.synack_bad_ack")       \
  X(syn_unexpected, "tcp.syn_unexpected")       \
  X(data_on_syn, "tcp.data_on_syn")             \
  X(handshakes, "tcp.handshakes")               \
  X(midstream, "tcp.midstream_pickups")         \
  X(midstream_ignored, "tcp.midstream_ignored") \
  X(seq_out_of_window, "tcp.seq_out_of_window") \
  X(data_after_fin, "tcp.data_after_fin")       \
  X(rst, "tcp.rst")                             \
  X(rst_invalid, "tcp.rst_invalid")             \
  X(fin, "tcp.fin")                             \
  X(reused, "tcp.port_reused")

struct TcpStats {
#define VIGIL_TCP_FIELD(field, name) uint64_t field = 0;
  VIGIL_TCP_COUNTERS(VIGIL_TCP_FIELD)
#undef VIGIL_TCP_FIELD
  template <class F>
  void ForEach(F&& f) const {
#define VIGIL_TCP_VISIT(field, name) f(std::string_view(name), field);
    VIGIL_TCP_COUNTERS(VIGIL_TCP_VISIT)
#undef VIGIL_TCP_VISIT
  }
};

struct TcpVerdict {
  bool payload_ok = false;   // hand the payload to reassembly
  uint32_t payload_seq = 0;  // sequence number of the payload's first byte (seq + 1 on a SYN)
  bool restarted = false;    // tracking restarted: drop the flow's reassembly state first
};

class TcpTracker {
 public:
  explicit TcpTracker(TcpConfig config = {}) : config_(config) {}

  // Updates `flow` for one segment travelling in `dir` (which may flip, see above).
  [[nodiscard]] TcpVerdict Update(Flow& flow, Direction& dir, const TcpSegment& s) {
    // Inline for the bulk of a connection: an ACK without SYN, RST or FIN on an established flow
    // whose sides have started and sent no FIN. This is UpdateGeneral's path for such a segment,
    // with the branches that cannot apply left out (tcp_tracker_test checks them against each
    // other).
    TcpHalf& h = flow.tcp[Index(dir)];
    TcpHalf& r = flow.tcp[Index(Opposite(dir))];
    constexpr uint8_t kOther = packet::kTcpSyn | packet::kTcpRst | packet::kTcpFin;
    if ((s.flags & (kOther | packet::kTcpAck)) != packet::kTcpAck ||
        flow.tcp_state != TcpState::kEstablished ||
        (h.flags & (TcpHalf::kStarted | TcpHalf::kFinSeen)) != TcpHalf::kStarted ||
        (r.flags & TcpHalf::kFinSeen)) {
      return UpdateGeneral(flow, dir, s);
    }
    if (!(h.flags & TcpHalf::kAckSeen) || SeqGt(s.ack, h.last_ack)) h.last_ack = s.ack;
    const bool scaled = (h.flags & TcpHalf::kWscale) && (r.flags & TcpHalf::kWscale);
    h.window = uint32_t(s.window) << (scaled ? h.wscale : 0);
    h.flags |= TcpHalf::kAckSeen;
    TcpVerdict v;
    v.payload_seq = s.seq;
    v.payload_ok = s.payload_len > 0;
    if (v.payload_ok && config_.check_window && (r.flags & TcpHalf::kAckSeen) &&
        SeqGeq(s.seq, r.last_ack + std::max<uint32_t>(r.window, 1))) {
      ++stats_.seq_out_of_window;
      v.payload_ok = false;
    }
    if (v.payload_ok || s.payload_len == 0) {
      const uint32_t end = s.seq + s.payload_len;
      if (SeqGt(end, h.next_seq)) h.next_seq = end;
    }
    return v;
  }

  // Update without the inline fast path: the full state machine. Same results; exposed so that
  // tests can check one against the other.
  [[nodiscard]] TcpVerdict UpdateGeneral(Flow& flow, Direction& dir, const TcpSegment& s);

  [[nodiscard]] const TcpStats& stats() const { return stats_; }

 private:
  void Start(TcpHalf& h, uint32_t isn, uint32_t next) const;
  void SetState(Flow& f, TcpState s) const;
  [[nodiscard]] bool RstValid(const Flow& f, Direction dir, const TcpSegment& s) const;
  void Midstream(Flow& f, Direction& dir, const TcpSegment& s);

  TcpConfig config_;
  TcpStats stats_;
};

}  // namespace vigil::flow

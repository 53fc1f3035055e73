#include "flow/tcp_tracker.h"

#include <algorithm>

namespace vigil::flow {
namespace {

constexpr uint8_t kFinAcked = 64;  // TcpHalf flag: this side's FIN was acknowledged

int8_t ParseWscale(const packet::Packet& p) {
  if (p.l4_offset == 0 || uint32_t{p.l4_offset} + 20 > p.caplen) return -1;
  const uint8_t* tcp = p.data + p.l4_offset;
  const uint32_t header = uint32_t(tcp[12] >> 4) * 4;
  if (header < 20 || p.l4_offset + header > p.caplen) return -1;
  for (uint32_t i = 20; i < header;) {
    const uint8_t kind = tcp[i];
    if (kind == 0) break;
    if (kind == 1) {
      ++i;
      continue;
    }
    if (i + 1 >= header) break;
    const uint8_t len = tcp[i + 1];
    if (len < 2 || i + len > header) break;
    if (kind == 3 && len == 3) return int8_t(std::min<uint8_t>(tcp[i + 2], 14));
    i += len;
  }
  return -1;
}

}  // namespace

TcpSegment TcpSegment::From(const packet::Packet& p) {
  TcpSegment s;
  s.flags = p.tcp_flags;
  s.seq = p.tcp_seq;
  s.ack = p.tcp_ack;
  s.window = p.tcp_window;
  s.payload_len = p.payload_len;
  if (p.tcp_flags & packet::kTcpSyn) s.wscale = ParseWscale(p);
  return s;
}

void TcpTracker::Start(TcpHalf& h, uint32_t isn, uint32_t next) const {
  h.isn = isn;
  h.next_seq = next;
  h.flags |= TcpHalf::kStarted;
}

void TcpTracker::SetState(Flow& f, TcpState s) const {
  f.tcp_state = s;
  switch (s) {
    case TcpState::kNone:
    case TcpState::kSynSent:
    case TcpState::kSynReceived:
      f.state = FlowState::kNew;
      break;
    case TcpState::kEstablished:
      f.state = FlowState::kEstablished;
      f.flags |= Flow::kEstablished;
      break;
    case TcpState::kFinWait:
    case TcpState::kBothFin:
      f.state = FlowState::kClosing;
      break;
    case TcpState::kClosed:
      f.state = FlowState::kClosed;
      break;
  }
}

bool TcpTracker::RstValid(const Flow& f, Direction dir, const TcpSegment& s) const {
  const TcpHalf& h = f.tcp[Index(dir)];
  const TcpHalf& r = f.tcp[Index(Opposite(dir))];
  if (f.tcp_state == TcpState::kSynSent && dir == Direction::kToClient) {
    // A refused connection: the RST must acknowledge the SYN.
    return (s.flags & packet::kTcpAck) && s.ack == r.isn + 1;
  }
  if (!(h.flags & TcpHalf::kStarted)) return true;  // nothing to check against
  if (r.flags & TcpHalf::kAckSeen) {
    const uint32_t wnd = std::max<uint32_t>(r.window, 1);
    return (SeqGeq(s.seq, r.last_ack) && SeqLt(s.seq, r.last_ack + wnd)) || s.seq == h.next_seq;
  }
  return SeqGeq(s.seq, h.isn) && SeqLeq(s.seq, h.next_seq + 65535);
}

void TcpTracker::Midstream(Flow& f, Direction& dir, const TcpSegment& s) {
  // Port heuristic: a sender on a well-known port talking to an ephemeral one is the server.
  const bool sender_is_lo = (dir == Direction::kToServer) == f.client_is_lo();
  const uint16_t src_port = sender_is_lo ? f.key.port_lo : f.key.port_hi;
  const uint16_t dst_port = sender_is_lo ? f.key.port_hi : f.key.port_lo;
  if (dir == Direction::kToServer && src_port < 1024 && dst_port >= 1024) {
    f.SwapSides();
    dir = Direction::kToClient;
  }
  TcpHalf& h = f.tcp[Index(dir)];
  TcpHalf& r = f.tcp[Index(Opposite(dir))];
  Start(h, s.seq - 1, s.seq);
  if (s.flags & packet::kTcpAck) Start(r, s.ack - 1, s.ack);
  f.flags |= Flow::kMidstream;
  SetState(f, TcpState::kEstablished);
  ++stats_.midstream;
}

TcpVerdict TcpTracker::UpdateGeneral(Flow& f, Direction& dir, const TcpSegment& s) {
  TcpVerdict v;
  const bool syn = s.flags & packet::kTcpSyn;
  const bool ack = s.flags & packet::kTcpAck;
  const bool rst = s.flags & packet::kTcpRst;
  const bool fin = s.flags & packet::kTcpFin;
  const bool fresh = f.tcp_state == TcpState::kNone && !(f.tcp[0].flags & TcpHalf::kStarted) &&
                     !(f.tcp[1].flags & TcpHalf::kStarted);

  if (syn && !rst) {
    if (!ack) {
      ++stats_.syn;
      TcpHalf& h = f.tcp[Index(dir)];
      const bool closed_or_closing = f.tcp_state == TcpState::kClosed ||
                                     f.tcp_state == TcpState::kFinWait ||
                                     f.tcp_state == TcpState::kBothFin;
      if (!fresh && dir == Direction::kToServer && f.tcp_state == TcpState::kSynSent &&
          s.seq == h.isn) {
        ++stats_.syn_retransmit;
      } else if (fresh || (dir == Direction::kToServer && f.tcp_state == TcpState::kSynSent) ||
                 (closed_or_closing && s.seq != h.isn)) {
        if (!fresh) {
          if (f.tcp_state == TcpState::kSynSent) {
            ++stats_.syn_new_isn;
          } else {
            ++stats_.reused;
          }
          if (dir == Direction::kToClient) {
            f.SwapSides();
            dir = Direction::kToServer;
          }
          f.tcp[0] = TcpHalf{};
          f.tcp[1] = TcpHalf{};
          f.flags &= ~(Flow::kEstablished | Flow::kMidstream);
          v.restarted = true;
        }
        TcpHalf& c = f.tcp[Index(dir)];
        Start(c, s.seq, s.seq + 1 + s.payload_len);
        c.flags |= TcpHalf::kSynSeen;
        if (s.wscale >= 0) {
          c.flags |= TcpHalf::kWscale;
          c.wscale = uint8_t(s.wscale);
        }
        c.window = s.window;
        SetState(f, TcpState::kSynSent);
      } else {
        ++stats_.syn_unexpected;
        return v;
      }
      if (s.payload_len > 0) {
        ++stats_.data_on_syn;
        v.payload_ok = true;
        v.payload_seq = s.seq + 1;
      }
      return v;
    }
    // SYN-ACK.
    if (fresh) {
      if (!config_.midstream) {
        ++stats_.midstream_ignored;
        return v;
      }
      // The server's answer seen first: its receiver is the client.
      if (dir == Direction::kToServer) {
        f.SwapSides();
        dir = Direction::kToClient;
      }
      Start(f.tcp[Index(Direction::kToServer)], s.ack - 1, s.ack);
      f.tcp[Index(Direction::kToServer)].flags |= TcpHalf::kSynSeen;
      f.flags |= Flow::kMidstream;
    } else if (dir != Direction::kToClient ||
               (f.tcp_state != TcpState::kSynSent && f.tcp_state != TcpState::kSynReceived)) {
      ++stats_.syn_unexpected;
      return v;
    }
    TcpHalf& h = f.tcp[Index(Direction::kToClient)];
    TcpHalf& c = f.tcp[Index(Direction::kToServer)];
    if (f.tcp_state == TcpState::kSynReceived) {
      if (s.seq == h.isn) ++stats_.synack_retransmit;
      return v;
    }
    if (s.ack != c.isn + 1) {
      ++stats_.synack_bad_ack;
      return v;
    }
    Start(h, s.seq, s.seq + 1 + s.payload_len);
    h.flags |= TcpHalf::kSynSeen | TcpHalf::kAckSeen;
    if (s.wscale >= 0) {
      h.flags |= TcpHalf::kWscale;
      h.wscale = uint8_t(s.wscale);
    }
    h.last_ack = s.ack;
    h.window = s.window;  // never scaled on a SYN
    SetState(f, TcpState::kSynReceived);
    if (s.payload_len > 0) {
      ++stats_.data_on_syn;
      v.payload_ok = true;
      v.payload_seq = s.seq + 1;
    }
    return v;
  }

  if (fresh) {
    if (rst) {
      ++stats_.rst;
      SetState(f, TcpState::kClosed);
      return v;
    }
    if (!config_.midstream) {
      ++stats_.midstream_ignored;
      return v;
    }
    Midstream(f, dir, s);
  } else if (f.tcp_state == TcpState::kNone) {
    ++stats_.midstream_ignored;
    return v;
  }

  TcpHalf& h = f.tcp[Index(dir)];
  TcpHalf& r = f.tcp[Index(Opposite(dir))];

  if (rst) {
    if (!RstValid(f, dir, s)) {
      ++stats_.rst_invalid;
      return v;
    }
    ++stats_.rst;
    h.flags |= TcpHalf::kRstSeen;
    SetState(f, TcpState::kClosed);
    return v;
  }
  if (!(h.flags & TcpHalf::kStarted)) {
    // First packet from this side without a SYN (e.g. the SYN-ACK was missed): start here.
    Start(h, s.seq - 1, s.seq);
  }

  if (ack) {
    if (f.tcp_state == TcpState::kSynReceived && dir == Direction::kToServer &&
        s.ack == r.isn + 1) {
      SetState(f, TcpState::kEstablished);
      ++stats_.handshakes;
    }
    if (!(h.flags & TcpHalf::kAckSeen) || SeqGt(s.ack, h.last_ack)) h.last_ack = s.ack;
    const bool scaled = (h.flags & TcpHalf::kWscale) && (r.flags & TcpHalf::kWscale);
    h.window = uint32_t(s.window) << (scaled ? h.wscale : 0);
    h.flags |= TcpHalf::kAckSeen;
    if ((r.flags & TcpHalf::kFinSeen) && s.ack == r.next_seq) r.flags |= kFinAcked;
  }

  bool take = s.payload_len > 0;
  if (take && config_.check_window && (r.flags & TcpHalf::kAckSeen)) {
    const uint32_t right_edge = r.last_ack + std::max<uint32_t>(r.window, 1);
    if (SeqGeq(s.seq, right_edge)) {
      ++stats_.seq_out_of_window;
      take = false;
    }
  }
  if (take && (h.flags & TcpHalf::kFinSeen) && SeqGt(s.seq + s.payload_len, h.next_seq - 1)) {
    ++stats_.data_after_fin;
    take = false;
  }
  if (take || !(s.payload_len > 0)) {
    const uint32_t end = s.seq + s.payload_len + (fin ? 1 : 0);
    if (SeqGt(end, h.next_seq)) h.next_seq = end;
  }

  if (fin && !(h.flags & TcpHalf::kFinSeen)) {
    ++stats_.fin;
    h.flags |= TcpHalf::kFinSeen;
    SetState(f, (r.flags & TcpHalf::kFinSeen) ? TcpState::kBothFin : TcpState::kFinWait);
  }
  if (f.tcp_state == TcpState::kBothFin && (h.flags & kFinAcked) && (r.flags & kFinAcked)) {
    SetState(f, TcpState::kClosed);
  }

  v.payload_ok = take && f.tcp_state != TcpState::kClosed;
  v.payload_seq = s.seq;
  return v;
}

}  // namespace vigil::flow

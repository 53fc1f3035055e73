// Flow: the state vigil keeps for one bidirectional conversation — its key, its identifiers and
// times, which end is the client, per-direction counters, the TCP (Transmission Control Protocol)
// tracking state of each side, and the anchor of each direction's reassembly buffers.
//
//   flow::Direction d = flow->DirectionOf(k.src_is_lo);   // kToServer or kToClient
//   if (flow->established()) { ... }                       // rules' flow:established
//
// A Flow lives in FlowTable's entry array and never moves while it is in use, so a `Flow*` stays
// valid until the table releases it (timeout, eviction, Remove). Buffered payload is not part of
// it: `stream[d].buffer` names reassembly's buffers (allocated only when needed). The
// struct is kept within 192 bytes (three cache lines) so that one million flows take 192 MB.
#pragma once

#include <cstdint>

#include "flow/flow_key.h"

namespace vigil::flow {

enum class Direction : uint8_t { kToServer = 0, kToClient = 1 };
[[nodiscard]] constexpr Direction Opposite(Direction d) {
  return d == Direction::kToServer ? Direction::kToClient : Direction::kToServer;
}
[[nodiscard]] constexpr int Index(Direction d) { return static_cast<int>(d); }

// The coarse life cycle every protocol shares; it picks the idle timeout.
enum class FlowState : uint8_t {
  kNew,          // TCP: handshake not finished; others: packets seen in one direction only
  kEstablished,  // TCP: handshake done (or picked up midstream); others: seen both ways
  kClosing,      // TCP only: a FIN (finish) was seen
  kClosed,       // TCP only: RST (reset) seen, or both FINs acknowledged
};

// The detailed TCP state, kept by TcpTracker.
enum class TcpState : uint8_t {
  kNone,         // no SYN seen and midstream pickup refused: payload is not reassembled
  kSynSent,      // client's SYN seen
  kSynReceived,  // server's SYN-ACK seen
  kEstablished,
  kFinWait,  // one side sent FIN
  kBothFin,  // both sides sent FIN; closed once the last FIN is acknowledged
  kClosed,
};

// One side's TCP sequence state (the side that sends in that direction).
struct TcpHalf {
  uint32_t isn = 0;       // initial sequence number (the SYN's, or seq - 1 when picked up)
  uint32_t next_seq = 0;  // highest sequence number sent + 1 (SYN and FIN count one)
  uint32_t last_ack = 0;  // highest acknowledgment this side sent (valid with kAckSeen)
  uint32_t window = 0;    // last advertised receive window, scaled (valid with kAckSeen)
  uint8_t wscale = 0;     // window-scale shift this side announced on its SYN
  uint8_t flags = 0;      // kSynSeen | kFinSeen | kAckSeen | kWscale | kRstSeen
  uint8_t ttl = 0;        // IP TTL (hop limit) of this side's first packet; 0 = not seen yet
  uint8_t pad = 0;

  static constexpr uint8_t kSynSeen = 1;
  static constexpr uint8_t kFinSeen = 2;
  static constexpr uint8_t kAckSeen = 4;
  static constexpr uint8_t kWscale = 8;  // sent the window-scale option on its SYN
  static constexpr uint8_t kRstSeen = 16;
  static constexpr uint8_t kStarted = 32;  // isn/next_seq are valid
};
static_assert(sizeof(TcpHalf) == 20);

// Where reassembly keeps a direction's progress; owned by reassembly::TcpReassembler. The table
// zeroes it when the flow is created and calls the release hook before reusing the entry. It is
// self-sufficient for the in-order path: the history block's handle, fill level and size sit
// here, so the block's write position is known from this line alone (and can be prefetched).
struct StreamAnchor {
  uint32_t buffer = 0;     // reassembly's handle for this direction's buffers; 0: none yet
  uint32_t used = 0;       // history bytes held in the block
  uint64_t delivered = 0;  // stream offset of the next in-order byte (bytes delivered so far)
  uint32_t next_seq = 0;   // TCP sequence number of that byte (valid with kSeqKnown)
  uint8_t flags = 0;       // reassembly's own bits
  uint8_t policy = 0;      // overlap policy of this direction's receiver, cached
  uint8_t shift = 0;       // the history block holds 2^shift bytes (valid with a block)
  uint8_t pad = 0;
};
static_assert(sizeof(StreamAnchor) == 24);

struct alignas(64) Flow {
  // ---- first cache line: what lookup and expiry read ----
  FlowKey key;
  int64_t last_ns = 0;  // capture time of the last packet
  uint32_t index = 0;   // position in the table's entry array
  FlowState state = FlowState::kNew;
  TcpState tcp_state = TcpState::kNone;
  uint8_t flags = 0;  // kInUse | kClientIsLo | kEstablished | kMidstream (| kPinned, transient)
  uint8_t pad0 = 0;

  // ---- identity and counters ----
  uint64_t flow_id = 0;          // 51 bits, unique for the table's life (EVE's flow_id)
  int64_t first_ns = 0;          // capture time of the first packet
  uint32_t packets[2] = {0, 0};  // by Direction
  uint64_t bytes[2] = {0, 0};    // captured bytes, by Direction

  // ---- TCP and reassembly, by Direction (index 0: client -> server) ----
  TcpHalf tcp[2];
  StreamAnchor stream[2];

  static constexpr uint8_t kInUse = 1;
  static constexpr uint8_t kClientIsLo = 2;   // the client is the key's lo end
  static constexpr uint8_t kEstablished = 4;  // flow:established (sticky until the flow ends)
  static constexpr uint8_t kMidstream = 8;    // TCP picked up without a handshake
  // Set only inside FlowTable::FindOrCreateBatch on flows the batch already returned, so that a
  // later packet of the same batch cannot evict them; never visible outside that call.
  static constexpr uint8_t kPinned = 16;

  [[nodiscard]] bool in_use() const { return flags & kInUse; }
  [[nodiscard]] bool established() const { return flags & kEstablished; }
  [[nodiscard]] bool client_is_lo() const { return flags & kClientIsLo; }
  // The direction of a packet whose source is the key's lo end when `src_is_lo`.
  [[nodiscard]] Direction DirectionOf(bool src_is_lo) const {
    return src_is_lo == client_is_lo() ? Direction::kToServer : Direction::kToClient;
  }
  // Makes the other end the client (TcpTracker does this when the first packet was a SYN-ACK).
  void SwapSides() { flags ^= kClientIsLo; }
};
static_assert(sizeof(Flow) <= 192, "per-flow state must stay within three cache lines");

}  // namespace vigil::flow

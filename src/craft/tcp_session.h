// TcpSession: the frames of a believable TCP conversation between a client and a server, with
// sequence and acknowledgment numbers kept right: SYN and FIN consume one sequence number, data
// consumes its length, and every segment after the SYN acknowledges all the peer has sent.
//
//   craft::TcpSession s({craft::Addr("10.0.0.1"), 40000}, {craft::Addr("10.0.0.2"), 80});
//   craft::Capture capture;
//   capture.Add(s.Handshake());                        // SYN, SYN-ACK, ACK
//   capture.Add(s.ClientSends("GET / HTTP/1.0\r\n\r\n"));  // data, then the server's ACK
//   capture.Add(s.ServerSends(body, 1460));            // split into 1460-byte segments
//   capture.Add(s.Close());                            // FIN-ACK, FIN-ACK, ACK
//
// For out-of-order, overlapping or retransmitted segments use Segment() and SegmentAt(), then
// arrange the frames as the test needs. IPv4 or IPv6 follows the addresses' family.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "craft/frame.h"

namespace vigil::craft {

enum class Side { kClient, kServer };

struct TcpSessionOptions {
  uint32_t client_isn = 1000;  // initial sequence numbers
  uint32_t server_isn = 50000;
  uint16_t window = 65535;
  // Link layer of every frame; src/dst are the client's and server's addresses and are swapped
  // for frames the server sends. nullopt builds bare IP packets.
  std::optional<EthernetHeader> ethernet = EthernetHeader{};
  uint8_t ttl = 64;
  // After ClientSends/ServerSends, the receiver sends one pure ACK for all the data.
  bool ack_data = true;
  // TCP options carried by the SYN and SYN-ACK (e.g. {2, 4, 0x05, 0xb4}: MSS 1460).
  Bytes syn_options;
};

class TcpSession {
 public:
  TcpSession(Endpoint client, Endpoint server, TcpSessionOptions options = {});

  // SYN, SYN-ACK, ACK.
  [[nodiscard]] std::vector<Bytes> Handshake();
  // `payload` from one side in segments of at most `segment_size` bytes (0: one segment), each
  // with ACK and the last with PSH; then, with ack_data, the receiver's ACK.
  [[nodiscard]] std::vector<Bytes> ClientSends(std::span<const uint8_t> payload,
                                               size_t segment_size = 0);
  [[nodiscard]] std::vector<Bytes> ClientSends(std::string_view payload, size_t segment_size = 0);
  [[nodiscard]] std::vector<Bytes> ServerSends(std::span<const uint8_t> payload,
                                               size_t segment_size = 0);
  [[nodiscard]] std::vector<Bytes> ServerSends(std::string_view payload, size_t segment_size = 0);
  [[nodiscard]] std::vector<Bytes> Sends(Side side, std::span<const uint8_t> payload,
                                         size_t segment_size = 0);
  // FIN-ACK from `initiator`, FIN-ACK from the peer, ACK from `initiator`.
  [[nodiscard]] std::vector<Bytes> Close(Side initiator = Side::kClient);
  // One RST-ACK from `from` at its current sequence number.
  [[nodiscard]] std::vector<Bytes> Reset(Side from = Side::kClient);

  // One segment from `side` at its next sequence number, acknowledging everything the peer has
  // sent when `flags` has ACK (0 otherwise). Advances `side`'s sequence number by the payload
  // length, plus one for SYN and for FIN.
  [[nodiscard]] Bytes Segment(Side side, uint8_t flags, std::span<const uint8_t> payload = {});
  // A segment at an explicit sequence number (retransmission, overlap, a gap); changes nothing.
  [[nodiscard]] Bytes SegmentAt(Side side, uint32_t seq, uint8_t flags,
                                std::span<const uint8_t> payload = {}) const;

  // The sequence number `side` will use next.
  [[nodiscard]] uint32_t next_seq(Side side) const {
    return side == Side::kClient ? client_next_ : server_next_;
  }
  [[nodiscard]] const Endpoint& client() const { return client_; }
  [[nodiscard]] const Endpoint& server() const { return server_; }

 private:
  Bytes Build(Side side, uint32_t seq, uint8_t flags, std::span<const uint8_t> payload) const;

  Endpoint client_;
  Endpoint server_;
  TcpSessionOptions options_;
  uint32_t client_next_;
  uint32_t server_next_;
  // IPv4 identification of each side's next packet; mutable so that SegmentAt, which changes no
  // sequence state, still gives every packet its own identification.
  mutable uint16_t client_ip_id_ = 0x1000;
  mutable uint16_t server_ip_id_ = 0x8000;
};

}  // namespace vigil::craft

#include "craft/tcp_session.h"

#include <utility>

namespace vigil::craft {

TcpSession::TcpSession(Endpoint client, Endpoint server, TcpSessionOptions options)
    : client_(client),
      server_(server),
      options_(std::move(options)),
      client_next_(options_.client_isn),
      server_next_(options_.server_isn) {}

Bytes TcpSession::Build(Side side, uint32_t seq, uint8_t flags,
                        std::span<const uint8_t> payload) const {
  const bool from_client = side == Side::kClient;
  const Endpoint& src = from_client ? client_ : server_;
  const Endpoint& dst = from_client ? server_ : client_;
  std::optional<EthernetHeader> ethernet = options_.ethernet;
  if (ethernet && !from_client) std::swap(ethernet->src, ethernet->dst);
  uint16_t& ip_id = from_client ? client_ip_id_ : server_ip_id_;
  const uint32_t peer_next = from_client ? server_next_ : client_next_;
  return BuildFrame({
      .ethernet = std::move(ethernet),
      .ip = {.src = src.ip, .dst = dst.ip, .ttl = options_.ttl, .id = ip_id++},
      .transport =
          TcpHeader{
              .src_port = src.port,
              .dst_port = dst.port,
              .seq = seq,
              .ack = (flags & packet::kTcpAck) ? peer_next : 0,
              .flags = flags,
              .window = options_.window,
              .options = (flags & packet::kTcpSyn) ? options_.syn_options : Bytes{},
          },
      .payload = Bytes(payload.begin(), payload.end()),
  });
}

Bytes TcpSession::SegmentAt(Side side, uint32_t seq, uint8_t flags,
                            std::span<const uint8_t> payload) const {
  return Build(side, seq, flags, payload);
}

Bytes TcpSession::Segment(Side side, uint8_t flags, std::span<const uint8_t> payload) {
  uint32_t& next = side == Side::kClient ? client_next_ : server_next_;
  Bytes frame = Build(side, next, flags, payload);
  next += static_cast<uint32_t>(payload.size());
  if (flags & packet::kTcpSyn) ++next;
  if (flags & packet::kTcpFin) ++next;
  return frame;
}

std::vector<Bytes> TcpSession::Handshake() {
  std::vector<Bytes> frames;
  frames.push_back(Segment(Side::kClient, packet::kTcpSyn));
  frames.push_back(Segment(Side::kServer, packet::kTcpSyn | packet::kTcpAck));
  frames.push_back(Segment(Side::kClient, packet::kTcpAck));
  return frames;
}

std::vector<Bytes> TcpSession::Sends(Side side, std::span<const uint8_t> payload,
                                     size_t segment_size) {
  std::vector<Bytes> frames;
  const size_t step = segment_size == 0 ? payload.size() : segment_size;
  for (size_t done = 0; done < payload.size(); done += step) {
    const size_t len = std::min(step, payload.size() - done);
    const bool last = done + len == payload.size();
    uint8_t flags = packet::kTcpAck | (last ? packet::kTcpPsh : 0);
    frames.push_back(Segment(side, flags, payload.subspan(done, len)));
  }
  if (options_.ack_data && !payload.empty()) {
    frames.push_back(
        Segment(side == Side::kClient ? Side::kServer : Side::kClient, packet::kTcpAck));
  }
  return frames;
}

std::vector<Bytes> TcpSession::ClientSends(std::span<const uint8_t> payload, size_t segment_size) {
  return Sends(Side::kClient, payload, segment_size);
}
std::vector<Bytes> TcpSession::ClientSends(std::string_view payload, size_t segment_size) {
  Bytes bytes = ToBytes(payload);
  return Sends(Side::kClient, bytes, segment_size);
}
std::vector<Bytes> TcpSession::ServerSends(std::span<const uint8_t> payload, size_t segment_size) {
  return Sends(Side::kServer, payload, segment_size);
}
std::vector<Bytes> TcpSession::ServerSends(std::string_view payload, size_t segment_size) {
  Bytes bytes = ToBytes(payload);
  return Sends(Side::kServer, bytes, segment_size);
}

std::vector<Bytes> TcpSession::Close(Side initiator) {
  const Side peer = initiator == Side::kClient ? Side::kServer : Side::kClient;
  std::vector<Bytes> frames;
  frames.push_back(Segment(initiator, packet::kTcpFin | packet::kTcpAck));
  frames.push_back(Segment(peer, packet::kTcpFin | packet::kTcpAck));
  frames.push_back(Segment(initiator, packet::kTcpAck));
  return frames;
}

std::vector<Bytes> TcpSession::Reset(Side from) {
  std::vector<Bytes> frames;
  frames.push_back(Segment(from, packet::kTcpRst | packet::kTcpAck));
  return frames;
}

}  // namespace vigil::craft

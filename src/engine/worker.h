// Worker: the per-thread packet pipeline after decoding — IP defragmentation, the flow table, TCP
// tracking, stream reassembly and detection — for one share of the traffic. Each worker owns its
// tables outright (no locks); the dispatcher sends both directions of a flow to the same worker.
//
//   auto worker = engine::Worker::Create(plan, {});             // Result<unique_ptr<Worker>>
//   decoder.DecodeBatch(batch);
//   (*worker)->Process({batch.begin(), batch.end()},
//                      [&](const engine::PacketResult& r) { Log(r); });
//
// Per packet, in order:
//   1. An IP fragment goes to the Defragmenter and is not inspected itself; when it completes
//      its datagram, the rebuilt datagram is decoded and goes through the steps below as a packet
//      of its own (numbered and timed like the completing fragment).
//   2. The flow is found or created (FlowTable). A packet carrying a tunnel (IP in IP, protocol
//      4 or 41, or GRE, 47, with IP, PPP or Ethernet inside: decode::Decoder::DecodeTunnel) goes
//      through steps 2-5 itself, then the packet inside it does (Packet::outer set), up to
//      kMaxTunnelDepth levels deep (engine.tunnel_too_deep beyond). An inner fragment is
//      defragmented as in step 1 and its rebuilt datagram goes on as the inner packet.
//   3. TCP: with `ttl_limit` set, a segment whose TTL is lower than the first TTL seen from its
//      sender by more than ttl_limit is one the target may never receive (an insertion that
//      expires in the network): it is counted (stream.ttl_mismatch) and kept out of tracking and
//      reassembly. Otherwise TcpTracker updates the connection and, when it accepts the payload,
//      TcpReassembler delivers the in-order bytes it completed; an ACK may also skip a gap the
//      capture never showed.
//   4. HTTP: the new in-order bytes of a TCP flow go to its app::HttpFlow (app/http.h), which
//      recognizes HTTP by content and reports the transaction stages they complete (bounded by
//      WorkerConfig::http; http.* counters). DNS: a UDP payload to or from port 53 is parsed as a
//      DNS message (app/dns.h), and so are the messages of a TCP flow on port 53 (a
//      DnsTcpStream per flow); a packet whose message parses makes the flow DNS for `alert dns`
//      rules, and the message goes to the Detector (dns.* counters). TLS: the same bytes go to
//      the flow's app::TlsFlow (app/tls.h), which recognizes a ClientHello by content and
//      reports the handshake stages they complete (tls.* counters).
//   5. Detection (detect::Detector::Inspect) with the flow's state, its HTTP stages and the
//      delivered stream chunks: payload rules of a reassembled TCP flow see the stream, not the
//      segment, so an attack split over segments, sent out of order or overlapped is judged on the
//      bytes the target's stack would assemble (by the overlap policy of its network).
//   6. The packet's result goes to the sink: its alerts, its flow id, and whether a drop rule
//      took effect. A pass with flow scope stops detection for the rest of the flow; inline, a
//      drop with flow scope drops the rest of the flow without inspecting it (Suricata's action
//      scopes, see detect::Detector::Inspect).
// Once per batch, a bounded number of idle flows and stale fragment datagrams expire.
//
// Memory: every table is capped (flow.max_flows, the reassembly memcap and per-direction caps,
// the defragmenter's memcap and tracker cap); see each component's header for its eviction
// policy and counters. Stats() reports them all under their dotted names.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "app/dns.h"
#include "app/http.h"
#include "app/tls.h"
#include "base/result.h"
#include "decode/decoder.h"
#include "detect/detector.h"
#include "detect/flowbits.h"
#include "flow/flow_table.h"
#include "flow/tcp_tracker.h"
#include "packet/batch.h"
#include "reassembly/defrag.h"
#include "reassembly/tcp_reassembler.h"

namespace vigil::engine {

struct WorkerConfig {
  flow::FlowTableConfig flows{.prefault_buckets = true};
  flow::TcpConfig tcp;
  // 32 MiB of stream buffers resident from the start: the working set of a busy link's first
  // seconds (26 MiB for mixed-traffic.pcap), as Suricata preallocates its stream segments.
  reassembly::ReassemblyConfig stream{.prealloc_bytes = 32 << 20};
  reassembly::DefragConfig defrag;
  // A TCP segment whose TTL (hop limit) is lower than its sender's first one by more than this
  // is ignored by tracking and reassembly (after Snort 2 stream5's ttl_limit). Off by default, as
  // in Suricata: real paths change TTL mid-flow (on mixed-traffic.pcap 330 of 102,032 packets
  // depart by more than 5), and a sender that lies on its first packet's TTL could make vigil
  // ignore the rest; stream.ttl_mismatch counts what the check ignored.
  std::optional<uint8_t> ttl_limit;
  uint32_t id = 0;  // worker index: keeps flow ids unique across workers
  // Inline (or --simulate-ips): a packet a drop rule matched is dropped, and a drop with flow
  // scope drops the rest of its flow unseen. Offline, drops are only reported ("would drop").
  bool inline_mode = false;
  // The pipeline of a tenant whose policy is "ids" in an inline run (engine/tenant_groups.h): its
  // drop rules alert and never drop, and its results say so (PacketResult::alert_only), so that
  // outputs do not report their packets dropped.
  bool alert_only = false;
  app::HttpConfig http;  // HTTP parsing bounds (app/http.h)
  // Threshold and detection_filter counters shared by the workers of one run
  // (EventFilter::NewSharedFilter; RunInMemory and WorkerPool set it); null: the worker's own.
  std::shared_ptr<detect::EventFilter> event_filter;
};

// What the pipeline decided about one packet.
struct PacketResult {
  const packet::Packet* packet = nullptr;
  std::span<const detect::Alert> alerts;
  uint64_t flow_id = 0;     // 0 when the packet has no flow (not IP, or a fragment)
  bool rebuilt = false;     // a datagram rebuilt from fragments
  bool drop = false;        // an alert's rule drops or rejects
  bool alert_only = false;  // from a pipeline that never drops (WorkerConfig::alert_only)
};

// Detection as the worker calls it; replaceable so that tests can observe or compare it.
using InspectFn = std::function<detect::Verdict(const packet::Packet&, const detect::FlowContext&,
                                                std::span<const detect::StreamChunk>,
                                                std::vector<detect::Alert>&)>;

#define VIGIL_WORKER_COUNTERS(X)                   \
  X(packets, "engine.packets")                     \
  X(no_flow, "engine.no_flow")                     \
  X(rebuilt, "engine.rebuilt_datagrams")           \
  X(ttl_mismatch, "stream.ttl_mismatch")           \
  X(tcp_payload_refused, "stream.payload_refused") \
  X(dropped, "engine.dropped")                     \
  X(flow_dropped, "engine.flow_dropped_packets")   \
  X(flow_passed, "engine.flow_passed_packets")     \
  X(tunneled, "engine.tunneled")                   \
  X(tunnel_too_deep, "engine.tunnel_too_deep")

struct WorkerStats {
#define VIGIL_WORKER_FIELD(field, name) uint64_t field = 0;
  VIGIL_WORKER_COUNTERS(VIGIL_WORKER_FIELD)
#undef VIGIL_WORKER_FIELD
};

class Worker {
 public:
  static constexpr int kMaxTunnelDepth = 3;

  // `plan` must outlive the worker.
  [[nodiscard]] static base::Result<std::unique_ptr<Worker>> Create(
      const detect::DetectionPlan& plan, WorkerConfig config);
  ~Worker();

  // Replaces detection (default: the worker's Detector).
  void SetInspect(InspectFn inspect) { inspect_ = std::move(inspect); }

  // Switches detection to `plan` between two batches (a reload): flows, TCP state, reassembled
  // streams and HTTP state stay as they are, and each flow's flowbits are carried over by name
  // (a bit the new plan does not know is dropped). `event_filter` holds the threshold counters of
  // the new plan (shared by the run's workers; null: the worker's own). `plan` must outlive the
  // worker or the next SwapPlan; the old plan is no longer used once this returns. Fails only
  // when the new detector cannot be made, and then keeps the old plan.
  [[nodiscard]] base::Status SwapPlan(const detect::DetectionPlan& plan,
                                      std::shared_ptr<detect::EventFilter> event_filter);

  using Sink = std::function<void(const PacketResult&)>;
  // Runs a decoded batch through the pipeline; `sink` sees every packet in order (a rebuilt
  // datagram right after the fragment that completed it), with results valid during the call.
  void Process(std::span<const packet::Packet> batch, const Sink& sink);

  // Every counter of the pipeline's stages, by dotted name (flow.*, tcp.*, stream.*, defrag.*,
  // detect.*, engine.*).
  void ForEachStat(const std::function<void(std::string_view, uint64_t)>& f) const;

  [[nodiscard]] const detect::Detector& detector() const { return *detector_; }
  [[nodiscard]] const decode::Decoder& rebuilt_decoder() const { return rebuilt_decoder_; }
  [[nodiscard]] const flow::FlowTable& flows() const { return *flows_; }
  [[nodiscard]] const reassembly::TcpReassembler& reassembler() const { return *reassembler_; }

 private:
  Worker(const detect::DetectionPlan& plan, WorkerConfig config);
  // Steps 2-5 for one packet that is not a fragment; `key` is its flow key, or null.
  // Decodes the datagram the defragmenter just rebuilt (`frame`, behind its link layer) into
  // `out`, with the time and number of `last`, the fragment that completed it.
  void DecodeRebuilt(std::span<const uint8_t> frame, const packet::Packet& last,
                     packet::Packet& out);
  void ProcessPacket(const packet::Packet& p, const flow::KeyedPacket* key, bool rebuilt,
                     const Sink& sink, int depth = 0);
  // Step 3: tracking and reassembly of a TCP segment; fills chunks_ and the flow context.
  void TrackTcp(const packet::Packet& p, flow::Flow& flow, flow::Direction& dir,
                detect::FlowContext& ctx);
  static void OnRelease(void* self, flow::Flow& flow, flow::ReleaseReason reason);

  const detect::DetectionPlan* plan_;
  WorkerConfig config_;
  std::unique_ptr<detect::Detector> detector_;
  std::unique_ptr<flow::FlowTable> flows_;
  std::unique_ptr<reassembly::TcpReassembler> reassembler_;
  std::unique_ptr<reassembly::Defragmenter> defrag_;
  flow::TcpTracker tracker_;
  decode::Decoder
      rebuilt_decoder_;  // decodes datagrams rebuilt from fragments and tunnels' insides
  packet::Packet rebuilt_;
  packet::Packet inner_[kMaxTunnelDepth];
  std::vector<uint8_t> tunnel_frames_[kMaxTunnelDepth];  // datagrams rebuilt inside tunnels
  InspectFn inspect_;
  std::vector<detect::Alert> alerts_;
  std::vector<detect::StreamChunk> chunks_;
  std::vector<uint8_t> chunk_to_server_;  // per chunks_ entry: its direction
  std::vector<app::HttpEvent> http_events_;
  app::HttpStats http_stats_;
  std::vector<app::DnsMessage> dns_messages_;  // this packet's
  app::DnsStats dns_stats_;
  std::vector<app::TlsStage> tls_events_;  // this packet's
  app::TlsStats tls_stats_;
  std::vector<flow::KeyedPacket> keys_;  // per batch packet
  std::vector<uint8_t> keyed_;           // per batch packet: keys_[i] is valid
  // What detection keeps per flow, by flow entry (Flow::index), reset when the entry gets a new
  // flow: its flowbits (32 bytes, plus an overflow bitset only for a flow that sets more than
  // six) and a flow-scope verdict.
  enum class FlowAction : uint8_t { kInspect, kPass, kDrop };
  struct FlowState {
    detect::FlowBits bits;
    FlowAction action = FlowAction::kInspect;
    // HTTP parsing (app/http.h), made on the flow's first client bytes; freed once the flow is
    // known not to be HTTP (http_done then stays set).
    std::unique_ptr<app::HttpFlow> http;
    bool http_done = false;
    bool http_started[2] = {false, false};  // per direction: bytes were fed
    uint64_t http_next[2] = {0, 0};         // per direction: the stream offset fed up to
    // DNS over TCP (port 53): its framing per direction, made on the flow's first bytes.
    std::unique_ptr<app::DnsTcpStream> dns_tcp;
    bool dns = false;  // a message of the flow parsed
    // TLS handshake parsing (app/tls.h), made on the flow's first client bytes; freed once the
    // flow is known not to be TLS, or its handshake is over (tls_done then stays set; a TLS flow
    // keeps tls_flow for `alert tls` rules).
    std::unique_ptr<app::TlsFlow> tls;
    bool tls_done = false;
    bool tls_flow = false;
    uint64_t tls_next[2] = {0, 0};  // per direction: the stream offset fed up to (0: none yet)
    uint32_t ssl_versions = 0;      // app::SslFlag versions the parser saw, kept after it is freed
    // SMTP detection (app/smtp.h) on the client's first bytes: 0 not decided yet, 1 SMTP, 2 not.
    uint8_t smtp = 0;
    void ResetHttp() {
      http.reset();
      http_done = false;
      http_started[0] = http_started[1] = false;
      dns_tcp.reset();
      dns = false;
      tls.reset();
      tls_done = tls_flow = false;
      tls_next[0] = tls_next[1] = 0;
      ssl_versions = 0;
      smtp = 0;
    }
  };
  // Parses the packet's DNS messages into dns_messages_: its UDP payload, or the new bytes of
  // chunks_ of a TCP flow on port 53. True when the flow is DNS.
  bool FeedDns(const packet::Packet& p, FlowState& state);
  // Decides whether the flow is SMTP from the client's first bytes in chunks_ (once); true if so.
  bool DetectSmtp(FlowState& state);
  // Feeds the new bytes of chunks_ to the flow's TLS parser, filling tls_events_. Returns the
  // packet's ssl_state / ssl_version flags (detect::FlowContext::ssl_flags).
  uint32_t FeedTls(FlowState& state);
  // Feeds the new bytes of chunks_ to the flow's HTTP parser, filling http_events_.
  void FeedHttp(FlowState& state);
  std::vector<FlowState> flow_state_;
  WorkerStats stats_;
};

}  // namespace vigil::engine

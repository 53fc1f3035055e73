#include "engine/worker.h"

#include <algorithm>
#include <string_view>
#include <unordered_map>

#include "app/smtp.h"

namespace vigil::engine {
namespace {

int64_t Nanoseconds(const packet::Timestamp& ts) {
  return ts.sec * 1'000'000'000 + int64_t(ts.nsec);
}

detect::StreamChunk ChunkOf(const reassembly::StreamView& v) {
  return {.data = v.data,
          .len = uint32_t(v.len),
          .new_from = uint32_t(v.new_from),
          .stream_offset = v.stream_offset};
}

}  // namespace

Worker::Worker(const detect::DetectionPlan& plan, WorkerConfig config)
    : plan_(&plan), config_(std::move(config)), tracker_(config_.tcp) {}

Worker::~Worker() {
  // The flow table releases every flow on destruction, calling OnRelease: it must go first.
  flows_.reset();
}

base::Result<std::unique_ptr<Worker>> Worker::Create(const detect::DetectionPlan& plan,
                                                     WorkerConfig config) {
  config.flows.id_base = config.id;
  std::unique_ptr<Worker> w(new Worker(plan, std::move(config)));
  auto detector = detect::Detector::Create(plan, w->config_.event_filter);
  if (!detector) return detector.error();
  w->detector_ = std::move(*detector);
  auto flows = flow::FlowTable::Create(w->config_.flows);
  if (!flows) return flows.error();
  w->flows_ = std::move(*flows);
  auto reassembler = reassembly::TcpReassembler::Create(w->config_.stream);
  if (!reassembler) return reassembler.error();
  w->reassembler_ = std::move(*reassembler);
  auto defrag = reassembly::Defragmenter::Create(w->config_.defrag);
  if (!defrag) return defrag.error();
  w->defrag_ = std::move(*defrag);
  w->flows_->SetReleaseHook(&Worker::OnRelease, w.get());
  // Through the member, so that SwapPlan's new detector takes over.
  w->inspect_ = [self = w.get()](const packet::Packet& p, const detect::FlowContext& flow,
                                 std::span<const detect::StreamChunk> chunks,
                                 std::vector<detect::Alert>& alerts) {
    return self->detector_->Inspect(p, flow, chunks, alerts);
  };
  return w;
}

base::Status Worker::SwapPlan(const detect::DetectionPlan& plan,
                              std::shared_ptr<detect::EventFilter> event_filter) {
  auto detector = detect::Detector::Create(plan, event_filter);
  if (!detector) return detector.error();
  // Flowbits by name: old id -> new id (absent names map to none).
  const std::vector<std::string>& old_names = plan_->flowbit_names();
  std::unordered_map<std::string_view, uint32_t> new_ids;
  for (uint32_t id = 0; id < plan.flowbit_names().size(); ++id) {
    new_ids.emplace(plan.flowbit_names()[id], id);
  }
  for (FlowState& state : flow_state_) {
    if (state.bits.empty()) continue;
    detect::FlowBits moved;
    for (uint32_t old_id : state.bits.Ids()) {
      if (old_id >= old_names.size()) continue;
      auto it = new_ids.find(old_names[old_id]);
      if (it != new_ids.end()) moved.Set(it->second);
    }
    state.bits = std::move(moved);
  }
  (*detector)->ContinueStats(detector_->stats());
  config_.event_filter = std::move(event_filter);
  detector_ = std::move(*detector);
  plan_ = &plan;
  return {};
}

void Worker::OnRelease(void* self, flow::Flow& flow, flow::ReleaseReason reason) {
  auto* w = static_cast<Worker*>(self);
  reassembly::TcpReassembler::OnRelease(w->reassembler_.get(), flow, reason);
  if (flow.index < w->flow_state_.size()) {
    w->flow_state_[flow.index].bits.Clear();
    w->flow_state_[flow.index].ResetHttp();
  }
}

void Worker::Process(std::span<const packet::Packet> batch, const Sink& sink) {
  size_t n = batch.size();
  keys_.resize(n);
  keyed_.assign(n, 0);
  // Keys and bucket prefetches for the whole batch first, so the table's cache misses overlap.
  for (size_t i = 0; i < n; ++i) {
    const packet::Packet& p = batch[i];
    if (p.ip_version != 0 && !p.is_fragment && flow::MakeKey(p, &keys_[i])) {
      keyed_[i] = 1;
      flows_->Prefetch(keys_[i].hash);
    }
  }
  int64_t now_ns = 0;
  for (size_t i = 0; i < n; ++i) {
    const packet::Packet& p = batch[i];
    now_ns = Nanoseconds(p.ts);
    if (p.ip_version != 0 && p.is_fragment) {
      ++stats_.packets;
      ++stats_.no_flow;
      PacketResult fragment{.packet = &p};
      sink(fragment);
      std::span<const uint8_t> whole = defrag_->Add(p, now_ns);
      if (whole.empty()) continue;
      // The datagram behind its first fragment's link-layer header, as Suricata logs it.
      std::span<const uint8_t> frame = defrag_->last_frame();
      DecodeRebuilt(frame, p, rebuilt_);
      ++stats_.rebuilt;
      flow::KeyedPacket key;
      bool has_key =
          rebuilt_.ip_version != 0 && !rebuilt_.is_fragment && flow::MakeKey(rebuilt_, &key);
      ProcessPacket(rebuilt_, has_key ? &key : nullptr, true, sink);
      continue;
    }
    ProcessPacket(p, keyed_[i] ? &keys_[i] : nullptr, false, sink);
  }
  if (n > 0) {
    // One table entry per packet: a sweep of the table takes as many packets as it has entries
    // in use (a lookup finds an idle flow expired anyway; the sweep reclaims the rest).
    flows_->Expire(now_ns, n);
    defrag_->Expire(now_ns, 16);
  }
}

void Worker::DecodeRebuilt(std::span<const uint8_t> frame, const packet::Packet& last,
                           packet::Packet& out) {
  out = packet::Packet{};
  out.data = frame.data();
  out.caplen = out.wirelen = uint32_t(frame.size());
  out.linktype = defrag_->last_linktype();
  out.ts = last.ts;
  out.number = last.number;
  rebuilt_decoder_.Decode(out);
}

void Worker::ProcessPacket(const packet::Packet& p, const flow::KeyedPacket* key, bool rebuilt,
                           const Sink& sink, int depth) {
  ++stats_.packets;
  alerts_.clear();
  chunks_.clear();
  chunk_to_server_.clear();
  http_events_.clear();
  dns_messages_.clear();
  tls_events_.clear();
  PacketResult r{.packet = &p, .rebuilt = rebuilt};
  detect::FlowContext ctx;
  FlowAction* action = nullptr;
  if (key != nullptr) {
    flow::Lookup l = flows_->FindOrCreate(*key, Nanoseconds(p.ts), p.caplen);
    flow::Direction dir = l.dir;
    if (l.flow->index >= flow_state_.size()) {
      flow_state_.resize(std::max<size_t>(l.flow->index + 1, flow_state_.size() * 2));
    }
    FlowState& state = flow_state_[l.flow->index];
    if (l.created) {
      state.bits.Clear();
      state.action = FlowAction::kInspect;
      state.ResetHttp();
    }
    action = &state.action;
    ctx.bits = &state.bits;
    if (p.has_tcp) {
      TrackTcp(p, *l.flow, dir, ctx);
      ctx.tcp_session = l.flow->tcp_state != flow::TcpState::kNone;
      for (int side = 0; side < 2; ++side) {
        const flow::TcpHalf& h = l.flow->tcp[side];
        ctx.stream_size[side] = (h.flags & flow::TcpHalf::kStarted) ? h.next_seq - h.isn : 0;
      }
      FeedHttp(state);
      if ((p.tcp_flags & (packet::kTcpFin | packet::kTcpRst)) && state.http != nullptr) {
        // A response framed by the end of the connection is complete when its sender closes.
        state.http->Close(dir == flow::Direction::kToServer, http_events_);
      }
      ctx.http = state.http != nullptr && state.http->is_http();
      ctx.http_events = http_events_;
      ctx.ssl_flags = FeedTls(state);
      ctx.smtp = DetectSmtp(state);
      ctx.tls = state.tls_flow;
      ctx.tls_handshake = state.tls != nullptr ? &state.tls->handshake() : nullptr;
      ctx.tls_events = tls_events_;
    }
    if (p.src_port == 53 || p.dst_port == 53) {
      ctx.dns = FeedDns(p, state);
      ctx.dns_messages = dns_messages_;
    }
    ctx.has_flow = true;
    ctx.flow_id = l.flow->flow_id;
    ctx.established = l.flow->established();
    ctx.to_server = dir == flow::Direction::kToServer;
    ctx.first_in_direction = l.flow->packets[flow::Index(dir)] <= 1;
    r.flow_id = l.flow->flow_id;
  } else {
    ++stats_.no_flow;
  }
  if (action != nullptr && *action == FlowAction::kDrop) {
    ++stats_.flow_dropped;
    ++stats_.dropped;
    r.drop = true;
  } else if (action != nullptr && *action == FlowAction::kPass) {
    ++stats_.flow_passed;
  } else if (p.ip_version != 0) {
    detect::Verdict v = inspect_(p, ctx, chunks_, alerts_);
    r.drop = v.drop;
    if (v.drop && config_.inline_mode) ++stats_.dropped;
    if (action != nullptr && v.pass_flow) *action = FlowAction::kPass;
    if (action != nullptr && v.drop_flow && config_.inline_mode) *action = FlowAction::kDrop;
  }
  r.alerts = alerts_;
  r.alert_only = config_.alert_only;
  sink(r);

  // A tunnel: the packet inside goes through the pipeline too, after the one that carried it.
  if (r.drop || !decode::Decoder::CarriesTunnel(p)) return;
  if (depth >= kMaxTunnelDepth) {
    ++stats_.tunnel_too_deep;
    return;
  }
  packet::Packet& inner = inner_[depth];
  if (!rebuilt_decoder_.DecodeTunnel(p, inner)) return;
  ++stats_.tunneled;
  if (inner.ip_version == 0) return;
  bool inner_rebuilt = false;  // a tunnel's packet is rebuilt only when its own fragments were
  if (inner.is_fragment) {
    // Defragmented like any fragment, keyed by the inner addresses alone (not the tunnel's).
    ++stats_.packets;
    ++stats_.no_flow;
    sink(PacketResult{.packet = &inner});
    std::span<const uint8_t> whole = defrag_->Add(inner, Nanoseconds(inner.ts));
    if (whole.empty()) return;
    // The datagram behind the inner link layer (PPP, Ethernet; none for IP in IP), copied out
    // of the defragmenter: a deeper tunnel's fragments would overwrite its buffer.
    std::span<const uint8_t> frame = defrag_->last_frame();
    std::vector<uint8_t>& copy = tunnel_frames_[depth];
    copy.assign(frame.begin(), frame.end());
    DecodeRebuilt(copy, p, inner);
    inner.outer = &p;
    ++stats_.rebuilt;
    inner_rebuilt = true;
    if (inner.ip_version == 0 || inner.is_fragment) return;
  }
  flow::KeyedPacket inner_key;
  bool has_key = flow::MakeKey(inner, &inner_key);
  ProcessPacket(inner, has_key ? &inner_key : nullptr, inner_rebuilt, sink, depth + 1);
}

void Worker::TrackTcp(const packet::Packet& p, flow::Flow& flow, flow::Direction& dir,
                      detect::FlowContext& ctx) {
  // The sender's first TTL; a segment far from it may expire before reaching the target.
  uint8_t ttl = p.ttl == 0 ? 1 : p.ttl;
  uint8_t first = flow.tcp[flow::Index(dir)].ttl;
  if (config_.ttl_limit && first != 0 && int(ttl) + int(*config_.ttl_limit) < int(first)) {
    ++stats_.ttl_mismatch;
    ctx.reassembled = flow.tcp_state != flow::TcpState::kNone;
    return;
  }
  flow::TcpVerdict v = tracker_.Update(flow, dir, flow::TcpSegment::From(p));
  flow::TcpHalf& half = flow.tcp[flow::Index(dir)];
  if (half.ttl == 0) half.ttl = ttl;
  if (v.restarted) reassembler_->Reset(flow);
  // Payload rules see the stream once tracking follows the connection (a handshake was seen or
  // it was picked up midstream).
  ctx.reassembled = flow.tcp_state != flow::TcpState::kNone;
  if (v.payload_ok && p.payload_len > 0) {
    reassembly::StreamView view =
        reassembler_->Add(flow, dir, v.payload_seq, p.payload, p.payload_len);
    if (view.has_new()) {
      chunks_.push_back(ChunkOf(view));
      chunk_to_server_.push_back(dir == flow::Direction::kToServer);
    }
    ctx.payload_in_stream = !(p.tcp_flags & packet::kTcpSyn);
  } else if (p.payload_len > 0) {
    ++stats_.tcp_payload_refused;
  }
  if (p.tcp_flags & packet::kTcpAck) {
    // The sender acknowledges the other direction: a hole there that the capture missed is
    // skipped so the data queued after it is inspected.
    reassembly::StreamView gap = reassembler_->SkipGap(flow, flow::Opposite(dir), p.tcp_ack);
    if (gap.has_new()) {
      chunks_.push_back(ChunkOf(gap));
      chunk_to_server_.push_back(dir != flow::Direction::kToServer);
    }
  }
}

void Worker::FeedHttp(FlowState& state) {
  if (state.http_done || chunks_.empty()) return;
  if (state.http != nullptr) state.http->BeginPacket(config_.http, http_stats_);
  for (size_t i = 0; i < chunks_.size(); ++i) {
    const detect::StreamChunk& c = chunks_[i];
    bool to_server = chunk_to_server_[i];
    if (state.http == nullptr) {
      if (!to_server) continue;  // HTTP is recognized from the client's bytes
      state.http = std::make_unique<app::HttpFlow>();
    }
    int d = to_server ? 0 : 1;
    uint64_t start = c.stream_offset + c.new_from;
    if (state.http_started[d] && start != state.http_next[d]) {
      state.http->Gap(to_server, http_stats_);
    }
    state.http_started[d] = true;
    state.http_next[d] = c.stream_offset + c.len;
    state.http->Feed(to_server, c.data + c.new_from, c.len - c.new_from, config_.http, http_stats_,
                     http_events_);
  }
  if (state.http != nullptr && state.http->state() == app::HttpFlow::State::kNotHttp) {
    state.http.reset();
    state.http_done = true;
  }
}

bool Worker::DetectSmtp(FlowState& state) {
  for (size_t i = 0; i < chunks_.size() && state.smtp == 0; ++i) {
    const detect::StreamChunk& c = chunks_[i];
    if (!chunk_to_server_[i] || c.new_from == c.len) continue;
    // Only the connection's first client bytes tell; a flow picked up later is not SMTP.
    const bool first = c.stream_offset + c.new_from == 0;
    state.smtp = first && app::IsSmtpClientStart(c.data, c.len) ? 1 : 2;
  }
  return state.smtp == 1;
}

uint32_t Worker::FeedTls(FlowState& state) {
  if (state.tls != nullptr && state.tls->done()) {
    // The handshake is over (the earlier packets' events were inspected): nothing more to parse.
    state.tls.reset();
    state.tls_done = true;
  }
  if (state.tls_done || chunks_.empty()) return state.ssl_versions;
  uint32_t current = 0;
  for (size_t i = 0; i < chunks_.size(); ++i) {
    const detect::StreamChunk& c = chunks_[i];
    const bool to_server = chunk_to_server_[i];
    if (state.tls == nullptr) {
      if (!to_server) continue;  // TLS is recognized from the client's bytes
      state.tls = std::make_unique<app::TlsFlow>();
    }
    const int d = to_server ? 0 : 1;
    const uint64_t start = c.stream_offset + c.new_from;
    if (state.tls_next[d] != 0 && start != state.tls_next[d]) state.tls->Gap(to_server, tls_stats_);
    state.tls_next[d] = c.stream_offset + c.len;
    state.tls->Feed(to_server, c.data + c.new_from, c.len - c.new_from, tls_stats_, tls_events_);
    current |= state.tls->current_flags();
  }
  if (state.tls != nullptr) state.ssl_versions |= state.tls->version_flags();
  state.tls_flow = state.tls != nullptr && state.tls->is_tls();
  if (state.tls != nullptr && state.tls->state() == app::TlsFlow::State::kNotTls) {
    state.tls.reset();
    state.tls_done = true;
  }
  return current | state.ssl_versions;
}

bool Worker::FeedDns(const packet::Packet& p, FlowState& state) {
  if (p.has_udp) {
    dns_messages_.resize(1);
    if (app::ParseDns(p.payload, p.payload_len, dns_messages_[0], dns_stats_)) {
      state.dns = true;
    } else {
      dns_messages_.clear();
    }
    return state.dns;
  }
  if (!p.has_tcp) return false;
  for (size_t i = 0; i < chunks_.size(); ++i) {
    const detect::StreamChunk& c = chunks_[i];
    if (state.dns_tcp == nullptr) state.dns_tcp = std::make_unique<app::DnsTcpStream>();
    state.dns_tcp->Feed(chunk_to_server_[i], c.data + c.new_from, c.len - c.new_from, dns_stats_,
                        dns_messages_);
  }
  state.dns |= !dns_messages_.empty();
  return state.dns;
}

void Worker::ForEachStat(const std::function<void(std::string_view, uint64_t)>& f) const {
#define VIGIL_WORKER_VISIT(field, name) f(name, stats_.field);
  VIGIL_WORKER_COUNTERS(VIGIL_WORKER_VISIT)
#undef VIGIL_WORKER_VISIT
  flows_->stats().ForEach(f);
  f("flow.active", flows_->size());
  tracker_.stats().ForEach(f);
  reassembler_->stats().ForEach(f);
  f("stream.memory_bytes", reassembler_->memory_used());
  f("stream.arena_resident_bytes", reassembler_->arena().touched_bytes());
  defrag_->stats().ForEach(f);
  const detect::DetectStats& d = detector_->stats();
  f("detect.rules", plan_->rule_count());
  f("detect.packets", d.packets);
  f("detect.packets_scanned", d.packets_scanned);
  f("detect.scans", d.scans);
  f("detect.packets_with_candidates", d.packets_with_candidates);
  f("detect.fast_pattern_out_of_reach", d.fast_pattern_out_of_reach);
  f("detect.history_scans_skipped", d.history_scans_skipped);
  f("detect.clean_window_evictions", d.clean_window_evictions);
  f("detect.literal_filter_scans", d.literal_filter_scans);
  f("detect.literal_filter_rejects", d.literal_filter_rejects);
  f("detect.address_candidates", d.address_candidates);
  f("detect.packets_full_match", d.packets_full_match);
  f("detect.packets_walked", d.packets_walked);
  f("detect.condition_rejects", d.condition_rejects);
  f("detect.prefix_rejects", d.prefix_rejects);
  f("detect.regex_prefilter_rejects", d.regex_prefilter_rejects);
  f("detect.candidates", d.candidates);
  f("detect.matches", d.matches);
  f("detect.alert_queue_overflow", d.alerts_discarded);
  f("detect.transactions", d.transactions);
  f("detect.tx_candidates", d.tx_candidates);
  f("detect.tx_literal_rejects", d.tx_literal_rejects);
  http_stats_.ForEach(f);
  dns_stats_.ForEach(f);
  tls_stats_.ForEach(f);
}

}  // namespace vigil::engine

#include "trafgen/trafgen.h"

#include <fmt/format.h>

#include <algorithm>
#include <unordered_set>
#include <utility>

#include "craft/capture.h"
#include "craft/frame.h"
#include "craft/tcp_session.h"
#include "decode/decoder.h"
#include "detect/detector.h"
#include "trafgen/protocols.h"

namespace vigil::trafgen {
namespace {

using craft::Endpoint;
using craft::Side;

struct PendingFrame {
  Bytes data;
  int32_t attack = -1;  // index into Summary::rules when this frame is a verified attack
};

// A flow's frame queue: the frames of its current step, consumed from `head`.
struct Queue {
  std::vector<PendingFrame> frames;
  size_t head = 0;
  [[nodiscard]] bool empty() const { return head == frames.size(); }
};

struct Pools {
  Subnet client_v4, server_v4, client_v6, server_v6;
  [[nodiscard]] const Subnet& Client(int family) const {
    return family == 6 ? client_v6 : client_v4;
  }
  [[nodiscard]] const Subnet& Server(int family) const {
    return family == 6 ? server_v6 : server_v4;
  }
};

// Shared by every flow: the one random stream, the options and the running summary.
struct Context {
  const Options& options;
  Rng& rng;
  Summary& summary;
  const Pools& pools;
};

class Flow {
 public:
  virtual ~Flow() = default;
  // Appends the frames of the flow's next step to `out`; false, with nothing appended, once the
  // flow has ended.
  virtual bool Step(Context& ctx, std::vector<PendingFrame>& out) = 0;

  Queue queue;
  uint64_t tuple_key = 0;
};

void Append(std::vector<PendingFrame>& out, std::vector<Bytes> frames) {
  for (Bytes& f : frames) out.push_back({std::move(f)});
}

uint16_t EphemeralPort(Rng& rng) { return uint16_t(rng.Range(32768, 60999)); }

// TCP flows: a session plus the segment size, reordering and retransmission of this flow.
class TcpFlow : public Flow {
 public:
  TcpFlow(Context& ctx, Endpoint client, Endpoint server) : session_(client, server, Opts(ctx)) {
    const auto& sizes = ctx.options.segment_sizes;
    std::vector<uint32_t> weights;
    for (const SegmentSize& s : sizes) weights.push_back(s.weight);
    segment_size_ = sizes[ctx.rng.Weighted(weights)].size;
  }

 protected:
  // `payload` from `side` in segments, the receiver's ACK after them; with the configured
  // probabilities a data segment trades places with the next one or is sent twice.
  void Send(Context& ctx, Side side, std::span<const uint8_t> payload,
            std::vector<PendingFrame>& out) {
    std::vector<Bytes> frames = session_.Sends(side, payload, segment_size_);
    const size_t data = frames.size() - 1;  // the last frame is the receiver's ACK
    const Options& o = ctx.options;
    if (o.reorder_rate > 0) {
      for (size_t i = 0; i + 1 < data; ++i) {
        if (ctx.rng.Chance(o.reorder_rate)) {
          std::swap(frames[i], frames[i + 1]);
          ++ctx.summary.reordered_segments;
          ++i;
        }
      }
    }
    for (size_t i = 0; i < frames.size(); ++i) {
      bool again = i < data && o.retransmit_rate > 0 && ctx.rng.Chance(o.retransmit_rate);
      if (again) {
        out.push_back({frames[i]});
        ++ctx.summary.retransmitted_segments;
      }
      out.push_back({std::move(frames[i])});
    }
  }
  void Send(Context& ctx, Side side, std::string_view text, std::vector<PendingFrame>& out) {
    Send(ctx, side, {reinterpret_cast<const uint8_t*>(text.data()), text.size()}, out);
  }

  craft::TcpSession session_;

 private:
  uint16_t segment_size_ = 1460;

  static craft::TcpSessionOptions Opts(Context& ctx) {
    craft::TcpSessionOptions o;
    o.client_isn = uint32_t(ctx.rng.Next());
    o.server_isn = uint32_t(ctx.rng.Next());
    o.window = uint16_t(ctx.rng.Range(8192, 65535));
    o.ttl = ctx.rng.Chance(0.5) ? 64 : 128;
    // MSS 1460, NOP, window scale 7, SACK permitted.
    o.syn_options = {2, 4, 0x05, 0xb4, 1, 3, 3, 7, 4, 2};
    return o;
  }
};

class HttpFlow : public TcpFlow {
 public:
  HttpFlow(Context& ctx, Endpoint client, Endpoint server)
      : TcpFlow(ctx, client, server), host_(RandomHostName(ctx.rng)) {
    constexpr uint32_t kWeights[] = {40, 20, 12, 8, 6, 5, 4, 3, 2};  // 1..9 requests
    exchanges_ = uint32_t(ctx.rng.Weighted(kWeights)) + 1;
  }
  bool Step(Context& ctx, std::vector<PendingFrame>& out) override {
    if (step_ == 0) {
      Append(out, session_.Handshake());
    } else if (step_ <= exchanges_) {
      HttpExchange x = MakeHttpExchange(ctx.rng, host_, step_ == exchanges_);
      Send(ctx, Side::kClient, x.request, out);
      Send(ctx, Side::kServer, x.response, out);
      ++ctx.summary.http_requests;
    } else if (step_ == exchanges_ + 1) {
      Append(out, session_.Close(ctx.rng.Chance(0.7) ? Side::kServer : Side::kClient));
    } else {
      return false;
    }
    ++step_;
    return true;
  }

 private:
  std::string host_;
  uint32_t exchanges_ = 1;
  uint32_t step_ = 0;
};

class TlsFlow : public TcpFlow {
 public:
  TlsFlow(Context& ctx, Endpoint client, Endpoint server)
      : TcpFlow(ctx, client, server), tls13_(ctx.rng.Chance(0.6)) {
    exchanges_ = uint32_t(ctx.rng.Range(1, 6));
  }
  bool Step(Context& ctx, std::vector<PendingFrame>& out) override {
    Rng& rng = ctx.rng;
    if (step_ == 0) {
      Append(out, session_.Handshake());
    } else if (step_ == 1) {
      Send(ctx, Side::kClient, TlsClientHello(rng, RandomHostName(rng), tls13_), out);
    } else if (step_ == 2) {
      Send(ctx, Side::kServer, TlsServerFlight(rng, tls13_), out);
    } else if (step_ == 3) {
      Send(ctx, Side::kClient, TlsClientFinish(rng, tls13_), out);
    } else if (step_ < 4 + exchanges_) {
      Send(ctx, Side::kClient, TlsApplicationData(rng, rng.Range(80, 1200)), out);
      size_t reply = rng.Chance(0.8) ? rng.Range(200, 8000) : rng.Range(8000, 60000);
      Send(ctx, Side::kServer, TlsApplicationData(rng, reply), out);
    } else if (step_ == 4 + exchanges_) {
      Append(out, session_.Close(rng.Chance(0.5) ? Side::kServer : Side::kClient));
    } else {
      return false;
    }
    ++step_;
    return true;
  }

 private:
  bool tls13_;
  uint32_t exchanges_;
  uint32_t step_ = 0;
};

class RawTcpFlow : public TcpFlow {
 public:
  RawTcpFlow(Context& ctx, Endpoint client, Endpoint server) : TcpFlow(ctx, client, server) {
    exchanges_ = uint32_t(ctx.rng.Range(1, 8));
  }
  bool Step(Context& ctx, std::vector<PendingFrame>& out) override {
    Rng& rng = ctx.rng;
    if (step_ == 0) {
      Append(out, session_.Handshake());
    } else if (step_ <= exchanges_) {
      Bytes data;
      rng.Fill(data, rng.Range(1, 3000));
      Send(ctx, Side::kClient, data, out);
      if (rng.Chance(0.7)) {
        data.clear();
        rng.Fill(data, rng.Range(1, 6000));
        Send(ctx, Side::kServer, data, out);
      }
    } else if (step_ == exchanges_ + 1) {
      if (rng.Chance(0.1)) {
        Append(out, session_.Reset(rng.Chance(0.5) ? Side::kServer : Side::kClient));
      } else {
        Append(out, session_.Close(rng.Chance(0.5) ? Side::kServer : Side::kClient));
      }
    } else {
      return false;
    }
    ++step_;
    return true;
  }

 private:
  uint32_t exchanges_;
  uint32_t step_ = 0;
};

class DnsFlow : public Flow {
 public:
  DnsFlow(Context& ctx, Endpoint client, Endpoint server) : client_(client), server_(server) {
    constexpr uint32_t kWeights[] = {80, 15, 5};
    queries_ = uint32_t(ctx.rng.Weighted(kWeights)) + 1;
  }
  bool Step(Context& ctx, std::vector<PendingFrame>& out) override {
    if (step_ == queries_) return false;
    DnsExchange d = MakeDnsExchange(ctx.rng, RandomHostName(ctx.rng));
    out.push_back({craft::UdpFrame(client_, server_, d.query)});
    out.push_back({craft::UdpFrame(server_, client_, d.response)});
    ++ctx.summary.dns_queries;
    ++step_;
    return true;
  }

 private:
  Endpoint client_, server_;
  uint32_t queries_ = 1;
  uint32_t step_ = 0;
};

class RawUdpFlow : public Flow {
 public:
  RawUdpFlow(Context& ctx, Endpoint client, Endpoint server) : client_(client), server_(server) {
    datagrams_ = uint32_t(ctx.rng.Range(1, 20));
  }
  bool Step(Context& ctx, std::vector<PendingFrame>& out) override {
    if (step_ == datagrams_) return false;
    Bytes data;
    ctx.rng.Fill(data, ctx.rng.Range(8, 1400));
    // Version bits 0 rather than RTP's 2, so that tshark's RTP/RTCP heuristics leave the random
    // datagrams alone instead of reporting them as malformed RTCP.
    data[0] &= 0x3f;
    bool from_client = step_ == 0 || ctx.rng.Chance(0.6);
    out.push_back({from_client ? craft::UdpFrame(client_, server_, data)
                               : craft::UdpFrame(server_, client_, data)});
    ++step_;
    return true;
  }

 private:
  Endpoint client_, server_;
  uint32_t datagrams_ = 1;
  uint32_t step_ = 0;
};

// An attack flow, built whole when it starts (it is short).
class PrebuiltFlow : public Flow {
 public:
  explicit PrebuiltFlow(std::vector<PendingFrame> frames) : frames_(std::move(frames)) {}
  bool Step(Context&, std::vector<PendingFrame>& out) override {
    if (done_) return false;
    for (PendingFrame& f : frames_) out.push_back(std::move(f));
    done_ = true;
    return true;
  }

 private:
  std::vector<PendingFrame> frames_;
  bool done_ = false;
};

// A rule that can be attacked, with what it needs to check its attacks.
struct AttackRule {
  size_t status_index = 0;  // into Summary::rules
  AttackTemplate attack;
  std::unique_ptr<detect::CompiledRule> compiled;
};

std::unique_ptr<detect::CompiledRule> Compile(const rules::Rule& rule) {
  auto cr = std::make_unique<detect::CompiledRule>();
  cr->rule = rule;
  for (const rules::Option& o : cr->rule.options) {
    if (const auto* c = std::get_if<rules::ContentOption>(&o)) cr->contents.push_back(c);
  }
  return cr;
}

class Attacker {
 public:
  Attacker(const Options& options, const Pools& pools, Summary& summary, Rng& rng) : pools_(pools) {
    for (const rules::Rule& r : options.attack_rules) {
      RuleAttackStatus status{.gid = r.gid, .sid = r.sid};
      if (r.enabled && r.action == rules::Action::kPass) pass_rules_.push_back(Compile(r));
      auto attack = BuildAttack(r);
      if (!attack) {
        status.skip_reason = attack.error().message;
      } else {
        AttackRule a{summary.rules.size(), std::move(*attack), Compile(r)};
        // A trial: can the header be satisfied, and does the decoded frame match?
        auto trial = Frames(a, rng, 4);
        if (!trial) {
          status.skip_reason = trial.error().message;
        } else {
          status.usable = true;
          usable_.push_back(std::move(a));
        }
      }
      summary.rules.push_back(std::move(status));
    }
  }

  [[nodiscard]] bool empty() const { return usable_.empty(); }

  // The frames of the next attack flow, round-robin over the usable rules; an error when this
  // attack could not be verified.
  base::Result<std::vector<PendingFrame>> Next(Rng& rng, int family) {
    const AttackRule& a = usable_[next_++ % usable_.size()];
    return Frames(a, rng, family);
  }

 private:
  // Frames for one attack of `a`. `family` 4 or 6 is tried first (any other value: IPv4).
  base::Result<std::vector<PendingFrame>> Frames(const AttackRule& a, Rng& rng, int family) {
    const rules::Rule& r = a.compiled->rule;
    const int first = family == 6 ? 6 : 4;
    std::optional<base::IpAddress> src, dst;
    for (int f : {first, 10 - first}) {
      // The side that sends the attack is the client unless the rule names the server's port.
      const Subnet& src_pool = a.attack.server_sends ? pools_.Server(f) : pools_.Client(f);
      const Subnet& dst_pool = a.attack.server_sends ? pools_.Client(f) : pools_.Server(f);
      src = PickAddress(r.src_addr, rng, std::span(&src_pool, 1), f);
      dst = PickAddress(r.dst_addr, rng, std::span(&dst_pool, 1), f);
      if (src && dst) break;
    }
    if (!src || !dst) {
      return base::MakeError(!src ? "no address found for the source expression"
                                  : "no address found for the destination expression");
    }
    const uint16_t server_default = a.attack.udp ? 53 : 80;
    auto sport =
        PickPort(r.src_port, rng, a.attack.server_sends ? server_default : EphemeralPort(rng));
    auto dport =
        PickPort(r.dst_port, rng, a.attack.server_sends ? EphemeralPort(rng) : server_default);
    if (!sport || !dport) return base::MakeError("no port matches the header's port expression");
    Endpoint from{*src, *sport};
    Endpoint to{*dst, *dport};

    std::vector<PendingFrame> out;
    size_t attack_index = 0;
    if (a.attack.udp) {
      // The server answers: the client's request comes first, so the flow's client is right.
      if (a.attack.server_sends) out.push_back({craft::UdpFrame(to, from, Bytes(8, 0))});
      attack_index = out.size();
      out.push_back({craft::UdpFrame(from, to, a.attack.payload)});
    } else {
      Endpoint client = a.attack.server_sends ? to : from;
      Endpoint server = a.attack.server_sends ? from : to;
      craft::TcpSessionOptions o;
      o.client_isn = uint32_t(rng.Next());
      o.server_isn = uint32_t(rng.Next());
      craft::TcpSession s(client, server, o);
      Append(out, s.Handshake());
      Side side = a.attack.server_sends ? Side::kServer : Side::kClient;
      Side peer = a.attack.server_sends ? Side::kClient : Side::kServer;
      attack_index = out.size();
      out.push_back({s.Segment(side, packet::kTcpAck | packet::kTcpPsh, a.attack.payload)});
      out.push_back({s.Segment(peer, packet::kTcpAck)});
      Append(out, s.Close(side));
    }
    // The check that makes the ground truth honest: the project's own matcher on the decoded
    // frame, and no pass rule that would silence the alert.
    const Bytes& frame = out[attack_index].data;
    packet::Packet p;
    p.data = frame.data();
    p.caplen = p.wirelen = uint32_t(frame.size());
    p.linktype = packet::LinkType::kEthernet;
    decoder_.Decode(p);
    // The flow the engine sees: a TCP attack follows its handshake (established); a UDP datagram
    // is the first of its flow (not established). The sender's side gives the direction.
    const detect::FlowContext flow = {
        .has_flow = true, .established = !a.attack.udp, .to_server = !a.attack.server_sends};
    const detect::MatchInput in = detect::MatchInput::OfPacket(p, &flow);
    if (!detect::MatchRule(*a.compiled, in)) {
      return base::MakeError("the decoded attack frame does not match the rule");
    }
    for (const auto& pass : pass_rules_) {
      if (detect::MatchRule(*pass, in)) {
        return base::MakeError(fmt::format("pass rule {}:{} matches the attack frame",
                                           pass->rule.gid, pass->rule.sid));
      }
    }
    out[attack_index].attack = int32_t(a.status_index);
    return out;
  }

  const Pools& pools_;
  std::vector<AttackRule> usable_;
  std::vector<std::unique_ptr<detect::CompiledRule>> pass_rules_;
  decode::Decoder decoder_;
  size_t next_ = 0;
};

uint64_t Mix64(uint64_t x) {  // SplitMix64's finalizer: spreads a tuple over 64 bits
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

uint64_t TupleKey(const Endpoint& a, const Endpoint& b, uint8_t proto) {
  uint64_t h = proto;
  for (const Endpoint* e : {&a, &b}) {
    for (size_t i = 0; i < 16; i += 8) {
      uint64_t w = 0;
      for (size_t k = 0; k < 8; ++k) w = w << 8 | e->ip.bytes[i + k];
      h = Mix64(h ^ w);
    }
    h = Mix64(h ^ e->port);
  }
  return h;
}

base::Result<Subnet> SubnetOption(const std::string& text, int family, const char* what) {
  auto s = ParseSubnet(text);
  if (!s || s->network.family != family) {
    return base::MakeError(
        fmt::format("bad {} subnet '{}' (IPv{} prefix expected)", what, text, family));
  }
  return *s;
}

}  // namespace

base::Result<ProtocolMix> ParseProtocolMix(std::string_view text) {
  ProtocolMix mix{0, 0, 0, 0};
  while (!text.empty()) {
    size_t comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    size_t eq = item.find('=');
    if (eq == std::string_view::npos) {
      return base::MakeError(fmt::format("mix item '{}' is not name=weight", item));
    }
    std::string_view name = item.substr(0, eq);
    std::string_view number = item.substr(eq + 1);
    if (number.empty() || number.size() > 9) {
      return base::MakeError(fmt::format("bad weight in '{}'", item));
    }
    uint32_t w = 0;
    for (char c : number) {
      if (c < '0' || c > '9') return base::MakeError(fmt::format("bad weight in '{}'", item));
      w = w * 10 + uint32_t(c - '0');
    }
    if (name == "http") {
      mix.http = w;
    } else if (name == "dns") {
      mix.dns = w;
    } else if (name == "tls") {
      mix.tls = w;
    } else if (name == "raw") {
      mix.raw = w;
    } else {
      return base::MakeError(fmt::format("unknown flow kind '{}' (http, dns, tls, raw)", name));
    }
  }
  return mix;
}

base::Result<std::vector<SegmentSize>> ParseSegmentSizes(std::string_view text) {
  std::vector<SegmentSize> sizes;
  auto number = [](std::string_view s, uint32_t max) -> std::optional<uint32_t> {
    if (s.empty() || s.size() > 9) return std::nullopt;
    uint32_t v = 0;
    for (char c : s) {
      if (c < '0' || c > '9') return std::nullopt;
      v = v * 10 + uint32_t(c - '0');
    }
    if (v > max) return std::nullopt;
    return v;
  };
  while (!text.empty()) {
    size_t comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    size_t colon = item.find(':');
    auto size = number(item.substr(0, colon), 9000);
    auto weight = colon == std::string_view::npos ? std::optional<uint32_t>(1)
                                                  : number(item.substr(colon + 1), 1'000'000);
    if (!size || *size < 1 || !weight) {
      return base::MakeError(fmt::format("bad segment size '{}' (SIZE[:WEIGHT], 1..9000)", item));
    }
    sizes.push_back({uint16_t(*size), *weight});
  }
  if (sizes.empty()) return base::MakeError("no segment size given");
  return sizes;
}

base::Result<std::unique_ptr<PcapSink>> PcapSink::Open(const std::string& path) {
  auto writer = io::PcapWriter::Open(path, packet::LinkType::kEthernet);
  if (!writer) return writer.error();
  return std::unique_ptr<PcapSink>(new PcapSink(std::move(*writer)));
}

base::Status PcapSink::Write(packet::Timestamp ts, std::span<const uint8_t> frame) {
  return writer_->Write(frame.data(), uint32_t(frame.size()), uint32_t(frame.size()), ts);
}

base::Status MemorySink::Write(packet::Timestamp ts, std::span<const uint8_t> frame) {
  offsets_.push_back(bytes_.size());
  timestamps_.push_back(ts);
  bytes_.insert(bytes_.end(), frame.begin(), frame.end());
  return {};
}

base::Result<Summary> Generate(const Options& options, Sink& sink) {
  if (options.concurrency == 0) return base::MakeError("concurrency must be at least 1");
  if (options.segment_sizes.empty()) return base::MakeError("no segment size given");
  for (const SegmentSize& s : options.segment_sizes) {
    if (s.size == 0) return base::MakeError("segment size 0");
  }
  const ProtocolMix& m = options.mix;
  // Raw traffic splits evenly between TCP and UDP, so the other weights count twice.
  const uint32_t kind_weights[] = {2 * m.http, 2 * m.dns, 2 * m.tls, m.raw, m.raw};
  if (m.http + m.dns + m.tls + m.raw == 0) return base::MakeError("every flow kind weighs 0");
  Pools pools;
  {
    auto c4 = SubnetOption(options.client_v4, 4, "IPv4 client");
    auto s4 = SubnetOption(options.server_v4, 4, "IPv4 server");
    auto c6 = SubnetOption(options.client_v6, 6, "IPv6 client");
    auto s6 = SubnetOption(options.server_v6, 6, "IPv6 server");
    for (auto* r : {&c4, &s4, &c6, &s6}) {
      if (!*r) return r->error();
    }
    pools = {*c4, *s4, *c6, *s6};
  }

  Summary summary;
  Rng rng(options.seed);
  Context ctx{options, rng, summary, pools};
  Attacker attacker(options, pools, summary, rng);
  const bool attacks = options.attack_rate > 0 && !attacker.empty();

  std::vector<std::unique_ptr<Flow>> active;
  active.reserve(size_t(std::min<uint64_t>(options.concurrency, options.flows)));
  std::unordered_set<uint64_t> tuples;  // 5-tuples of active flows, kept distinct
  packet::Timestamp ts = options.start;
  const uint64_t gap = std::max<uint64_t>(options.mean_gap_ns, 1);

  auto start_flow = [&]() {
    ++summary.flows_started;
    const int family = rng.Chance(options.ipv6_fraction) ? 6 : 4;
    if (family == 6) ++summary.ipv6_flows;
    if (attacks && rng.Chance(options.attack_rate)) {
      auto frames = attacker.Next(rng, family);
      if (frames) {
        ++summary.attack_flows;
        active.push_back(std::make_unique<PrebuiltFlow>(std::move(*frames)));
        return;
      }
      ++summary.attacks_unverified;  // an ordinary flow takes its place
    }
    const size_t kind = rng.Weighted(kind_weights);
    Endpoint client{RandomAddress(rng, pools.Client(family)), EphemeralPort(rng)};
    Endpoint server{RandomAddress(rng, pools.Server(family)), 0};
    uint8_t proto = packet::kProtoTcp;
    switch (kind) {
      case 0:
        server.port = rng.Chance(0.9) ? 80 : 8080;
        break;
      case 1:
        server.port = 53;
        proto = packet::kProtoUdp;
        break;
      case 2:
        server.port = 443;
        break;
      default:
        // Unassigned-looking ports, so that dissectors leave raw traffic alone.
        server.port = uint16_t(rng.Range(20000, 29999));
        if (kind == 4) proto = packet::kProtoUdp;
        break;
    }
    uint64_t key = TupleKey(client, server, proto);
    while (!tuples.insert(key).second) {
      client.port = EphemeralPort(rng);
      key = TupleKey(client, server, proto);
    }
    std::unique_ptr<Flow> flow;
    switch (kind) {
      case 0:
        ++summary.http_flows;
        flow = std::make_unique<HttpFlow>(ctx, client, server);
        break;
      case 1:
        ++summary.dns_flows;
        flow = std::make_unique<DnsFlow>(ctx, client, server);
        break;
      case 2:
        ++summary.tls_flows;
        flow = std::make_unique<TlsFlow>(ctx, client, server);
        break;
      case 3:
        ++summary.raw_tcp_flows;
        flow = std::make_unique<RawTcpFlow>(ctx, client, server);
        break;
      default:
        ++summary.raw_udp_flows;
        flow = std::make_unique<RawUdpFlow>(ctx, client, server);
        break;
    }
    flow->tuple_key = key;
    active.push_back(std::move(flow));
  };

  while (true) {
    while (active.size() < options.concurrency && summary.flows_started < options.flows) {
      start_flow();
    }
    if (active.empty()) break;
    const size_t i = rng.Below(active.size());
    Flow& f = *active[i];
    if (f.queue.empty()) {
      f.queue.frames.clear();
      f.queue.head = 0;
      if (!f.Step(ctx, f.queue.frames)) {
        if (f.tuple_key != 0) tuples.erase(f.tuple_key);
        std::swap(active[i], active.back());
        active.pop_back();
        continue;
      }
      if (f.queue.empty()) continue;
    }
    PendingFrame& frame = f.queue.frames[f.queue.head++];
    ts = craft::AddNanoseconds(ts, rng.Range(1, 2 * gap));
    if (auto s = sink.Write(ts, frame.data); !s) return s.error();
    ++summary.packets;
    summary.bytes += frame.data.size();
    if (frame.attack >= 0) {
      RuleAttackStatus& status = summary.rules[size_t(frame.attack)];
      summary.ground_truth.push_back({summary.packets, status.gid, status.sid});
      ++status.injected;
    }
    Bytes().swap(frame.data);  // release the frame's memory now; large windows hold many flows
    if (options.max_packets != 0 && summary.packets >= options.max_packets) break;
  }
  return summary;
}

}  // namespace vigil::trafgen

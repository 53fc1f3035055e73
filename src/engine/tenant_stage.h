// TenantStage: the tenant stage of one worker's batch (DESIGN.md's "tenant demux → fair
// admission → ... → charge tenant"), around engine::Worker::Process. It demultiplexes each
// decoded packet to its tenant, admits it or not by the tenant's tokens, times each packet's own
// work (in one batch in kSampleEvery; the others by their tenants' estimates: see Sampled
// below), and charges it when the batch is done:
//
//   TenantStage stage(accounting);                // per worker; accounting may change (reload)
//   stage.BeginBatch();                           // before receiving/decoding the batch
//   stage.Classify(n, ingress, true, [&](size_t i) { return FrameBytes(i); });  // live: optional
//   ... decode packets[0..n) (after Classify: only those stage.admitted(i)) ...
//   auto inspect = stage.Admit(packets, ingress, /*admission=*/true, &programs);
//   ... stage.action(i): what the tenant's programs decided (kXdpPass: inspect, forward
//       stage.rewritten(i) when not empty; kXdpTx: send it back; ...) ...
//   worker.Process(inspect, [&](const PacketResult& r) {
//     size_t frame = stage.OnResult(r);           // the batch index the result belongs to
//     ...
//   });
//   stage.BeginTransmit(); port.Transmit(...); stage.EndTransmit(sent);
//   stage.EndBatch(bytes, sent_mask, rule_drop_mask);
//
// Refusing before decoding. Classify takes each frame's tenant from its headers
// (TenantTable::ClassifyFrame) and admits or refuses it before anything is decoded; the caller
// then decodes only the admitted frames, and Admit keeps those decisions. A flood's excess, and a
// tenant's own beyond its tokens, so costs a header read and a refusal, not a decode: what a
// refusal costs is taken from its tenant's tokens, and the refused are not decoded (nor counted
// by the decoder). Without Classify, Admit classifies the decoded packets itself.
//
// A packet's cost: its share of receiving, decoding and demultiplexing the batch; the time from
// the end of the packet before it to the end of its own work in the pipeline (in a timed batch;
// see Sampled below for the others; the sink is called when a packet is done, its rebuilt
// datagrams and tunnels' insides included); its share of the batch's tail (the pipeline's work
// after the last packet, such as expiring idle flows, and the caller's between the pipeline and
// the transmit call or EndBatch); and, when it was forwarded, its share of the transmit call. A
// refused packet costs its share of the first part only, charged at once (before any other packet's
// work, as the scheduler wants). So the whole batch, from BeginBatch to EndBatch, is charged to its
// tenants: the scheduler hands out the time that passes, and a part of every batch charged to
// nobody would be tokens that no CPU honours, left with the tenants that spend slowest (see
// Stability in tenant/scheduler.h).
//
// Tenant programs (tenant/program_chain.h): an admitted packet of a tenant that has programs is
// copied into an XDP buffer of the stage's and run through the chain; the time it takes is the
// packet's. What a program passes is decoded again from the buffer (the packet in `packets`
// then points there, valid until the next Admit) and inspected; what it drops, sends back or
// redirects is not inspected, and the caller acts on action(i).
// Timed run by run. In a batch so timed, consecutive packets of one tenant read the clock once,
// after the last of them, and their time is split equally among them (a tenant is charged
// exactly what its run of packets took; only the split inside the run is an average). The next
// packet to be inspected tells whether this one ends a run; a result that is not the batch's own
// packet (a rebuilt datagram, a tunnel's inside) always reads the clock.
// Sampled. Those reads are most of the stage's cost: a TSC read takes about 10 ns alone but
// about 45 ns amid the pipeline's work (tenant_bench: 1.3% of throughput with a read per run, at
// 0.31 runs a packet on mixed-traffic with four tenants). So one batch in kSampleEvery, drawn at
// random, is timed run by run, and so is any batch with a tenant not yet estimated; each timed
// batch moves each of its tenants' estimate (the pipeline's cost of one of its packets) a
// quarter of the way to the batch's mean. Another batch reads the clock only at its ends, and
// its decoding and pipeline time is split among its packets in proportion to their tenants'
// estimates (which include their share of decoding). The
// batch's time is charged in full either way (what the scheduler hands out is what passed); only
// its split among tenants is estimated, from measurements of the same tenants' packets a few
// batches before. As the timed batches are drawn at random, a tenant cannot time its costly
// packets around them, and a tenant whose packets turn costly is estimated so within a few timed
// batches (a few times kSampleEvery batches: one or two milliseconds of a busy worker). The
// programs' time (above) and the refusals' are measured in every batch. kSampleEvery = 16: a
// timed batch costs about 5% more than another on this VM (tenant_bench: accounting alone 1.73%
// with one in 8, 1.5% with one in 16, 1.3% with one in 32), and one in 16 keeps the estimates
// within a period or two of the scheduler.
// Charging. A batch timed run by run, or one in which tenants' programs ran, is charged packet by
// packet: each admitted packet's cost goes to the scheduler (which bills each packet at most its
// cap) and its outcome is counted. Any other batch has no cost of its own per packet: all of a
// tenant's packets in it cost alike (their estimate's part of the pipeline's time, the equal
// shares, and the transmit call's share of each one sent), so it is charged per tenant, from
// the counts Classify (or Admit) keeps as it classifies — packets and bytes — and one call per
// tenant. Only a batch with a rule drop, or with some packets sent and others not, is then looked
// at packet by packet, for those flags alone. The per-packet passes were most of what the stage
// cost beyond its clock reads (tenant_bench, one batch in 8 timed: accounting alone 2.9% → 1.7%
// of throughput).
// Cost per packet: a TSC read at the end of each run in a timed batch; otherwise a comparison per
// sink call and a count per packet as it is classified; plus a few reads and the split per batch.
// BeginBatch belongs before the receive call (its cost is the batch's arrival work), or right
// after it when the call also waits for frames.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "decode/decoder.h"
#include "ebpf/scratch.h"
#include "ebpf/xdp.h"
#include "engine/worker.h"
#include "net/port.h"
#include "packet/batch.h"
#include "tenant/accounting.h"

namespace vigil::engine {

class TenantStage {
 public:
  static constexpr size_t kMax = packet::Batch::kMaxPackets;

  explicit TenantStage(tenant::TenantAccounting& accounting)
      : acct_(&accounting), random_(tenant::CycleClock::Now() | 1) {
    estimate_.assign(accounting.table().size(), 0);
    batch_.assign(accounting.table().size(), {});
  }
  void set_accounting(tenant::TenantAccounting& accounting) {
    acct_ = &accounting;
    estimate_.assign(accounting.table().size(), 0);  // tenants are numbered anew
    batch_.assign(accounting.table().size(), {});
    distinct_ = 0;
  }
  // One batch in `every` (at random) is timed run by run; 1: every batch (see the header
  // comment). Default kSampleEvery.
  void set_sample_every(uint32_t every) { sample_every_ = std::max<uint32_t>(every, 1); }
  static constexpr uint32_t kSampleEvery = 16;

  void BeginBatch() { batch_start_ = tenant::CycleClock::Now(); }

  // What running the tenants' programs needs: the worker's scratch, the kernel's index of
  // the interface the batch came in on (xdp_md.ingress_ifindex; 0 offline), and — live — the
  // received frames, whose checksums a sender left partial are finished in the copy a program
  // sees (as a device would have before the kernel's XDP).
  struct Programs {
    ebpf::Scratch* scratch = nullptr;
    uint32_t ifindex = 0;
    const net::Frame* frames = nullptr;
  };

  // Before decoding: the tenant of each of `n` frames (at most kMax, all from interface
  // `ingress`; frame_at(i) gives frame i's bytes) from its headers, and with `admission` whether
  // its tokens admit it (admitted(i)); a refused frame is charged its share of the batch's
  // arrival work at once. Admit then keeps these decisions (see the header comment).
  template <class FrameAt>
  void Classify(size_t n, uint32_t ingress, bool admission, FrameAt frame_at) {
    NewBatch(n);
    const tenant::TenantTable& table = acct_->table();
    for (size_t i = 0; i < n_; ++i) {
      const std::span<const uint8_t> frame = frame_at(i);
      const uint32_t t = table.ClassifyFrame(frame, ingress);
      const bool ok = !admission || acct_->Admit(t);
      tenant_[i] = t;
      admitted_[i] = ok;
      if (ok) Count(t, frame.size());
    }
    ChargeRefusals(/*read_clock=*/false);
    classified_ = true;
  }
  // Classifies `packets` (decoded, at most kMax, all from interface `ingress`) unless Classify
  // did for this batch; with `admission`, a packet whose tenant has no tokens is refused (charged
  // at once) and left out.
  // With `programs`, the admitted packets of tenants with programs run through them, and only
  // those they pass stay. Returns the packets to inspect, in order; valid until the next Admit.
  // With `group_of_tenant` (engine/tenant_groups.h: per tenant, the pipeline that inspects it),
  // the packets to inspect are ordered by group, each group's in arrival order: group(g).
  [[nodiscard]] std::span<const packet::Packet> Admit(
      std::span<packet::Packet> packets, uint32_t ingress, bool admission,
      const Programs* programs = nullptr, std::span<const uint8_t> group_of_tenant = {});
  // After an Admit with groups: the packets group g inspects (empty beyond the last group).
  [[nodiscard]] std::span<const packet::Packet> group(size_t g) const {
    if (g + 1 >= group_begin_.size()) return {};
    return {inspected_ + group_begin_[g], size_t(group_begin_[g + 1] - group_begin_[g])};
  }

  // The batch index of the packet a pipeline result belongs to (results of rebuilt datagrams and
  // tunnels' insides follow their frame's), and the end of that packet's work so far (read
  // now, or after the tenant's next packets: see the header comment).
  size_t OnResult(const PacketResult& r) {
    bool read = true;
    if (r.packet >= inspected_ && r.packet < inspected_ + inspected_count_) {
      const size_t pos = size_t(r.packet - inspected_);
      current_ = order_[pos];
      if (!sampled_) return current_;  // timed as a whole (see the header comment)
      // The next packet is the same tenant's: the clock is read after it instead.
      read = pos + 1 == inspected_count_ || tenant_[order_[pos + 1]] != tenant_[current_];
    }
    if (!sampled_) return current_;
    if (pending_count_ == 0 || pending_[pending_count_ - 1] != current_) {
      if (pending_count_ < kMax) pending_[pending_count_++] = uint8_t(current_);
    }
    if (read) ChargePending(tenant::CycleClock::Now());
    return current_;
  }

  [[nodiscard]] bool admitted(size_t i) const { return admitted_[i]; }
  // What the programs of packet i's tenant decided (kXdpPass when it has none or was refused).
  [[nodiscard]] ebpf::XdpAction action(size_t i) const {
    return run_programs_ ? action_[i] : ebpf::kXdpPass;
  }
  [[nodiscard]] uint32_t redirect_ifindex(size_t i) const { return redirect_[i]; }
  // Packet i as its programs left it, or empty when none ran on it.
  [[nodiscard]] std::span<uint8_t> rewritten(size_t i) {
    return run_programs_ && ran_[i] ? buffers_[i].data() : std::span<uint8_t>{};
  }

  void BeginTransmit() {
    tx_start_ = tenant::CycleClock::Now();
    if (!sampled_) {
      SplitByEstimates(tx_start_);
    } else if (pending_count_ > 0) {
      ChargePending(tx_start_);
    }
    tail_ += tx_start_ - last_;
  }
  // `sent` frames were handed to the transmit call (EndBatch's packets marked sent): each
  // carries an equal share of the call (none: the call is the batch's tail).
  void EndTransmit(size_t sent) {
    last_ = tenant::CycleClock::Now();
    tx_share_ = sent > 0 ? (last_ - tx_start_) / sent : 0;
    if (sent == 0) tail_ += last_ - tx_start_;
  }

  // Charges every admitted packet (its size: its captured length when it was classified):
  // `sent[i]` whether it was transmitted (forwarded, or sent back or redirected by a program),
  // `rule_drop[i]` whether a rule dropped it; then hands out the tokens of the time elapsed.
  // `waiting`: frames left in the receive queue behind this batch (0: none, or the receiver cannot
  // tell); when there are, every tenant with a packet in the batch is marked waiting
  // (TokenScheduler::MarkWaiting): the worker, not its traffic, may have held it back, and at the
  // next hand-out a tenant that did not run out is offered half again what it spent, not just the
  // growth margin.
  void EndBatch(std::span<const bool> sent, std::span<const bool> rule_drop, size_t waiting = 0);

  // Packet i's tenant (after Admit), and the cycles charged for it: a refused packet's after
  // Admit, an admitted packet's after EndBatch (in a batch charged per tenant, see Charging in
  // the header comment, the mean of its tenant's packets).
  [[nodiscard]] uint32_t tenant(size_t i) const { return tenant_[i]; }
  [[nodiscard]] uint64_t charged(size_t i) const {
    if (!admitted_[i] || per_packet_) return cost_[i];
    const TenantBatch& b = batch_[tenant_[i]];
    return b.cycles / b.packets;
  }

 private:
  // A batch of n packets (at most kMax) begins: the last batch's counts per tenant are cleared.
  void NewBatch(size_t n) {
    n_ = std::min(n, kMax);
    for (size_t j = 0; j < distinct_; ++j) batch_[distinct_tenant_[j]] = {};
    distinct_ = 0;
    admitted_count_ = 0;
  }
  // An admitted packet of tenant t, of `bytes` bytes.
  void Count(uint32_t t, size_t bytes) {
    TenantBatch& b = batch_[t];
    if (b.packets == 0) distinct_tenant_[distinct_++] = t;
    ++b.packets;
    b.bytes += bytes;
    ++admitted_count_;
  }
  // Charges the refused their share of the arrival work so far. With nothing refused and
  // `read_clock` false (Classify: the admitted are all the batch, and Admit's reading shares
  // arrival and decoding among them alike), the clock is not read.
  void ChargeRefusals(bool read_clock);
  // Charges the time from last_ to `now` to the pending packets, in equal parts; last_ = now.
  void ChargePending(uint64_t now);
  // A batch not timed run by run: the time from last_ to `now` split among the inspected packets
  // in proportion to their tenants' estimates (per tenant, or per packet: see Charging);
  // last_ = now.
  void SplitByEstimates(uint64_t now);
  // EndBatch's charges, per packet or per tenant (see Charging).
  void ChargePerPacket(uint64_t shares, std::span<const bool> sent,
                       std::span<const bool> rule_drop);
  void ChargePerTenant(uint64_t shares, std::span<const bool> sent,
                       std::span<const bool> rule_drop);
  // A batch timed run by run: each tenant's mean cost per inspected packet (its pipeline time and
  // its share of decoding after Classify) into its estimate.
  void UpdateEstimates();
  // Whether this batch is timed run by run: one in sample_every_ at random, and any batch with
  // an admitted packet of a tenant not yet estimated.
  bool DrawSample();

  tenant::TenantAccounting* acct_;
  size_t n_ = 0;             // packets in the batch
  bool classified_ = false;  // Classify ran for this batch (before decoding)
  size_t admitted_count_ = 0;
  uint64_t batch_start_ = 0;
  uint64_t arrival_share_ = 0;
  uint64_t classified_at_ = 0;  // the end of the arrival work the refused share
  uint64_t decode_share_ = 0;   // after Classify: each admitted packet's share of decoding
  uint64_t last_ = 0;           // the end of the last result's work (or of the transmit call)
  uint64_t tail_ = 0;           // batch work after the last result, before the transmit call
  uint64_t tx_start_ = 0;
  uint64_t tx_share_ = 0;
  const packet::Packet* inspected_ = nullptr;
  size_t inspected_count_ = 0;
  // The batch index of each inspected packet: kIdentity (all admitted, in place) or index_.
  const uint8_t* order_ = nullptr;
  static constexpr std::array<uint8_t, kMax> kIdentity = [] {
    std::array<uint8_t, kMax> a{};
    for (size_t i = 0; i < kMax; ++i) a[i] = uint8_t(i);
    return a;
  }();
  size_t current_ = 0;
  // The packets whose results came since the clock was last read (one tenant's, in a row).
  std::array<uint8_t, kMax> pending_{};
  size_t pending_count_ = 0;
  std::array<uint32_t, kMax> tenant_{};
  std::array<bool, kMax> admitted_{};
  std::array<uint64_t, kMax> cost_{};  // per packet: refused, or admitted in a per_packet_ batch
  std::array<uint64_t, kMax> work_{};  // cost_'s part from the pipeline (OnResult to the last)
  // Per tenant (indexed by tenant), its admitted packets in this batch: how many, their bytes,
  // how many were sent, and (charged per tenant) what they cost together; only the entries of
  // distinct_tenant_[0, distinct_) are not zero.
  struct TenantBatch {
    uint32_t packets = 0;
    uint32_t sent = 0;
    uint64_t bytes = 0;
    uint64_t cycles = 0;
  };
  std::vector<TenantBatch> batch_;
  std::array<uint32_t, kMax> distinct_tenant_{};
  size_t distinct_ = 0;
  bool per_packet_ = true;  // charged packet by packet (timed run by run, or programs ran)
  // Sampling: whether this batch is timed run by run; per tenant, the estimated pipeline cost of
  // one of its packets in cycles (0: none yet), from the batches timed run by run.
  bool sampled_ = true;
  bool split_ = false;  // SplitByEstimates ran for this batch
  uint32_t sample_every_ = kSampleEvery;
  uint64_t random_;  // xorshift64 state, seeded from the TSC: no two runs draw alike
  std::vector<uint64_t> estimate_;
  std::array<packet::Packet, kMax> kept_;
  std::array<uint8_t, kMax> index_{};  // kept_[k] is batch packet index_[k]
  std::vector<uint16_t> group_begin_;  // group g is kept_[group_begin_[g], group_begin_[g + 1])
  // Tenant programs: whether the table has any (then per batch slot: whether they ran, their
  // verdict, and the packet's copy).
  bool run_programs_ = false;
  std::array<bool, kMax> ran_{};
  std::array<ebpf::XdpAction, kMax> action_{};
  std::array<uint32_t, kMax> redirect_{};
  std::array<ebpf::XdpBuffer, kMax> buffers_;
  // Decodes what a program passed (its counts are not the capture's: the packet was counted
  // when it arrived).
  decode::Decoder decoder_;
};

}  // namespace vigil::engine

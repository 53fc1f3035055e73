#include "engine/tenant_stage.h"

#include <algorithm>
#include <cstring>

#include "tenant/program_chain.h"

namespace vigil::engine {
namespace {

// Whether any of the first n flags is set, and whether all are: a bool is a byte of 0 or 1, read
// eight at a time (inline: a call to memchr cost more than the rest of EndBatch).
bool AnySet(std::span<const bool> flags, size_t n) {
  uint64_t any = 0;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t word;
    std::memcpy(&word, flags.data() + i, 8);
    any |= word;
  }
  for (; i < n; ++i) any |= uint64_t(flags[i]);
  return any != 0;
}
bool AllSet(std::span<const bool> flags, size_t n) {
  constexpr uint64_t kOnes = 0x0101010101010101;
  bool all = true;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t word;
    std::memcpy(&word, flags.data() + i, 8);
    all &= word == kOnes;
  }
  for (; i < n; ++i) all &= flags[i];
  return all;
}

}  // namespace

std::span<const packet::Packet> TenantStage::Admit(std::span<packet::Packet> packets,
                                                   uint32_t ingress, bool admission,
                                                   const Programs* programs,
                                                   std::span<const uint8_t> group_of_tenant) {
  const tenant::TenantTable& table = acct_->table();
  run_programs_ = programs != nullptr && table.has_programs();
  uint64_t now;
  if (classified_) {
    // Decoded after Classify: the decoding is the admitted packets' alone. A batch not timed run
    // by run splits it with the pipeline's time, by the estimates (which include it).
    classified_ = false;
    sampled_ = DrawSample();
    decode_share_ = 0;
    now = classified_at_;
    if (sampled_ || run_programs_) {
      now = tenant::CycleClock::Now();
      decode_share_ = admitted_count_ > 0 ? (now - classified_at_) / admitted_count_ : 0;
    }
  } else {
    NewBatch(packets.size());
    for (size_t i = 0; i < n_; ++i) {
      const uint32_t t = acct_->Classify(packets[i], ingress);
      const bool ok = !admission || acct_->Admit(t);
      tenant_[i] = t;
      admitted_[i] = ok;
      if (ok) Count(t, packets[i].caplen);
    }
    ChargeRefusals(/*read_clock=*/true);
    sampled_ = DrawSample();
    decode_share_ = 0;
    now = classified_at_;
  }
  per_packet_ = sampled_ || run_programs_;
  if (per_packet_) {
    for (size_t i = 0; i < n_; ++i) {
      if (!admitted_[i]) continue;  // charged its share of the arrival work
      cost_[i] = 0;
      work_[i] = 0;
    }
  }
  if (run_programs_) {
    std::fill_n(ran_.begin(), n_, false);
    std::fill_n(action_.begin(), n_, ebpf::kXdpPass);
    for (size_t i = 0; i < n_; ++i) {
      const tenant::ProgramChain* chain = table.programs(tenant_[i]);
      if (!admitted_[i] || chain == nullptr) continue;
      packet::Packet& p = packets[i];
      ebpf::XdpBuffer& buffer = buffers_[i];
      buffer.Assign({p.data, p.caplen});
      if (programs->frames != nullptr && programs->frames[i].checksum_partial) {
        net::FinishChecksum(buffer.data(), programs->frames[i].offload);
      }
      auto verdict = chain->Run(*programs->scratch, buffer, {.ingress_ifindex = programs->ifindex});
      ran_[i] = true;
      action_[i] = verdict.action;
      redirect_[i] = verdict.redirect_ifindex;
      if (verdict.action == ebpf::kXdpPass) {
        const std::span<uint8_t> bytes = buffer.data();
        packet::Packet q;
        q.data = bytes.data();
        q.caplen = uint32_t(bytes.size());
        q.wirelen = uint32_t(bytes.size()) + (p.wirelen - p.caplen);
        q.ts = p.ts;
        q.number = p.number;
        q.linktype = p.linktype;
        decoder_.Decode(q);
        p = q;
      }
      const uint64_t end = tenant::CycleClock::Now();
      cost_[i] += end - now;
      now = end;
    }
  }
  size_t m = 0;
  group_begin_.clear();
  if (!group_of_tenant.empty()) {
    // Ordered by group (a counting sort), each group's packets in arrival order.
    uint8_t last = 0;
    std::array<uint16_t, 256> count{};
    for (size_t i = 0; i < n_; ++i) {
      if (!admitted_[i] || action(i) != ebpf::kXdpPass) continue;
      const uint8_t g = group_of_tenant[tenant_[i]];
      ++count[g];
      last = std::max(last, g);
    }
    group_begin_.assign(size_t(last) + 2, 0);
    for (size_t g = 0; g <= last; ++g) group_begin_[g + 1] = uint16_t(group_begin_[g] + count[g]);
    std::array<uint16_t, 256> next{};
    for (size_t i = 0; i < n_; ++i) {
      if (!admitted_[i] || action(i) != ebpf::kXdpPass) continue;
      const uint8_t g = group_of_tenant[tenant_[i]];
      const size_t k = group_begin_[g] + next[g]++;
      index_[k] = uint8_t(i);
      kept_[k] = packets[i];
    }
    m = group_begin_[last + 1];
    inspected_ = kept_.data();
    order_ = index_.data();
  } else if (admitted_count_ == n_ && !run_programs_) {
    m = n_;  // all admitted, the usual case: inspected where they are
    inspected_ = packets.data();
    order_ = kIdentity.data();
  } else {
    for (size_t i = 0; i < n_; ++i) {
      index_[m] = uint8_t(i);
      if (admitted_[i] && action(i) == ebpf::kXdpPass) ++m;
    }
    for (size_t k = 0; k < m; ++k) kept_[k] = packets[index_[k]];
    inspected_ = kept_.data();
    order_ = index_.data();
  }
  inspected_count_ = m;
  split_ = false;
  pending_count_ = 0;
  current_ = 0;
  tx_share_ = 0;
  tail_ = 0;
  last_ = now;  // sorting the batch above is the first packet's work: one clock read less
  return {inspected_, m};
}

void TenantStage::ChargeRefusals(bool read_clock) {
  if (admitted_count_ == n_ && !read_clock) {
    classified_at_ = batch_start_;  // Admit's share covers arrival and decoding
    arrival_share_ = 0;
    return;
  }
  classified_at_ = tenant::CycleClock::Now();
  arrival_share_ = n_ > 0 ? (classified_at_ - batch_start_) / n_ : 0;
  if (admitted_count_ == n_) return;
  for (size_t i = 0; i < n_; ++i) {
    if (admitted_[i]) continue;
    acct_->Refused(tenant_[i], arrival_share_);
    cost_[i] = arrival_share_;
  }
}

void TenantStage::ChargePending(uint64_t now) {
  if (pending_count_ > 0) {
    const uint64_t spent = now - last_;
    const uint64_t each = spent / pending_count_;
    for (size_t k = 0; k < pending_count_; ++k) work_[pending_[k]] += each;
    work_[pending_[pending_count_ - 1]] += spent - each * pending_count_;
    pending_count_ = 0;
  }
  last_ = now;
}

bool TenantStage::DrawSample() {
  random_ ^= random_ << 13;
  random_ ^= random_ >> 7;
  random_ ^= random_ << 17;
  if (sample_every_ <= 1 || random_ % sample_every_ == 0) return true;
  for (size_t j = 0; j < distinct_; ++j) {
    if (estimate_[distinct_tenant_[j]] == 0) return true;
  }
  return false;
}

void TenantStage::SplitByEstimates(uint64_t now) {
  if (inspected_count_ == 0) return;  // the time is the batch's tail
  const uint64_t spent = now - last_;
  last_ = now;
  split_ = true;
  if (!per_packet_) {
    // Every admitted packet was inspected: each tenant's its packets' part.
    double total = 0;
    for (size_t j = 0; j < distinct_; ++j) {
      const uint32_t t = distinct_tenant_[j];
      total += double(estimate_[t]) * batch_[t].packets;
    }
    const double per_cycle = total > 0 ? double(spent) / total : 0;
    uint64_t given = 0;
    for (size_t j = 0; j < distinct_; ++j) {
      TenantBatch& b = batch_[distinct_tenant_[j]];
      b.cycles = uint64_t(double(estimate_[distinct_tenant_[j]]) * b.packets * per_cycle);
      given += b.cycles;
    }
    batch_[distinct_tenant_[distinct_ - 1]].cycles += spent > given ? spent - given : 0;
    return;
  }
  double total = 0;
  for (size_t k = 0; k < inspected_count_; ++k) total += double(estimate_[tenant_[order_[k]]]);
  const double per_cycle = total > 0 ? double(spent) / total : 0;
  uint64_t given = 0;
  for (size_t k = 0; k < inspected_count_; ++k) {
    const size_t i = order_[k];
    work_[i] = uint64_t(double(estimate_[tenant_[i]]) * per_cycle);
    given += work_[i];
  }
  work_[order_[inspected_count_ - 1]] += spent > given ? spent - given : 0;
}

void TenantStage::UpdateEstimates() {
  // Per tenant of the batch (in the order of first packets; a batch has few): packets and cost.
  std::array<uint32_t, kMax> tenants;
  std::array<uint64_t, kMax> sum{};
  std::array<uint32_t, kMax> count{};
  size_t distinct = 0;
  for (size_t k = 0; k < inspected_count_; ++k) {
    const size_t i = order_[k];
    size_t j = 0;
    while (j < distinct && tenants[j] != tenant_[i]) ++j;
    if (j == distinct) tenants[distinct++] = tenant_[i];
    sum[j] += work_[i] + decode_share_;
    ++count[j];
  }
  for (size_t j = 0; j < distinct; ++j) {
    if (tenants[j] >= estimate_.size()) continue;
    const uint64_t mean = std::max<uint64_t>(sum[j] / count[j], 1);
    uint64_t& e = estimate_[tenants[j]];
    // A moving average over the timed batches, a quarter of the way to each new mean.
    e = e == 0 ? mean : uint64_t(int64_t(e) + (int64_t(mean) - int64_t(e)) / 4);
    e = std::max<uint64_t>(e, 1);
  }
}

void TenantStage::EndBatch(std::span<const bool> sent, std::span<const bool> rule_drop,
                           size_t waiting) {
  const uint64_t end = tenant::CycleClock::Now();
  if (!sampled_) {
    if (!split_) SplitByEstimates(end);  // no transmit call
  } else {
    if (pending_count_ > 0) ChargePending(end);  // a result that never came (see OnResult)
    UpdateEstimates();
  }
  const uint64_t tail_share = admitted_count_ > 0 ? (tail_ + end - last_) / admitted_count_ : 0;
  const uint64_t shares = arrival_share_ + decode_share_ + tail_share;
  if (per_packet_) {
    ChargePerPacket(shares, sent, rule_drop);
  } else {
    ChargePerTenant(shares, sent, rule_drop);
  }
  for (size_t j = 0; j < distinct_; ++j) {
    const TenantBatch& b = batch_[distinct_tenant_[j]];
    acct_->Count(distinct_tenant_[j], b.packets, b.bytes);
  }
  if (waiting > 0) {
    for (size_t i = 0; i < n_; ++i) acct_->Waiting(tenant_[i]);
  }
  acct_->Refill(end, end - batch_start_);
}

void TenantStage::ChargePerPacket(uint64_t shares, std::span<const bool> sent,
                                  std::span<const bool> rule_drop) {
  for (size_t i = 0; i < n_; ++i) {
    if (!admitted_[i]) continue;
    tenant::Outcome outcome = rule_drop[i] ? tenant::Outcome::kRuleDrop : tenant::Outcome::kPassed;
    switch (action(i)) {
      case ebpf::kXdpPass:
        break;
      case ebpf::kXdpTx:
        outcome = tenant::Outcome::kProgramTx;
        break;
      case ebpf::kXdpRedirect:
        outcome = tenant::Outcome::kProgramRedirect;
        break;
      default:
        outcome = tenant::Outcome::kProgramDrop;
        break;
    }
    cost_[i] += work_[i] + shares + (sent[i] ? tx_share_ : 0);
    acct_->Charge(tenant_[i], cost_[i]);
    if (outcome != tenant::Outcome::kPassed) acct_->Ended(tenant_[i], outcome);
  }
}

void TenantStage::ChargePerTenant(uint64_t shares, std::span<const bool> sent,
                                  std::span<const bool> rule_drop) {
  // No programs ran: a packet was passed or dropped by a rule. A batch is looked at packet by
  // packet only for what it has.
  if (AnySet(rule_drop, n_)) {
    for (size_t i = 0; i < n_; ++i) {
      if (admitted_[i] && rule_drop[i]) acct_->Ended(tenant_[i], tenant::Outcome::kRuleDrop);
    }
  }
  if (tx_share_ > 0) {
    if (admitted_count_ == n_ && AllSet(sent, n_)) {
      for (size_t j = 0; j < distinct_; ++j) {
        TenantBatch& b = batch_[distinct_tenant_[j]];
        b.sent = b.packets;  // all sent, the usual case inline
      }
    } else {
      for (size_t i = 0; i < n_; ++i) batch_[tenant_[i]].sent += admitted_[i] && sent[i];
    }
  }
  for (size_t j = 0; j < distinct_; ++j) {
    TenantBatch& b = batch_[distinct_tenant_[j]];
    b.cycles += b.packets * shares + b.sent * tx_share_;
    acct_->Charge(distinct_tenant_[j], b.cycles, b.packets);
  }
}

}  // namespace vigil::engine

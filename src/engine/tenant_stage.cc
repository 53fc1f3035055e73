#include "engine/tenant_stage.h"

#include <algorithm>

#include "tenant/program_chain.h"

namespace vigil::engine {

std::span<const packet::Packet> TenantStage::Admit(std::span<packet::Packet> packets,
                                                   uint32_t ingress, bool admission,
                                                   const Programs* programs,
                                                   std::span<const uint8_t> group_of_tenant) {
  const tenant::TenantTable& table = acct_->table();
  const bool run_programs = programs != nullptr && table.has_programs();
  uint64_t now;
  if (classified_) {
    // Decoded after Classify: the decoding is the admitted packets' alone. A batch not timed run
    // by run splits it with the pipeline's time, by the estimates (which include it).
    classified_ = false;
    sampled_ = DrawSample();
    decode_share_ = 0;
    now = classified_at_;
    if (sampled_ || run_programs) {
      now = tenant::CycleClock::Now();
      decode_share_ = admitted_count_ > 0 ? (now - classified_at_) / admitted_count_ : 0;
    }
  } else {
    n_ = std::min(packets.size(), kMax);
    for (size_t i = 0; i < n_; ++i) {
      tenant_[i] = acct_->Classify(packets[i], ingress);
      admitted_[i] = !admission || acct_->Admit(tenant_[i]);
    }
    ChargeRefusals(/*read_clock=*/true);
    sampled_ = DrawSample();
    decode_share_ = 0;
    now = classified_at_;
  }
  if (run_programs) {
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
      if (!admitted_[i] || action_[i] != ebpf::kXdpPass) continue;
      const uint8_t g = group_of_tenant[tenant_[i]];
      ++count[g];
      last = std::max(last, g);
    }
    group_begin_.assign(size_t(last) + 2, 0);
    for (size_t g = 0; g <= last; ++g) group_begin_[g + 1] = uint16_t(group_begin_[g] + count[g]);
    std::array<uint16_t, 256> next{};
    for (size_t i = 0; i < n_; ++i) {
      if (!admitted_[i] || action_[i] != ebpf::kXdpPass) continue;
      const uint8_t g = group_of_tenant[tenant_[i]];
      const size_t k = group_begin_[g] + next[g]++;
      index_[k] = uint8_t(i);
      kept_[k] = packets[i];
    }
    m = group_begin_[last + 1];
    inspected_ = kept_.data();
  } else {
    for (size_t i = 0; i < n_; ++i) {
      index_[m] = uint8_t(i);
      if (admitted_[i] && action_[i] == ebpf::kXdpPass) ++m;
    }
    if (m == n_) {
      inspected_ = packets.data();  // all admitted, the usual case: inspected where they are
    } else {
      for (size_t k = 0; k < m; ++k) kept_[k] = packets[index_[k]];
      inspected_ = kept_.data();
    }
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
  size_t admitted = 0;
  for (size_t i = 0; i < n_; ++i) {
    ran_[i] = false;
    action_[i] = ebpf::kXdpPass;
    cost_[i] = 0;
    work_[i] = 0;
    admitted += admitted_[i] ? 1 : 0;
  }
  admitted_count_ = admitted;
  if (admitted == n_ && !read_clock) {
    classified_at_ = batch_start_;  // Admit's share covers arrival and decoding
    arrival_share_ = 0;
    return;
  }
  classified_at_ = tenant::CycleClock::Now();
  arrival_share_ = n_ > 0 ? (classified_at_ - batch_start_) / n_ : 0;
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
  for (size_t i = 0; i < n_; ++i) {
    if (!admitted_[i]) continue;
    if (tenant_[i] >= estimate_.size() || estimate_[tenant_[i]] == 0) return true;
  }
  return false;
}

void TenantStage::SplitByEstimates(uint64_t now) {
  if (inspected_count_ == 0) return;  // the time is the batch's tail
  const uint64_t spent = now - last_;
  double total = 0;
  for (size_t k = 0; k < inspected_count_; ++k) total += double(estimate_[tenant_[index_[k]]]);
  const double per_cycle = total > 0 ? double(spent) / total : 0;
  uint64_t given = 0;
  for (size_t k = 0; k < inspected_count_; ++k) {
    const size_t i = index_[k];
    work_[i] = uint64_t(double(estimate_[tenant_[i]]) * per_cycle);
    given += work_[i];
  }
  work_[index_[inspected_count_ - 1]] += spent > given ? spent - given : 0;
  last_ = now;
  split_ = true;
}

void TenantStage::UpdateEstimates() {
  // Per tenant of the batch (in the order of first packets; a batch has few): packets and cost.
  std::array<uint32_t, kMax> tenants;
  std::array<uint64_t, kMax> sum{};
  std::array<uint32_t, kMax> count{};
  size_t distinct = 0;
  for (size_t k = 0; k < inspected_count_; ++k) {
    const size_t i = index_[k];
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

void TenantStage::EndBatch(std::span<const uint32_t> bytes, std::span<const bool> sent,
                           std::span<const bool> rule_drop, size_t waiting) {
  const uint64_t end = tenant::CycleClock::Now();
  if (!sampled_) {
    if (!split_) SplitByEstimates(end);  // no transmit call
  } else {
    if (pending_count_ > 0) ChargePending(end);  // a result that never came (see OnResult)
    UpdateEstimates();
  }
  const uint64_t tail_share = admitted_count_ > 0 ? (tail_ + end - last_) / admitted_count_ : 0;
  const uint64_t shares = arrival_share_ + decode_share_ + tail_share;
  for (size_t i = 0; i < n_; ++i) {
    if (!admitted_[i]) continue;
    tenant::Outcome outcome = rule_drop[i] ? tenant::Outcome::kRuleDrop : tenant::Outcome::kPassed;
    switch (action_[i]) {
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
    acct_->Done(tenant_[i], bytes[i], cost_[i], outcome);
  }
  if (waiting > 0) {
    for (size_t i = 0; i < n_; ++i) acct_->Waiting(tenant_[i]);
  }
  acct_->Refill(end, end - batch_start_);
}

}  // namespace vigil::engine

#include "engine/tenant_stage.h"

#include <algorithm>

namespace vigil::engine {

std::span<const packet::Packet> TenantStage::Admit(std::span<const packet::Packet> packets,
                                                   uint32_t ingress, bool admission) {
  n_ = std::min(packets.size(), kMax);
  for (size_t i = 0; i < n_; ++i) {
    tenant_[i] = acct_->Classify(packets[i], ingress);
    admitted_[i] = !admission || acct_->Admit(tenant_[i]);
    cost_[i] = 0;
  }
  const uint64_t now = tenant::CycleClock::Now();
  arrival_share_ = n_ > 0 ? (now - batch_start_) / n_ : 0;
  size_t m = 0;
  for (size_t i = 0; i < n_; ++i) {
    index_[m] = uint8_t(i);
    if (admitted_[i]) {
      ++m;
    } else {
      acct_->Refused(tenant_[i], arrival_share_);
    }
  }
  if (m == n_) {
    inspected_ = packets.data();  // all admitted, the usual case: inspected where they are
  } else {
    for (size_t k = 0; k < m; ++k) kept_[k] = packets[index_[k]];
    inspected_ = kept_.data();
  }
  inspected_count_ = m;
  current_ = 0;
  tx_share_ = 0;
  last_ = tenant::CycleClock::Now();
  return {inspected_, m};
}

size_t TenantStage::OnResult(const PacketResult& r) {
  if (r.packet >= inspected_ && r.packet < inspected_ + inspected_count_) {
    current_ = index_[size_t(r.packet - inspected_)];
  }
  const uint64_t now = tenant::CycleClock::Now();
  cost_[current_] += now - last_;
  last_ = now;
  return current_;
}

void TenantStage::EndBatch(std::span<const uint32_t> bytes, std::span<const bool> sent,
                           std::span<const bool> rule_drop) {
  for (size_t i = 0; i < n_; ++i) {
    if (!admitted_[i]) continue;
    acct_->Done(tenant_[i], bytes[i], arrival_share_ + cost_[i] + (sent[i] ? tx_share_ : 0),
                rule_drop[i]);
  }
  acct_->Refill(tenant::CycleClock::Now());
}

}  // namespace vigil::engine

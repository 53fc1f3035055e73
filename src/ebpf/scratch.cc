#include "ebpf/scratch.h"

#include "ebpf/program.h"
#include "ebpf/xdp.h"

namespace vigil::ebpf {

Scratch::Scratch(ScratchConfig config) : config_(config), rng_(config.prandom_seed | 1) {
  std::memset(stack_, 0, sizeof(stack_));
}

void Scratch::AddRegion(const void* p, size_t size, bool writable) {
  if (num_regions_ < std::size(regions_) && p != nullptr && size > 0) {
    regions_[num_regions_++] = {uint64_t(p), size, writable};
  }
}

bool Scratch::Allowed(uint64_t addr, uint64_t size, bool write) const {
  if (size == 0 || addr + size < addr) return false;
  // Live stack frames: the current one and its callers' (a callee may use a pointer into its
  // caller's frame, as the kernel allows).
  const uint64_t top = uint64_t(stack_) + sizeof(stack_);
  const uint64_t low = top - uint64_t(depth + 1) * kStackSize;
  if (addr >= low && addr + size <= top) return true;
  for (uint32_t i = 0; i < num_regions_; ++i) {
    const Region& r = regions_[i];
    if (addr >= r.lo && addr + size <= r.lo + r.size) return r.writable || !write;
  }
  if (xdp != nullptr) {
    if (addr >= xdp->data_meta && addr + size <= xdp->data_end) return true;
    // The context itself is read-only and only its public part.
    if (!write && addr >= uint64_t(xdp) &&
        addr + size <= uint64_t(xdp) + offsetof(XdpContext, hard_start)) {
      return true;
    }
  }
  if (program != nullptr) {
    for (const auto& m : program->maps()) {
      if (m->ContainsValue(addr, size)) return true;
    }
  }
  return false;
}

bool Scratch::IsMap(uint64_t p) const {
  return program != nullptr && program->HasMap(reinterpret_cast<const void*>(p));
}

void Scratch::Fail(std::string message) {
  if (error.empty()) error = std::move(message);
  pending = true;
}

void Scratch::AppendTrace(std::string_view text) {
  if (trace_log_.size() >= config_.trace_log_limit) return;
  trace_log_.append(text.substr(0, config_.trace_log_limit - trace_log_.size()));
}

uint64_t Scratch::NextRandom() {
  // xorshift64*: fast, and good enough for what programs use it for (sampling, jitter).
  rng_ ^= rng_ >> 12;
  rng_ ^= rng_ << 25;
  rng_ ^= rng_ >> 27;
  return rng_ * 0x2545f4914f6cdd1dull;
}

}  // namespace vigil::ebpf

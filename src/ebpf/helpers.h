// eBPF helper functions: the table that maps a call's helper id to code, with the kernel's ids and
// semantics for the helpers vigil implements (isa.h lists them), and room for a host to add its
// own (the test suites register uBPF's test helpers this way).
//
//   ebpf::HelperTable helpers = ebpf::HelperTable::Kernel();   // a copy to extend
//   helpers.Set(0, "gather", [](ebpf::Scratch&, uint64_t a, uint64_t b, uint64_t, uint64_t,
//                               uint64_t) -> uint64_t { return a << 8 | b; });
//   auto prog = ebpf::Program::Load(insns, {.helpers = &helpers});
//
// A helper receives the run's Scratch: in checked mode it must validate every pointer argument with
// Scratch::CanRead/CanWrite (and maps with Scratch::IsMap) and call Scratch::Fail on a bad one,
// which ends the run with that error instead of touching memory.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace vigil::ebpf {

class Scratch;

using HelperFn = uint64_t (*)(Scratch& scratch, uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4,
                              uint64_t r5);

class HelperTable {
 public:
  // The kernel helpers vigil implements (map lookup/update/delete, ktime, trace_printk, prandom,
  // processor id, tail_call, redirect, csum_diff, the XDP adjust helpers, redirect_map,
  // perf_event_output, fib_lookup (fib.h), the ring buffer's output, reserve, submit, discard and
  // query, the raw SYN cookie helpers of syncookie.h).
  [[nodiscard]] static const HelperTable& Kernel();

  void Set(int32_t id, std::string name, HelperFn fn);
  // The helper `id`, or nullptr when none is registered.
  [[nodiscard]] HelperFn Find(int64_t id) const {
    return id >= 0 && uint64_t(id) < fns_.size() ? fns_[id] : nullptr;
  }
  [[nodiscard]] std::string_view Name(int64_t id) const;

 private:
  std::vector<HelperFn> fns_;
  std::vector<std::string> names_;
};

}  // namespace vigil::ebpf

#include "ebpf/kernel_test_run.h"

#include <cerrno>
#include <cstring>

#include "fmt/format.h"

#ifdef VIGIL_HAVE_LIBBPF
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#endif

namespace vigil::ebpf {

#ifdef VIGIL_HAVE_LIBBPF

base::Result<KernelTiming> KernelNsPerRun(const std::string& object, const std::string& function,
                                          std::span<const std::vector<uint8_t>> frames,
                                          uint32_t repeat,
                                          std::span<const KernelMapEntry> entries) {
  // What an XDP test run takes: an Ethernet header at least, and no more than fits a page with
  // the headroom (a full-size frame with VLAN tags always does).
  constexpr size_t kMinFrame = 14, kMaxFrame = 1522;
  bpf_object* obj = bpf_object__open_file(object.c_str(), nullptr);
  if (obj == nullptr) {
    return base::MakeError(fmt::format("libbpf cannot open {}: {}", object, strerror(errno)));
  }
  struct Close {
    bpf_object* obj;
    ~Close() { bpf_object__close(obj); }
  } close{obj};
  bpf_program* prog = bpf_object__find_program_by_name(obj, function.c_str());
  if (prog == nullptr) return base::MakeError(fmt::format("libbpf finds no '{}'", function));
  // libbpf derives the type from the section name and knows only a few XDP section names.
  bpf_program__set_type(prog, BPF_PROG_TYPE_XDP);
  if (int err = bpf_object__load(obj); err != 0) {
    return base::MakeError(fmt::format("the kernel refuses to load it: {}", strerror(-err)));
  }
  for (const KernelMapEntry& e : entries) {
    bpf_map* map = bpf_object__find_map_by_name(obj, e.map.c_str());
    if (map == nullptr) return base::MakeError(fmt::format("libbpf finds no map '{}'", e.map));
    if (int err = bpf_map__update_elem(map, e.key.data(), e.key.size(), e.value.data(),
                                       e.value.size(), BPF_ANY);
        err != 0) {
      return base::MakeError(
          fmt::format("the kernel refuses an update of '{}': {}", e.map, strerror(-err)));
    }
  }
  const int fd = bpf_program__fd(prog);
  KernelTiming timing;
  double total_ns = 0;
  uint64_t runs = 0;
  for (const auto& frame : frames) {
    if (frame.size() < kMinFrame || frame.size() > kMaxFrame) {
      ++timing.skipped;
      continue;
    }
    // No output buffer: the kernel would refuse one smaller than a grown (GRO) frame.
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame.data(),
                .data_size_in = uint32_t(frame.size()), .repeat = int(repeat));
    if (int err = bpf_prog_test_run_opts(fd, &opts); err != 0) {
      return base::MakeError(
          fmt::format("the kernel cannot test-run it on a {}-byte frame (BPF_PROG_TEST_RUN): {}",
                      frame.size(), strerror(-err)));
    }
    total_ns += double(opts.duration) * repeat;
    runs += repeat;
    ++timing.frames;
  }
  if (runs == 0) return base::MakeError("the kernel ran none of the frames");
  timing.ns_per_run = total_ns / double(runs);
  return timing;
}

#else

base::Result<KernelTiming> KernelNsPerRun(const std::string&, const std::string&,
                                          std::span<const std::vector<uint8_t>>, uint32_t,
                                          std::span<const KernelMapEntry>) {
  return base::MakeError("vigil was built without libbpf");
}

#endif

}  // namespace vigil::ebpf

#include "offloads/offload_harness.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include "ebpf/elf_loader.h"
#include "ebpf/helpers.h"
#include "ebpf/scratch.h"
#include "ebpf/xdp.h"
#include "fmt/format.h"

namespace vigil::offloads {

uint64_t OffloadClock::now_ns = 1'000'000'000'000ull;

const char* EngineName(EngineKind kind) {
  switch (kind) {
    case EngineKind::kInterpreter:
      return "interpreter";
    case EngineKind::kJit:
      return "jit";
    case EngineKind::kKernel:
      return "kernel";
  }
  return "?";
}

Bytes Le(uint64_t value, size_t size) {
  Bytes out(size);
  for (size_t i = 0; i < size && i < 8; ++i) out[i] = uint8_t(value >> (8 * i));
  return out;
}

uint64_t OffloadEngine::Counter(const std::string& name, uint32_t index) {
  auto v = Lookup(name, Le(index, 4));
  uint64_t n = 0;
  if (v && v->size() >= 8) std::memcpy(&n, v->data(), 8);
  return n;
}

namespace {

uint64_t ClockHelper(ebpf::Scratch&, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t) {
  return OffloadClock::now_ns;
}

const ebpf::HelperTable& ClockHelpers() {
  static const ebpf::HelperTable table = [] {
    ebpf::HelperTable t = ebpf::HelperTable::Kernel();
    t.Set(ebpf::kHelperKtimeGetNs, "bpf_ktime_get_ns", ClockHelper);
    t.Set(ebpf::kHelperKtimeGetBootNs, "bpf_ktime_get_boot_ns", ClockHelper);
    return t;
  }();
  return table;
}

double ThreadCpuNs() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) * 1e9 + double(ts.tv_nsec);
}

class VigilEngine final : public OffloadEngine {
 public:
  VigilEngine(ebpf::ElfObject::Loaded loaded, bool jit)
      : loaded_(std::move(loaded)), scratch_(ebpf::ScratchConfig{.jit = jit}) {}

  base::Result<RunResult> Run(std::span<const uint8_t> frame) override {
    buffer_.Assign(frame);
    auto v = ebpf::RunXdp(*loaded_.program, scratch_, buffer_);
    if (!v) return base::MakeError(v.error().message);
    return RunResult{.action = uint32_t(v->raw),
                     .frame = Bytes(buffer_.data().begin(), buffer_.data().end())};
  }

  // The thread's CPU time, not the wall clock's: on a shared machine the wall clock counts the
  // time other processes hold the core (the kernel's measure leaves that out too).
  base::Result<double> Time(std::span<const uint8_t> frame, uint32_t repeat, bool) override {
    const double start = ThreadCpuNs();
    uint64_t sink = 0;
    for (uint32_t i = 0; i < repeat; ++i) {
      buffer_.Assign(frame);
      auto v = ebpf::RunXdp(*loaded_.program, scratch_, buffer_);
      if (!v) return base::MakeError(v.error().message);
      sink += v->raw;
    }
    asm volatile("" : : "r"(sink));
    return (ThreadCpuNs() - start) / repeat;
  }

  base::Status Update(const std::string& name, std::span<const uint8_t> key,
                      std::span<const uint8_t> value) override {
    ebpf::Map* m = Find(name);
    if (m == nullptr) return base::MakeError("no map " + name);
    Bytes v(value.begin(), value.end());
    const uint32_t host = m->HostValueSize();
    if (host != v.size()) {  // per-CPU: the value on every CPU, each padded to 8 bytes
      const size_t stride = (value.size() + 7) & ~size_t(7);
      v.assign(host, 0);
      for (size_t off = 0; off + stride <= host; off += stride)
        std::memcpy(v.data() + off, value.data(), value.size());
    }
    return m->HostUpdate(key, v);
  }

  std::optional<Bytes> Lookup(const std::string& name, std::span<const uint8_t> key) override {
    ebpf::Map* m = Find(name);
    if (m == nullptr) return std::nullopt;
    auto v = m->HostLookup(key);
    if (!v) return std::nullopt;
    return Sum(*v, m->spec().value_size,
               m->spec().type == ebpf::kMapPerCpuArray || m->spec().type == ebpf::kMapPerCpuHash);
  }

  std::vector<Bytes> Keys(const std::string& name) override {
    ebpf::Map* m = Find(name);
    return m ? m->HostKeys() : std::vector<Bytes>{};
  }

  // Per-CPU values summed as 64-bit counters, the first value_size bytes.
  static Bytes Sum(const Bytes& all, size_t value_size, bool per_cpu) {
    if (!per_cpu) return Bytes(all.begin(), all.begin() + std::min(all.size(), value_size));
    const size_t stride = (value_size + 7) & ~size_t(7);
    Bytes out(value_size, 0);
    for (size_t off = 0; off + stride <= all.size(); off += stride) {
      for (size_t w = 0; w + 8 <= value_size; w += 8) {
        uint64_t a, b;
        std::memcpy(&a, out.data() + w, 8);
        std::memcpy(&b, all.data() + off + w, 8);
        a += b;
        std::memcpy(out.data() + w, &a, 8);
      }
    }
    return out;
  }

 private:
  ebpf::Map* Find(const std::string& name) {
    const int i = loaded_.MapIndex(name);
    return i < 0 ? nullptr : loaded_.maps[size_t(i)].get();
  }

  ebpf::ElfObject::Loaded loaded_;
  ebpf::Scratch scratch_;
  ebpf::XdpBuffer buffer_;
};

// Whether the kernel test-runs XDP programs here: loads `return XDP_PASS` and runs it once.
base::Status ProbeTestRun() {
  const bpf_insn insns[] = {{.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0, .imm = 2},
                            {.code = BPF_JMP | BPF_EXIT}};
  const int fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "probe", "GPL", insns, 2, nullptr);
  if (fd < 0)
    return base::MakeError(fmt::format("the kernel loads no XDP program: {}", strerror(errno)));
  Bytes in(64, 0);
  LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in.data(), .data_size_in = 64, .repeat = 1);
  const int err = bpf_prog_test_run_opts(fd, &opts);
  close(fd);
  if (err != 0)
    return base::MakeError(
        fmt::format("the kernel cannot test-run XDP programs here: {}", strerror(-err)));
  return {};
}

class KernelEngine final : public OffloadEngine {
 public:
  ~KernelEngine() override {
    if (obj_ != nullptr) bpf_object__close(obj_);
  }

  static base::Result<std::unique_ptr<OffloadEngine>> Open(const std::string& path,
                                                           const std::string& function) {
    auto e = std::make_unique<KernelEngine>();
    e->obj_ = bpf_object__open_file(path.c_str(), nullptr);
    if (e->obj_ == nullptr)
      return base::MakeError(fmt::format("libbpf cannot open {}: {}", path, strerror(errno)));
    bpf_program* prog = bpf_object__find_program_by_name(e->obj_, function.c_str());
    if (prog == nullptr) return base::MakeError("libbpf finds no " + function);
    bpf_program__set_type(prog, BPF_PROG_TYPE_XDP);
    if (int err = bpf_object__load(e->obj_); err != 0)
      return base::MakeError(
          fmt::format("the kernel refuses to load {}: {}", path, strerror(-err)));
    e->fd_ = bpf_program__fd(prog);
    // A test run of an empty program, not this one (whose counters would count it).
    if (auto st = ProbeTestRun(); !st) return base::MakeError(st.error().message);
    return std::unique_ptr<OffloadEngine>(std::move(e));
  }

  base::Result<RunResult> Run(std::span<const uint8_t> frame) override {
    Bytes out(4096, 0);
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame.data(), .data_out = out.data(),
                .data_size_in = uint32_t(frame.size()), .data_size_out = uint32_t(out.size()),
                .repeat = 1);
    if (int err = bpf_prog_test_run_opts(fd_, &opts); err != 0)
      return base::MakeError(fmt::format("BPF_PROG_TEST_RUN: {}", strerror(-err)));
    out.resize(opts.data_size_out);
    return RunResult{.action = opts.retval, .frame = std::move(out)};
  }

  // One frame per BPF_PROG_TEST_RUN: with `repeat` in the call, every run after the first would
  // take the frame the one before it left (a SYN-ACK where a SYN was meant). The kernel's own
  // duration of each call (its harness's ~26 ns included, the system call not).
  base::Result<double> Time(std::span<const uint8_t> frame, uint32_t repeat,
                            bool idempotent) override {
    if (idempotent) {
      LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame.data(),
                  .data_size_in = uint32_t(frame.size()), .repeat = int(repeat));
      if (int err = bpf_prog_test_run_opts(fd_, &opts); err != 0)
        return base::MakeError(fmt::format("BPF_PROG_TEST_RUN: {}", strerror(-err)));
      return double(opts.duration);
    }
    double total = 0;
    Bytes out(4096);
    for (uint32_t i = 0; i < repeat; ++i) {
      LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame.data(), .data_out = out.data(),
                  .data_size_in = uint32_t(frame.size()), .data_size_out = uint32_t(out.size()),
                  .repeat = 1);
      if (int err = bpf_prog_test_run_opts(fd_, &opts); err != 0)
        return base::MakeError(fmt::format("BPF_PROG_TEST_RUN: {}", strerror(-err)));
      total += double(opts.duration);
    }
    return total / repeat;
  }

  base::Status Update(const std::string& name, std::span<const uint8_t> key,
                      std::span<const uint8_t> value) override {
    bpf_map* m = bpf_object__find_map_by_name(obj_, name.c_str());
    if (m == nullptr) return base::MakeError("no map " + name);
    Bytes v(value.begin(), value.end());
    if (PerCpu(m)) {
      const size_t stride = (value.size() + 7) & ~size_t(7);
      v.assign(stride * size_t(libbpf_num_possible_cpus()), 0);
      for (size_t off = 0; off < v.size(); off += stride)
        std::memcpy(v.data() + off, value.data(), value.size());
    }
    if (int err = bpf_map__update_elem(m, key.data(), key.size(), v.data(), v.size(), BPF_ANY))
      return base::MakeError(fmt::format("update of {}: {}", name, strerror(-err)));
    return {};
  }

  std::optional<Bytes> Lookup(const std::string& name, std::span<const uint8_t> key) override {
    bpf_map* m = bpf_object__find_map_by_name(obj_, name.c_str());
    if (m == nullptr) return std::nullopt;
    const size_t vs = bpf_map__value_size(m);
    const bool per_cpu = PerCpu(m);
    Bytes v(per_cpu ? ((vs + 7) & ~size_t(7)) * size_t(libbpf_num_possible_cpus()) : vs);
    if (bpf_map__lookup_elem(m, key.data(), key.size(), v.data(), v.size(), 0) != 0)
      return std::nullopt;
    return VigilEngine::Sum(v, vs, per_cpu);
  }

  std::vector<Bytes> Keys(const std::string& name) override {
    std::vector<Bytes> out;
    bpf_map* m = bpf_object__find_map_by_name(obj_, name.c_str());
    if (m == nullptr) return out;
    Bytes key(bpf_map__key_size(m)), next(key.size());
    bool first = true;
    while (bpf_map__get_next_key(m, first ? nullptr : key.data(), next.data(), key.size()) == 0) {
      first = false;
      key = next;
      out.push_back(key);
    }
    return out;
  }

 private:
  static bool PerCpu(bpf_map* m) {
    return bpf_map__type(m) == BPF_MAP_TYPE_PERCPU_ARRAY ||
           bpf_map__type(m) == BPF_MAP_TYPE_PERCPU_HASH;
  }
  bpf_object* obj_ = nullptr;
  int fd_ = -1;
};

}  // namespace

base::Result<std::unique_ptr<OffloadEngine>> OffloadEngine::Open(EngineKind kind,
                                                                 const std::string& path,
                                                                 const std::string& function) {
  if (kind == EngineKind::kKernel) return KernelEngine::Open(path, function);
  auto obj = ebpf::ElfObject::Open(path);
  if (!obj) return base::MakeError(obj.error().ToString());
  auto loaded = obj->Load(function, {.type = ebpf::ProgramType::kXdp,
                                     .helpers = &ClockHelpers(),
                                     .jit = kind == EngineKind::kJit});
  if (!loaded) return base::MakeError(loaded.error().ToString());
  return std::unique_ptr<OffloadEngine>(
      std::make_unique<VigilEngine>(std::move(*loaded), kind == EngineKind::kJit));
}

}  // namespace vigil::offloads

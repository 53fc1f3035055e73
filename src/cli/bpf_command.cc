#include "cli/bpf_command.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <array>
#include <chrono>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "ebpf/elf_loader.h"
#include "ebpf/kernel_test_run.h"
#include "ebpf/scratch.h"
#include "ebpf/verifier/verifier.h"
#include "ebpf/xdp.h"
#include "io/capture_source.h"
#include "packet/batch.h"

namespace vigil::cli {
namespace {

struct VerifyArgs {
  std::string object;
  std::string section = "xdp";
};

struct RunArgs {
  std::string object;
  std::string section = "xdp";
  std::string pcap;
  ebpf::Engine engine = ebpf::Engine::kJit;
  bool checked = false;  // --checked: the same as --engine checked
  bool blind_constants = false;
  bool map_dump = false;
  bool quiet = false;
};

struct BenchArgs {
  std::string object;
  std::string section = "xdp";
  std::string pcap;
  double seconds = 0.2;  // per engine and round
  int rounds = 5;
};

const std::map<std::string, ebpf::Engine> kEngineNames = {{"jit", ebpf::Engine::kJit},
                                                          {"interp", ebpf::Engine::kInterpreter},
                                                          {"checked", ebpf::Engine::kChecked}};

constexpr std::array<const char*, 5> kActionNames = {"XDP_ABORTED", "XDP_DROP", "XDP_PASS",
                                                     "XDP_TX", "XDP_REDIRECT"};

std::string Hex(std::span<const uint8_t> bytes) {
  std::string s;
  s.reserve(bytes.size() * 2);
  for (uint8_t b : bytes) s += fmt::format("{:02x}", b);
  return s;
}

std::string_view MapTypeName(uint32_t type) {
  switch (type) {
    case ebpf::kMapHash:
      return "hash";
    case ebpf::kMapArray:
      return "array";
    case ebpf::kMapProgArray:
      return "prog_array";
    case ebpf::kMapPerCpuHash:
      return "percpu_hash";
    case ebpf::kMapPerCpuArray:
      return "percpu_array";
    case ebpf::kMapLruHash:
      return "lru_hash";
    case ebpf::kMapLpmTrie:
      return "lpm_trie";
    case ebpf::kMapDevmap:
      return "devmap";
    case ebpf::kMapDevmapHash:
      return "devmap_hash";
    case ebpf::kMapCpumap:
      return "cpumap";
    case ebpf::kMapXskmap:
      return "xskmap";
    case ebpf::kMapPerfEventArray:
      return "perf_event_array";
    case ebpf::kMapRingbuf:
      return "ringbuf";
    default:
      return "unknown";
  }
}

void DumpMaps(const ebpf::ElfObject::Loaded& loaded, std::FILE* out) {
  for (const auto& map : loaded.maps) {
    const ebpf::MapSpec& spec = map->spec();
    if (spec.type == ebpf::kMapProgArray || spec.type == ebpf::kMapDevmap ||
        spec.type == ebpf::kMapPerfEventArray || spec.type == ebpf::kMapRingbuf) {
      fmt::print(out, "map {} ({}): not dumped\n", spec.name, MapTypeName(spec.type));
      continue;
    }
    std::vector<std::pair<std::vector<uint8_t>, std::vector<uint8_t>>> entries;
    for (const auto& key : map->HostKeys()) {
      auto value = map->HostLookup(key);
      if (!value) continue;
      if (std::all_of(value->begin(), value->end(), [](uint8_t b) { return b == 0; })) continue;
      entries.emplace_back(key, std::move(*value));
    }
    fmt::print(out, "map {} ({}, key {} bytes, value {} bytes): {} non-zero entries\n", spec.name,
               MapTypeName(spec.type), spec.key_size, spec.value_size, entries.size());
    std::sort(entries.begin(), entries.end());
    for (const auto& [key, value] : entries)
      fmt::print(out, "  key {} value {}\n", Hex(key), Hex(value));
  }
}

// Verifies `section` of `object`: the statistics, or the refusal (also for a section that is not
// there).
base::Result<ebpf::verifier::Stats> VerifySection(const ebpf::ElfObject& object,
                                                  const std::string& section) {
  const ebpf::ElfProgram* prog = object.FindProgram(section);
  if (prog == nullptr) {
    std::string have;
    for (const ebpf::ElfProgram& p : object.programs()) have += fmt::format(" '{}'", p.section);
    return base::MakeError(fmt::format("no program in section '{}' (the object has:{})", section,
                                       have.empty() ? " none" : have));
  }
  auto stats = ebpf::verifier::Verify(prog->insns, object.VerifierOptions(*prog));
  if (!stats)
    return base::MakeError(
        fmt::format("section '{}' ({}): {}", prog->section, prog->function, stats.error().message));
  return stats;
}

int Verify(const VerifyArgs& args, std::FILE* out, std::FILE* err) {
  auto object = ebpf::ElfObject::Open(args.object);
  if (!object) {
    fmt::print(err, "vigil bpf: {}\n", object.error().ToString());
    return 1;
  }
  auto stats = VerifySection(*object, args.section);
  if (!stats) {
    fmt::print(out, "refused: {}: {}\n", args.object, stats.error().message);
    return 1;
  }
  fmt::print(out, "accepted: {} instructions, {} states, {:.3f} ms\n", stats->instructions,
             stats->states, stats->milliseconds);
  return 0;
}

int Run(const RunArgs& args, std::FILE* out, std::FILE* err) {
  auto object = ebpf::ElfObject::Open(args.object);
  if (!object) {
    fmt::print(err, "vigil bpf: {}\n", object.error().ToString());
    return 1;
  }
  // Loading verifies: nothing runs that the verifier refuses.
  auto loaded = object->Load(
      args.section, {.type = ebpf::ProgramType::kXdp, .blind_constants = args.blind_constants});
  if (!loaded) {
    fmt::print(err, "vigil bpf: {}: {}\n", args.object, loaded.error().ToString());
    return 1;
  }
  auto source = io::CaptureSource::Open(args.pcap);
  if (!source) {
    fmt::print(err, "vigil bpf: {}\n", source.error().ToString());
    return 1;
  }
  const bool checked = args.engine == ebpf::Engine::kChecked;
  ebpf::Scratch scratch(ebpf::EngineConfig(args.engine));
  ebpf::XdpBuffer buffer;
  std::array<uint64_t, 5> histogram{};
  uint64_t packets = 0, skipped = 0, failures = 0, instructions = 0;
  // Records programs write to perf event arrays and ring buffers: read after every packet (as a
  // host's reader would), printed unless --quiet, counted per map.
  std::vector<ebpf::MapEvent> events;
  std::vector<uint64_t> event_counts(loaded->maps.size(), 0);
  auto drain_events = [&](uint64_t packet_number) {
    for (size_t m = 0; m < loaded->maps.size(); ++m) {
      events.clear();
      event_counts[m] += loaded->maps[m]->DrainEvents(events, SIZE_MAX);
      if (args.quiet) continue;
      for (const ebpf::MapEvent& e : events) {
        const size_t shown = std::min<size_t>(e.data.size(), 32);
        fmt::print(out, "packet {}: event {}{}: {} bytes: {:02x}{}\n", packet_number,
                   loaded->maps[m]->spec().name,
                   loaded->maps[m]->type() == ebpf::kMapPerfEventArray
                       ? fmt::format(" [cpu {}]", e.cpu)
                       : "",
                   e.data.size(), fmt::join(e.data.begin(), e.data.begin() + shown, ""),
                   shown < e.data.size() ? "..." : "");
      }
    }
  };
  packet::Batch batch;
  while (true) {
    batch.Clear();
    auto n = (*source)->ReadBatch(batch);
    if (!n) {
      fmt::print(err, "vigil bpf: {}\n", n.error().ToString());
      return 1;
    }
    if (*n == 0) break;
    for (const packet::Packet& p : batch) {
      if (p.linktype != packet::LinkType::kEthernet) {
        ++skipped;
        if (!args.quiet) fmt::print(out, "packet {}: skipped (not Ethernet)\n", p.number);
        continue;
      }
      ++packets;
      buffer.Assign({p.data, p.caplen});
      auto verdict = ebpf::RunXdp(*loaded->program, scratch, buffer);
      if (checked) instructions += scratch.steps;
      drain_events(p.number);
      if (!verdict) {
        ++failures;
        fmt::print(out, "packet {}: error: {}\n", p.number, verdict.error().message);
        continue;
      }
      ++histogram[verdict->action];
      if (args.quiet) continue;
      if (verdict->action == ebpf::kXdpRedirect) {
        switch (verdict->redirect.kind) {
          case ebpf::RedirectKind::kCpu:
            fmt::print(out, "packet {}: XDP_REDIRECT cpu {}\n", p.number, verdict->redirect.value);
            break;
          case ebpf::RedirectKind::kXskQueue:
            fmt::print(out, "packet {}: XDP_REDIRECT AF_XDP socket {} (queue {})\n", p.number,
                       verdict->redirect.key, verdict->redirect.value);
            break;
          default:
            fmt::print(out, "packet {}: XDP_REDIRECT ifindex {}\n", p.number,
                       verdict->redirect_ifindex);
            break;
        }
      } else if (verdict->raw != verdict->action) {
        fmt::print(out, "packet {}: XDP_ABORTED (returned {})\n", p.number, verdict->raw);
      } else {
        fmt::print(out, "packet {}: {}\n", p.number, kActionNames[verdict->action]);
      }
    }
  }
  fmt::print(out, "packets: {}", packets);
  if (skipped) fmt::print(out, " ({} skipped, not Ethernet)", skipped);
  fmt::print(out, "\nverdicts:");
  for (size_t i = 0; i < histogram.size(); ++i)
    fmt::print(out, " {} {}", kActionNames[i], histogram[i]);
  if (failures) fmt::print(out, " errors {}", failures);
  fmt::print(out, "\n");
  for (size_t m = 0; m < loaded->maps.size(); ++m) {
    const uint32_t type = loaded->maps[m]->type();
    if (type != ebpf::kMapPerfEventArray && type != ebpf::kMapRingbuf) continue;
    fmt::print(out, "events {}: {} read, {} dropped (map full)\n", loaded->maps[m]->spec().name,
               event_counts[m], loaded->maps[m]->dropped_events());
  }
  if (checked)
    fmt::print(out, "instructions executed: {}\n", instructions);
  else
    fmt::print(out,
               "instructions executed: not counted (only the checked engine counts; "
               "use --engine checked)\n");
  if (args.map_dump) DumpMaps(*loaded, out);
  return failures ? 1 : 0;
}

// Every Ethernet frame of `pcap`, in order.
base::Result<std::vector<std::vector<uint8_t>>> ReadFrames(const std::string& pcap) {
  std::vector<std::vector<uint8_t>> frames;
  auto status = io::ForEachPacket(pcap, [&](const packet::Packet& p) {
    if (p.linktype == packet::LinkType::kEthernet) frames.emplace_back(p.data, p.data + p.caplen);
  });
  if (!status) return status.error();
  if (frames.empty()) return base::MakeError(fmt::format("{}: no Ethernet frames", pcap));
  return frames;
}

// The median over `rounds` of the nanoseconds per frame of `body(frame)` over all frames, each
// round repeating the whole capture for at least `seconds`.
template <class Body>
double MedianNsPerFrame(const std::vector<std::vector<uint8_t>>& frames, const BenchArgs& args,
                        Body body) {
  using Clock = std::chrono::steady_clock;
  std::vector<double> rounds;
  for (int r = 0; r < args.rounds; ++r) {
    uint64_t runs = 0;
    const auto start = Clock::now();
    std::chrono::duration<double> elapsed{};
    do {
      for (const auto& f : frames) body(f);
      runs += frames.size();
      elapsed = Clock::now() - start;
    } while (elapsed.count() < args.seconds);
    rounds.push_back(elapsed.count() * 1e9 / double(runs));
  }
  std::sort(rounds.begin(), rounds.end());
  return rounds[rounds.size() / 2];
}

int Bench(const BenchArgs& args, std::FILE* out, std::FILE* err) {
  auto object = ebpf::ElfObject::Open(args.object);
  if (!object) {
    fmt::print(err, "vigil bpf: {}\n", object.error().ToString());
    return 1;
  }
  auto frames = ReadFrames(args.pcap);
  if (!frames) {
    fmt::print(err, "vigil bpf: {}\n", frames.error().ToString());
    return 1;
  }
  // Every run starts from the captured frame, so the copy into the buffer is timed alone and
  // taken off each engine's figure.
  ebpf::XdpBuffer buffer;
  const double copy_ns = MedianNsPerFrame(*frames, args, [&](const std::vector<uint8_t>& f) {
    buffer.Assign(f);
    asm volatile("" : : "r"(buffer.data().data()) : "memory");
  });
  fmt::print(out,
             "{} frames, median of {} rounds of >= {} s per engine, ns per packet without the "
             "{:.1f} ns copy of the frame:\n",
             frames->size(), args.rounds, args.seconds, copy_ns);
  double jit_ns = 0;
  for (const auto& [name, engine] :
       {std::pair{"jit", ebpf::Engine::kJit}, std::pair{"interp", ebpf::Engine::kInterpreter},
        std::pair{"checked", ebpf::Engine::kChecked}}) {
    // A load per engine: each starts with the object's own map contents.
    auto loaded = object->Load(args.section, {.type = ebpf::ProgramType::kXdp});
    if (!loaded) {
      fmt::print(err, "vigil bpf: {}: {}\n", args.object, loaded.error().ToString());
      return 1;
    }
    ebpf::Scratch scratch(ebpf::EngineConfig(engine));
    bool failed = false;
    const double ns = MedianNsPerFrame(*frames, args, [&](const std::vector<uint8_t>& f) {
      buffer.Assign(f);
      failed |= !ebpf::RunXdp(*loaded->program, scratch, buffer);
    });
    if (failed) {
      fmt::print(err, "vigil bpf: a {} run failed: {}\n", name, scratch.error);
      return 1;
    }
    const double net = ns - copy_ns;
    if (engine == ebpf::Engine::kJit) jit_ns = net;
    fmt::print(out, "  {:<8} {:8.1f} ns  {:5.2f}x the JIT\n", name, net, net / jit_ns);
  }
  // Each BPF_PROG_TEST_RUN call costs microseconds to set up: the kernel runs a sample of the
  // frames, spread over the capture, many times each.
  constexpr size_t kKernelSample = 256;
  std::vector<std::vector<uint8_t>> sample;
  for (size_t i = 0; i < std::min(kKernelSample, frames->size()); ++i)
    sample.push_back((*frames)[i * frames->size() / std::min(kKernelSample, frames->size())]);
  const uint32_t repeat =
      uint32_t(std::clamp(args.seconds * 1e7 / double(sample.size()), 1.0, 1e6));
  const ebpf::ElfProgram* prog = object->FindProgram(args.section);
  auto kernel = ebpf::KernelNsPerRun(args.object, prog->function, sample, repeat);
  if (kernel) {
    fmt::print(out,
               "  {:<8} {:8.1f} ns  {:5.2f}x the JIT (BPF_PROG_TEST_RUN on {} frames, its harness "
               "included",
               "kernel", kernel->ns_per_run, kernel->ns_per_run / jit_ns, kernel->frames);
    if (kernel->skipped) fmt::print(out, "; {} frames it cannot take skipped", kernel->skipped);
    fmt::print(out, ")\n");
  } else {
    fmt::print(out, "  kernel   not measured: {}\n", kernel.error().message);
  }
  return 0;
}

}  // namespace

int RunBpfCommand(int argc, char** argv, std::FILE* out, std::FILE* err) {
  CLI::App app{"Verify and run eBPF programs from object files over captured traffic", "vigil bpf"};
  app.require_subcommand(1);
  RunArgs args;
  VerifyArgs verify_args;
  CLI::App* verify = app.add_subcommand(
      "verify", "Prove an XDP program safe, or say where and why it is not (exit status 1)");
  verify->add_option("object", verify_args.object, "BPF object file (clang -target bpf)")
      ->required();
  verify->add_option("--section", verify_args.section, "Program section or function name")
      ->capture_default_str();
  CLI::App* run = app.add_subcommand("run", "Run an XDP program over every packet of a capture");
  run->add_option("object", args.object, "BPF object file (clang -target bpf)")->required();
  run->add_option("--section", args.section, "Program section or function name")
      ->capture_default_str();
  run->add_option("--pcap", args.pcap, "Capture file or directory of captures")->required();
  run->add_option("--engine", args.engine,
                  "jit (machine code), interp (the fast interpreter) or checked (the interpreter, "
                  "bounds-checking every access and counting instructions)")
      ->transform(CLI::CheckedTransformer(kEngineNames, CLI::ignore_case))
      ->default_str("jit");
  run->add_flag("--checked", args.checked, "The same as --engine checked");
  run->add_flag("--blind-constants", args.blind_constants,
                "JIT: no immediate of the program in the machine code (constant blinding)");
  run->add_flag("--map-dump", args.map_dump, "Print the non-zero map entries at the end");
  run->add_flag("--quiet", args.quiet, "No per-packet lines");
  BenchArgs bench_args;
  CLI::App* bench = app.add_subcommand(
      "bench", "Time an XDP program on every engine (and the kernel's) over a capture");
  bench->add_option("object", bench_args.object, "BPF object file (clang -target bpf)")->required();
  bench->add_option("-r,--pcap", bench_args.pcap, "Capture file or directory of captures")
      ->required();
  bench->add_option("--section", bench_args.section, "Program section or function name")
      ->capture_default_str();
  bench->add_option("--seconds", bench_args.seconds, "Seconds per engine and round")
      ->capture_default_str();
  bench->add_option("--rounds", bench_args.rounds, "Rounds per engine (the median is printed)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    std::ostringstream o, e2;
    const int rc = app.exit(e, o, e2);
    fmt::print(out, "{}", o.str());
    fmt::print(err, "{}", e2.str());
    return rc == 0 ? 0 : 1;
  }
  if (verify->parsed()) return Verify(verify_args, out, err);
  if (bench->parsed()) return Bench(bench_args, out, err);
  if (args.checked) args.engine = ebpf::Engine::kChecked;
  return Run(args, out, err);
}

int RunBpfCommand(int argc, char** argv) { return RunBpfCommand(argc, argv, stdout, stderr); }

}  // namespace vigil::cli

#include "cli/bpf_command.h"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <array>
#include <sstream>
#include <string>
#include <vector>

#include "ebpf/elf_loader.h"
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
  bool checked = false;
  bool map_dump = false;
  bool quiet = false;
};

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
    default:
      return "unknown";
  }
}

void DumpMaps(const ebpf::ElfObject::Loaded& loaded, std::FILE* out) {
  for (const auto& map : loaded.maps) {
    const ebpf::MapSpec& spec = map->spec();
    if (spec.type == ebpf::kMapProgArray || spec.type == ebpf::kMapDevmap) {
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
  auto loaded = object->Load(args.section, {.type = ebpf::ProgramType::kXdp});
  if (!loaded) {
    fmt::print(err, "vigil bpf: {}: {}\n", args.object, loaded.error().ToString());
    return 1;
  }
  auto source = io::CaptureSource::Open(args.pcap);
  if (!source) {
    fmt::print(err, "vigil bpf: {}\n", source.error().ToString());
    return 1;
  }
  ebpf::Scratch scratch({.checked = args.checked});
  ebpf::XdpBuffer buffer;
  std::array<uint64_t, 5> histogram{};
  uint64_t packets = 0, skipped = 0, failures = 0, instructions = 0;
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
      if (args.checked) instructions += scratch.steps;
      if (!verdict) {
        ++failures;
        fmt::print(out, "packet {}: error: {}\n", p.number, verdict.error().message);
        continue;
      }
      ++histogram[verdict->action];
      if (args.quiet) continue;
      if (verdict->action == ebpf::kXdpRedirect) {
        fmt::print(out, "packet {}: XDP_REDIRECT ifindex {}\n", p.number,
                   verdict->redirect_ifindex);
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
  if (args.checked)
    fmt::print(out, "instructions executed: {}\n", instructions);
  else
    fmt::print(out,
               "instructions executed: not counted (the fast interpreter does not count; "
               "use --checked)\n");
  if (args.map_dump) DumpMaps(*loaded, out);
  return failures ? 1 : 0;
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
  run->add_flag("--checked", args.checked,
                "Bounds-check every access and count instructions (slower)");
  run->add_flag("--map-dump", args.map_dump, "Print the non-zero map entries at the end");
  run->add_flag("--quiet", args.quiet, "No per-packet lines");
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
  return Run(args, out, err);
}

int RunBpfCommand(int argc, char** argv) { return RunBpfCommand(argc, argv, stdout, stderr); }

}  // namespace vigil::cli

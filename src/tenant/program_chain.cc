#include "tenant/program_chain.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <filesystem>

#include "base/ip_address.h"

namespace vigil::tenant {
namespace {

// The places an offload's object is looked for, in order.
std::vector<std::string> OffloadDirectories() {
  std::vector<std::string> dirs;
  if (const char* env = std::getenv("VIGIL_OFFLOAD_PATH"); env != nullptr) {
    std::string_view list = env;
    while (!list.empty()) {
      size_t colon = list.find(':');
      if (colon != 0) dirs.emplace_back(list.substr(0, colon));
      if (colon == std::string_view::npos) break;
      list.remove_prefix(colon + 1);
    }
  }
  std::error_code ec;
  std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) dirs.push_back((exe.parent_path().parent_path() / "share/vigil/offloads").string());
#ifdef VIGIL_OFFLOAD_BUILD_DIR
  dirs.emplace_back(VIGIL_OFFLOAD_BUILD_DIR);
#endif
#ifdef VIGIL_OFFLOAD_INSTALL_DIR
  dirs.emplace_back(VIGIL_OFFLOAD_INSTALL_DIR);
#endif
  return dirs;
}

std::string fmt_size(uint32_t size) {
  return "must be " + std::to_string(size) + " byte" + (size == 1 ? "" : "s");
}

// `text` as `size` bytes (MapEntrySpec): a decimal or 0x integer, little-endian; an IPv4 or IPv6
// address of that size, in network order; or hex bytes separated by spaces ("0a 00 00 01").
base::Result<std::vector<uint8_t>> ParseBytes(std::string_view text, uint32_t size) {
  std::vector<uint8_t> out(size, 0);
  auto bad = [&](std::string_view why) {
    return base::MakeError("'" + std::string(text) + "': " + std::string(why));
  };
  if (text.find(' ') != std::string_view::npos) {
    size_t n = 0;
    for (size_t i = 0; i < text.size();) {
      if (text[i] == ' ') {
        ++i;
        continue;
      }
      if (i + 2 > text.size() || n == size) return bad(fmt_size(size));
      uint8_t byte = 0;
      auto [end, ec] = std::from_chars(text.data() + i, text.data() + i + 2, byte, 16);
      if (ec != std::errc{} || end != text.data() + i + 2) return bad("not hex bytes");
      out[n++] = byte;
      i += 2;
    }
    if (n != size) return bad(fmt_size(size));
    return out;
  }
  if (text.find_first_of(".:") != std::string_view::npos) {
    auto address = base::IpAddress::Parse(text);
    if (!address) return bad("not a number, an address or hex bytes");
    const uint32_t width = uint32_t(address->bit_width() / 8);
    if (width != size) return bad(fmt_size(size));
    std::copy_n(address->bytes.data(), width, out.begin());
    return out;
  }
  uint64_t value = 0;
  int base = 10;
  std::string_view digits = text;
  if (digits.starts_with("0x") || digits.starts_with("0X")) {
    base = 16;
    digits.remove_prefix(2);
  }
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value, base);
  if (digits.empty() || ec != std::errc{} || end != digits.data() + digits.size()) {
    return bad("not a number, an address or hex bytes");
  }
  if (size < 8 && (value >> (8 * size)) != 0) return bad(fmt_size(size));
  for (uint32_t i = 0; i < size && i < 8; ++i) out[i] = uint8_t(value >> (8 * i));
  return out;
}

}  // namespace

base::Result<std::string> ResolveProgramObject(std::string_view object) {
  if (object.empty()) return base::MakeError("a program needs an object (a name or a path)");
  if (object.find('/') != std::string_view::npos || object.ends_with(".o")) {
    return std::string(object);
  }
  std::string looked;
  for (const std::string& dir : OffloadDirectories()) {
    std::string path = dir + "/" + std::string(object) + ".bpf.o";
    if (::access(path.c_str(), R_OK) == 0) return path;
    looked += (looked.empty() ? "" : ", ") + dir;
  }
  return base::MakeError("no offload named '" + std::string(object) + "' (looked in " + looked +
                         ")");
}

base::Result<ProgramChain::FileStamp> ProgramChain::Stamp(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return base::Error{"cannot read the object file", path};
  return FileStamp{.path = path, .size = uint64_t(st.st_size), .mtime = st.st_mtim};
}

base::Result<std::shared_ptr<ProgramChain>> ProgramChain::Load(
    const std::vector<ProgramSpec>& specs, std::string_view tenant) {
  auto chain = std::make_shared<ProgramChain>();
  for (const ProgramSpec& spec : specs) {
    auto fail = [&](const std::string& why) {
      return base::MakeError("tenant '" + std::string(tenant) + "': program '" + spec.object +
                             "': " + why);
    };
    auto path = ResolveProgramObject(spec.object);
    if (!path) return fail(path.error().ToString());
    auto stamp = Stamp(*path);
    if (!stamp) return fail(stamp.error().ToString());
    auto object = ebpf::ElfObject::Open(*path);
    if (!object) return fail(object.error().ToString());
    std::string section = spec.section;
    if (section.empty()) {
      if (object->programs().empty()) return fail(*path + ": the object has no program");
      section = object->programs().front().section;
    }
    auto loaded = object->Load(section, {.type = ebpf::ProgramType::kXdp});
    if (!loaded) return fail(loaded.error().ToString());
    for (const MapEntrySpec& e : spec.map_entries) {
      int index = loaded->MapIndex(e.map);
      if (index < 0) return fail("no map named '" + e.map + "' in " + *path);
      ebpf::Map& map = *loaded->maps[size_t(index)];
      auto key = ParseBytes(e.key, map.spec().key_size);
      if (!key) return fail("map '" + e.map + "' key " + key.error().ToString());
      auto value = ParseBytes(e.value, map.HostValueSize());
      if (!value) return fail("map '" + e.map + "' value " + value.error().ToString());
      if (auto st = map.HostUpdate(*key, *value); !st) {
        return fail("map '" + e.map + "': " + st.error().ToString());
      }
    }
    chain->stages_.push_back({.spec = spec, .file = *stamp, .loaded = std::move(*loaded)});
  }
  return chain;
}

bool ProgramChain::Reusable(const std::vector<ProgramSpec>& specs) const {
  if (specs.size() != stages_.size()) return false;
  for (size_t i = 0; i < specs.size(); ++i) {
    if (!(specs[i] == stages_[i].spec)) return false;
    auto stamp = Stamp(stages_[i].file.path);
    if (!stamp || !(*stamp == stages_[i].file)) return false;
  }
  return true;
}

ProgramChain::Verdict ProgramChain::Run(ebpf::Scratch& scratch, ebpf::XdpBuffer& buffer,
                                        const ebpf::XdpRxInfo& rx) const {
  std::lock_guard lock(mu_);
  for (const Stage& stage : stages_) {
    auto v = ebpf::RunXdp(*stage.loaded.program, scratch, buffer, rx);
    // A verified program's run does not fail; a checked run's failure aborts, as the kernel's
    // XDP_ABORTED drops.
    if (!v) return {.action = ebpf::kXdpAborted};
    // A CPU map's redirect asks for the packet to be processed on another CPU: vigil keeps
    // each flow on one worker, so the worker that has it inspects and forwards it, as if passed.
    if (v->action == ebpf::kXdpRedirect && v->redirect.kind == ebpf::RedirectKind::kCpu) break;
    if (v->action != ebpf::kXdpPass) {
      return {.action = v->action, .redirect_ifindex = v->redirect_ifindex};
    }
  }
  return {};
}

}  // namespace vigil::tenant

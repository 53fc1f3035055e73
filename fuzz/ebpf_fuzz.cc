// ebpf_fuzz: libFuzzer target for the eBPF load-time check and the checked interpreter.
//
// Input layout: byte 0 selects the program type (bit 0: raw or XDP) and byte 1 the packet length
// (0-255); the next that many bytes are the packet (or the raw program's memory), the rest are
// instruction words. Programs may name two maps (lddw src=1/2 with imm 0 or 1: an array and a hash
// map). Whatever loads is run in checked mode with a small step limit: a crash, a sanitizer report
// or an out-of-bounds access that the checker lets through is a bug. Fast mode is not fuzzed: it
// trusts the program by design.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "ebpf/interp/interpreter.h"
#include "ebpf/maps.h"
#include "ebpf/program.h"
#include "ebpf/scratch.h"
#include "ebpf/xdp.h"

namespace {

using namespace vigil::ebpf;

std::vector<std::shared_ptr<Map>>& Maps() {
  static std::vector<std::shared_ptr<Map>> maps = [] {
    std::vector<std::shared_ptr<Map>> m;
    m.push_back(
        *Map::Create({.type = kMapArray, .key_size = 4, .value_size = 16, .max_entries = 4}));
    m.push_back(*Map::Create({.type = kMapHash, .key_size = 4, .value_size = 8, .max_entries = 8}));
    return m;
  }();
  return maps;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const bool xdp = data[0] & 1;
  size_t packet_len = data[1];
  data += 2;
  size -= 2;
  if (packet_len > size) packet_len = size;
  std::vector<uint8_t> packet(data, data + packet_len);
  std::vector<Insn> insns = InsnsFromBytes({data + packet_len, size - packet_len});
  auto program =
      Program::Load(insns, {.type = xdp ? ProgramType::kXdp : ProgramType::kRaw, .maps = Maps()});
  if (!program) {
    if (program.error().message.empty()) std::abort();  // every refusal says why
    return 0;
  }
  Scratch scratch({.checked = true, .step_limit = 4096});
  if (xdp) {
    if (packet.size() < 14) packet.resize(14);
    XdpBuffer buf;
    buf.Assign(packet);
    auto v = RunXdp(**program, scratch, buf);
    if (!v && v.error().message.empty()) std::abort();
  } else {
    scratch.AddRegion(packet.data(), packet.size(), /*writable=*/true);
    auto r = Run(**program, scratch, uint64_t(packet.data()), packet.size());
    if (!r && r.error().message.empty()) std::abort();
  }
  return 0;
}

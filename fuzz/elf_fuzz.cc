// elf_fuzz: libFuzzer target for BPF objects as tenants hand them over — the ELF loader (sections,
// symbols, relocations, BTF map definitions, global data) and then, for every program it finds,
// the structural check and one run of the checked interpreter on a small packet. Every refusal
// must say why; nothing may crash or read outside its input (ASan, UBSan).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "ebpf/elf_loader.h"
#include "ebpf/scratch.h"
#include "ebpf/xdp.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vigil::ebpf;
  auto object = ElfObject::Parse({data, size}, "fuzz.o");
  if (!object) {
    if (object.error().message.empty()) std::abort();
    return 0;
  }
  static const uint8_t kFrame[64] = {0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2, 0x08, 0x00, 0x45};
  for (const ElfProgram& program : object->programs()) {
    auto loaded = object->Load(program.section, {.type = ProgramType::kXdp});
    if (!loaded) {
      if (loaded.error().message.empty()) std::abort();
      continue;
    }
    Scratch scratch({.checked = true, .step_limit = 4096});
    XdpBuffer buffer;
    buffer.Assign(kFrame);
    auto verdict = RunXdp(*loaded->program, scratch, buffer);
    if (!verdict && verdict.error().message.empty()) std::abort();
  }
  return 0;
}

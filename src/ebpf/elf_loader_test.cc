// ElfObject: the BPF C programs of tests/ebpf (compiled by the build with clang -target bpf) load,
// their maps and relocations come out as the kernel would see them, and they run; damaged objects
// fail with an error that names the place.
#include "ebpf/elf_loader.h"

#include <elf.h>
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <random>

#include "ebpf/interp/interpreter.h"
#include "ebpf/scratch.h"
#include "ebpf/xdp.h"

namespace vigil::ebpf {
namespace {

std::string ObjPath(const char* stem) { return std::string(VIGIL_BPF_OBJ_DIR) + "/" + stem + ".o"; }

std::vector<uint8_t> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A minimal Ethernet/IPv4/TCP or UDP frame with the given destination port.
std::vector<uint8_t> Frame(uint8_t proto, uint16_t dport, size_t payload = 10) {
  std::vector<uint8_t> f(14 + 20 + (proto == 6 ? 20 : 8) + payload, 0);
  f[12] = 0x08;
  f[14] = 0x45;
  f[14 + 8] = 64;  // TTL
  f[14 + 9] = proto;
  const uint8_t src[4] = {10, 1, 2, 3}, dst[4] = {10, 9, 8, 7};
  std::memcpy(&f[26], src, 4);
  std::memcpy(&f[30], dst, 4);
  f[34 + 2] = uint8_t(dport >> 8);
  f[34 + 3] = uint8_t(dport);
  return f;
}

const ElfMapDefinition* FindDef(const ElfObject& o, std::string_view name) {
  for (const auto& m : o.maps())
    if (m.name == name) return &m;
  return nullptr;
}

uint64_t U64(const std::vector<uint8_t>& v, size_t off = 0) {
  uint64_t x = 0;
  std::memcpy(&x, v.data() + off, std::min<size_t>(8, v.size() - off));
  return x;
}

TEST(ElfLoader, ReadsBtfMapsGlobalDataAndLicense) {
  auto obj = ElfObject::Open(ObjPath("counters"));
  ASSERT_TRUE(obj) << obj.error().ToString();
  EXPECT_EQ(obj->license(), "GPL");
  const ElfMapDefinition* by_source = FindDef(*obj, "by_source");
  ASSERT_NE(by_source, nullptr);
  EXPECT_EQ(by_source->spec.type, kMapHash);
  EXPECT_EQ(by_source->spec.key_size, 4u);
  EXPECT_EQ(by_source->spec.value_size, 8u);
  EXPECT_EQ(by_source->spec.max_entries, 4096u);
  const ElfMapDefinition* by_proto = FindDef(*obj, "by_proto");
  ASSERT_NE(by_proto, nullptr);
  EXPECT_EQ(by_proto->spec.type, kMapArray);
  EXPECT_EQ(by_proto->spec.max_entries, 256u);
  const ElfMapDefinition* rodata = FindDef(*obj, ".rodata");
  ASSERT_NE(rodata, nullptr);
  EXPECT_TRUE(rodata->global_data);
  ASSERT_EQ(rodata->initial_value.size(), 16u);
  uint32_t weights[4];
  std::memcpy(weights, rodata->initial_value.data(), 16);
  EXPECT_EQ(weights[0], 1u);
  EXPECT_EQ(weights[3], 1000u);
  const ElfMapDefinition* data = FindDef(*obj, ".data");
  ASSERT_NE(data, nullptr);
  EXPECT_EQ(U64(data->initial_value) & 0xffffffff, 7u);
  const ElfMapDefinition* bss = FindDef(*obj, ".bss");
  ASSERT_NE(bss, nullptr);
  EXPECT_EQ(bss->initial_value, std::vector<uint8_t>(16, 0));
}

TEST(ElfLoader, RelocatesMapsGlobalsAndSubprogramCalls) {
  auto obj = ElfObject::Open(ObjPath("counters"));
  ASSERT_TRUE(obj) << obj.error().ToString();
  const ElfProgram* prog = obj->FindProgram("xdp");
  ASSERT_NE(prog, nullptr);
  EXPECT_EQ(prog->function, "count");
  int map_loads = 0, value_loads = 0, calls = 0;
  for (size_t pc = 0; pc < prog->insns.size(); ++pc) {
    const Insn& i = prog->insns[pc];
    if (i.opcode == kOpLddw) {
      if (i.src == kPseudoMapFd) ++map_loads;
      if (i.src == kPseudoMapValue) ++value_loads;
      if (i.src != 0) {
        ASSERT_GE(i.imm, 0);
        ASSERT_LT(size_t(i.imm), obj->maps().size());
      }
      ++pc;
    } else if (i.opcode == kOpCall && i.src == kPseudoCall) {
      ++calls;
      // The subprogram is appended after the entry function: the call lands past its own code.
      const int64_t target = int64_t(pc) + 1 + i.imm;
      EXPECT_GT(target, int64_t(pc));
      EXPECT_LT(target, int64_t(prog->insns.size()));
    }
  }
  EXPECT_EQ(map_loads, 3);    // by_source twice in count(), by_proto in bump()
  EXPECT_EQ(value_loads, 4);  // total_packets, total_bytes, last_length, weights
  EXPECT_EQ(calls, 1);
}

TEST(ElfLoader, CountersRunAndUpdateEveryKindOfStorage) {
  auto obj = ElfObject::Open(ObjPath("counters"));
  ASSERT_TRUE(obj) << obj.error().ToString();
  for (bool checked : {false, true}) {
    auto loaded = obj->Load("xdp", {.type = ProgramType::kXdp});
    ASSERT_TRUE(loaded) << loaded.error().ToString();
    Scratch scratch({.checked = checked});
    XdpBuffer buf;
    const size_t lengths[] = {60, 61, 62, 63, 100};
    for (size_t len : lengths) {
      auto frame = Frame(6, 80, len - 54);
      ASSERT_EQ(frame.size(), len);
      buf.Assign(frame);
      auto v = RunXdp(*loaded->program, scratch, buf);
      ASSERT_TRUE(v) << v.error().ToString();
      EXPECT_EQ(v->action, kXdpPass);
    }
    const uint8_t zero[4] = {0, 0, 0, 0};
    auto bss = loaded->maps[loaded->MapIndex(".bss")]->HostLookup(zero);
    ASSERT_TRUE(bss);
    EXPECT_EQ(U64(*bss, 0), 5u);                        // total_packets
    EXPECT_EQ(U64(*bss, 8), 60u + 61 + 62 + 63 + 100);  // total_bytes
    auto data = loaded->maps[loaded->MapIndex(".data")]->HostLookup(zero);
    ASSERT_TRUE(data);
    EXPECT_EQ(U64(*data) & 0xffffffff, 100u);  // last_length
    const uint8_t tcp[4] = {6, 0, 0, 0};
    auto per_proto = loaded->maps[loaded->MapIndex("by_proto")]->HostLookup(tcp);
    ASSERT_TRUE(per_proto);
    // weights[len & 3]: 60 -> 1, 61 -> 10, 62 -> 100, 63 -> 1000, 100 -> 1.
    EXPECT_EQ(U64(*per_proto), 1112u);
    const uint8_t net[4] = {10, 1, 2, 0};
    auto per_source = loaded->maps[loaded->MapIndex("by_source")]->HostLookup(net);
    ASSERT_TRUE(per_source);
    EXPECT_EQ(U64(*per_source), 5u);
  }
}

TEST(ElfLoader, ParserVerdictsByPort) {
  auto obj = ElfObject::Open(ObjPath("parser"));
  ASSERT_TRUE(obj) << obj.error().ToString();
  auto loaded = obj->Load("xdp", {.type = ProgramType::kXdp});
  ASSERT_TRUE(loaded) << loaded.error().ToString();
  Scratch scratch({.checked = true});
  XdpBuffer buf;
  struct Case {
    uint8_t proto;
    uint16_t port;
    XdpAction want;
  } cases[] = {{6, 80, kXdpPass},   {6, 23, kXdpDrop},   {17, 445, kXdpDrop},
               {17, 53, kXdpPass},  {6, 6000, kXdpDrop}, {6, 6099, kXdpDrop},
               {6, 6100, kXdpPass}, {6, 5999, kXdpPass}, {1, 23, kXdpPass}};
  for (const Case& c : cases) {
    buf.Assign(Frame(c.proto, c.port));
    auto v = RunXdp(*loaded->program, scratch, buf);
    ASSERT_TRUE(v) << v.error().ToString();
    EXPECT_EQ(v->action, c.want) << int(c.proto) << "/" << c.port;
  }
  // Truncated headers drop; a frame shorter than Ethernet aborts.
  auto cut = Frame(6, 80);
  cut.resize(14 + 20 + 10);
  buf.Assign(cut);
  EXPECT_EQ(RunXdp(*loaded->program, scratch, buf)->action, kXdpDrop);
  cut.resize(10);
  buf.Assign(cut);
  EXPECT_EQ(RunXdp(*loaded->program, scratch, buf)->action, kXdpAborted);
  const uint8_t drop[4] = {kXdpDrop, 0, 0, 0};
  auto drops = loaded->maps[loaded->MapIndex("verdicts")]->HostLookup(drop);
  ASSERT_TRUE(drops);
  EXPECT_EQ(U64(*drops), 5u);
}

TEST(ElfLoader, FindsProgramsBySectionPathAndFunction) {
  auto obj = ElfObject::Open(ObjPath("rewrite"));
  ASSERT_TRUE(obj) << obj.error().ToString();
  ASSERT_NE(obj->FindProgram("xdp/reflect"), nullptr);
  ASSERT_NE(obj->FindProgram("reflect"), nullptr);
  EXPECT_EQ(obj->FindProgram("xdp"), nullptr);
  auto missing = obj->Load("tc", {.type = ProgramType::kXdp});
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("'xdp/reflect'"), std::string::npos)
      << missing.error().message;
}

// The one's-complement sum of `bytes` (RFC 1071), folded.
uint16_t Sum16(std::span<const uint8_t> bytes, uint32_t sum = 0) {
  for (size_t i = 0; i + 1 < bytes.size(); i += 2) sum += uint32_t(bytes[i] << 8 | bytes[i + 1]);
  if (bytes.size() % 2) sum += uint32_t(bytes.back() << 8);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return uint16_t(sum);
}

uint32_t Be32(const uint8_t* p) {
  return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3];
}

// The synproxy program of tests/ebpf: a SYN gets a SYN-ACK carrying a SYN cookie (checksums right,
// the MSS option echoing the cookie's MSS), the client's ACK of that cookie passes, a forged one
// drops.
TEST(ElfLoader, SynproxyHandshakeWithSyncookieHelpers) {
  auto obj = ElfObject::Open(ObjPath("synproxy"));
  ASSERT_TRUE(obj) << obj.error().ToString();
  auto loaded = obj->Load("xdp", {.type = ProgramType::kXdp});
  ASSERT_TRUE(loaded) << loaded.error().ToString();
  Scratch scratch({.checked = true});
  XdpBuffer buf;

  // SYN with an MSS option of 1400 and 6 bytes of Ethernet padding.
  std::vector<uint8_t> syn = Frame(6, 443, 0);
  syn[14 + 2] = 0, syn[14 + 3] = 44;  // IP total length 20 + 24
  syn.insert(syn.begin() + 54, {2, 4, 0x05, 0x78});
  syn[34 + 12] = 6 << 4;  // doff 6
  syn[34 + 13] = 0x02;    // SYN
  const uint8_t isn[4] = {0x01, 0x02, 0x03, 0x04};
  std::memcpy(&syn[34 + 4], isn, 4);
  syn[34] = 0x9c, syn[35] = 0x40;  // source port 40000
  syn.resize(syn.size() + 6, 0);
  buf.Assign(syn);
  auto v = RunXdp(*loaded->program, scratch, buf);
  ASSERT_TRUE(v) << v.error().ToString();
  ASSERT_EQ(v->action, kXdpTx);
  std::vector<uint8_t> synack(buf.data().begin(), buf.data().end());
  ASSERT_EQ(synack.size(), 14u + 20 + 24);
  const uint8_t* ip = &synack[14];
  const uint8_t* tcp = &synack[34];
  EXPECT_EQ(Sum16({ip, 20}), 0xffff);  // IPv4 header checksum
  uint32_t pseudo = Sum16({ip + 12, 8}) + 6 + 24;
  EXPECT_EQ(Sum16({tcp, 24}, pseudo), 0xffff);  // TCP checksum over the pseudo-header
  EXPECT_EQ(tcp[13], 0x12);                     // SYN|ACK
  EXPECT_EQ(Be32(tcp + 8), 0x01020305u);        // ack = ISN + 1
  EXPECT_EQ(tcp[0] << 8 | tcp[1], 443);         // ports swapped
  EXPECT_EQ(tcp[2] << 8 | tcp[3], 40000);
  EXPECT_EQ(tcp[22] << 8 | tcp[23], 1300);  // 1400 rounded down to the table
  const uint32_t cookie = Be32(tcp + 4);

  // The client's ACK.
  std::vector<uint8_t> ack = Frame(6, 443, 0);
  ack[34] = 0x9c, ack[35] = 0x40;
  const uint32_t seq = 0x01020305, ack_seq = cookie + 1;
  for (int i = 0; i < 4; ++i) {
    ack[38 + i] = uint8_t(seq >> (24 - 8 * i));
    ack[42 + i] = uint8_t(ack_seq >> (24 - 8 * i));
  }
  ack[34 + 12] = 5 << 4;
  ack[34 + 13] = 0x10;
  buf.Assign(ack);
  v = RunXdp(*loaded->program, scratch, buf);
  ASSERT_TRUE(v) << v.error().ToString();
  EXPECT_EQ(v->action, kXdpPass);
  ack[45] ^= 0x80;  // a guessed cookie
  buf.Assign(ack);
  EXPECT_EQ(RunXdp(*loaded->program, scratch, buf)->action, kXdpDrop);
}

// Finds section `name` in a 64-bit ELF image (test helper; the image is one of ours).
Elf64_Shdr* FindSection(std::vector<uint8_t>& elf, std::string_view name) {
  auto* eh = reinterpret_cast<Elf64_Ehdr*>(elf.data());
  auto* sh = reinterpret_cast<Elf64_Shdr*>(elf.data() + eh->e_shoff);
  const char* strtab = reinterpret_cast<const char*>(elf.data() + sh[eh->e_shstrndx].sh_offset);
  for (int i = 0; i < eh->e_shnum; ++i)
    if (name == strtab + sh[i].sh_name) return &sh[i];
  return nullptr;
}

// The legacy `maps` section (struct bpf_map_def, before BTF): its maps are read, a perf event
// array without max_entries gets one per processor as libbpf gives it, and the program runs.
TEST(ElfLoader, LegacyMapsSection) {
  auto obj = ElfObject::Open(ObjPath("legacy_maps"));
  ASSERT_TRUE(obj) << obj.error().ToString();
  ASSERT_EQ(obj->maps().size(), 2u);
  EXPECT_EQ(obj->maps()[0].name, "counts");
  EXPECT_EQ(obj->maps()[0].spec.type, uint32_t(kMapArray));
  EXPECT_EQ(obj->maps()[0].spec.value_size, 8u);
  EXPECT_EQ(obj->maps()[0].spec.max_entries, 4u);
  EXPECT_EQ(obj->maps()[1].spec.type, uint32_t(kMapPerfEventArray));
  EXPECT_EQ(obj->maps()[1].spec.max_entries, verifier::DefaultNumCpus());
  auto loaded = obj->Load("xdp", {.type = ProgramType::kXdp});
  ASSERT_TRUE(loaded) << loaded.error().ToString();
  Scratch scratch({.checked = true});
  XdpBuffer buf;
  buf.Assign(Frame(6, 80));
  auto v = RunXdp(*loaded->program, scratch, buf, {.ingress_ifindex = 7});
  ASSERT_TRUE(v) << v.error().message;
  EXPECT_EQ(v->action, kXdpPass);
  const uint8_t zero[4] = {};
  EXPECT_EQ(loaded->maps[0]->HostLookup(zero)->at(0), 1);
  std::vector<MapEvent> events;
  ASSERT_EQ(loaded->maps[1]->DrainEvents(events, 10), 1u);
  EXPECT_EQ(events[0].data, (std::vector<uint8_t>{7, 0, 0, 0}));
}

TEST(ElfLoader, DamagedObjectsFailNamingTheProblem) {
  const std::vector<uint8_t> good = ReadFile(ObjPath("counters"));
  ASSERT_GT(good.size(), 64u);

  EXPECT_FALSE(ElfObject::Parse(std::vector<uint8_t>{1, 2, 3}));
  {
    auto r = ElfObject::Parse(std::span(good).first(40), "short.o");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().file, "short.o");
  }
  {  // Not BPF.
    auto elf = good;
    reinterpret_cast<Elf64_Ehdr*>(elf.data())->e_machine = EM_X86_64;
    auto r = ElfObject::Parse(elf);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("not BPF"), std::string::npos) << r.error().message;
    // e_machine 0, as old LLVM releases wrote it, is taken as libbpf takes it.
    reinterpret_cast<Elf64_Ehdr*>(elf.data())->e_machine = 0;
    EXPECT_TRUE(ElfObject::Parse(elf));
  }
  {  // A relocation that points between instructions.
    auto elf = good;
    Elf64_Shdr* rel = FindSection(elf, ".relxdp");
    ASSERT_NE(rel, nullptr);
    reinterpret_cast<Elf64_Rel*>(elf.data() + rel->sh_offset)[0].r_offset += 3;
    auto r = ElfObject::Parse(elf);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("section 'xdp' offset 0x13"), std::string::npos)
        << r.error().message;
  }
  {  // A relocation on an instruction that is neither lddw nor call.
    auto elf = good;
    Elf64_Shdr* rel = FindSection(elf, ".relxdp");
    ASSERT_NE(rel, nullptr);
    auto* r0 = reinterpret_cast<Elf64_Rel*>(elf.data() + rel->sh_offset);
    r0[0].r_offset += 16;  // the instruction after the lddw
    auto r = ElfObject::Parse(elf);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("neither a 64-bit immediate load nor a call"),
              std::string::npos)
        << r.error().message;
  }
  {  // A relocation naming a symbol past the table.
    auto elf = good;
    Elf64_Shdr* rel = FindSection(elf, ".relxdp");
    auto* r0 = reinterpret_cast<Elf64_Rel*>(elf.data() + rel->sh_offset);
    r0[0].r_info = ELF64_R_INFO(100000, ELF64_R_TYPE(r0[0].r_info));
    auto r = ElfObject::Parse(elf);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("section 'xdp' offset"), std::string::npos)
        << r.error().message;
  }
  {  // Every single-byte corruption of the header and section table parses or fails cleanly.
    for (size_t i = 0; i < 64; ++i) {
      auto elf = good;
      elf[i] ^= 0xff;
      auto r = ElfObject::Parse(elf);
      if (r) (void)r->Load("xdp", {.type = ProgramType::kXdp});
    }
    // Random corruption anywhere (code, symbols, relocations, BTF), several bytes at a time.
    std::mt19937 rng(7);
    for (int round = 0; round < 3000; ++round) {
      auto elf = good;
      for (int k = 0, n = 1 + int(rng() % 8); k < n; ++k) elf[rng() % elf.size()] = uint8_t(rng());
      auto r = ElfObject::Parse(elf);
      if (r) (void)r->Load("xdp", {.type = ProgramType::kXdp});
    }
    const auto* eh = reinterpret_cast<const Elf64_Ehdr*>(good.data());
    for (size_t i = 0; i < size_t(eh->e_shnum) * sizeof(Elf64_Shdr); i += 3) {
      auto elf = good;
      elf[eh->e_shoff + i] ^= 0x5a;
      auto r = ElfObject::Parse(elf);
      if (r) (void)r->Load("xdp", {.type = ProgramType::kXdp});
    }
  }
}

}  // namespace
}  // namespace vigil::ebpf

#include "ebpf/elf_loader.h"

#include <gelf.h>
#include <libelf.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <tuple>

#include "fmt/format.h"

namespace vigil::ebpf {
namespace {

// ELF relocation types for BPF (llvm/BinaryFormat/ELFRelocs/BPF.def).
constexpr uint32_t kRelBpf64_64 = 1;   // lddw of a map or global variable
constexpr uint32_t kRelBpf64_32 = 10;  // call of a function
constexpr uint16_t kMachineBpf = 247;  // EM_BPF

// What libbpf fills in for a perf event array declared without sizes: int keys and values, one
// entry per possible processor.
void ApplyLibbpfDefaults(MapSpec& spec) {
  if (spec.type != kMapPerfEventArray) return;
  if (spec.key_size == 0) spec.key_size = 4;
  if (spec.value_size == 0) spec.value_size = 4;
  if (spec.max_entries == 0) spec.max_entries = verifier::DefaultNumCpus();
}

struct Section {
  std::string name;
  GElf_Shdr header{};
  std::span<const uint8_t> data;  // empty for SHT_NOBITS
  bool exec = false;
  int data_map = -1;  // index of the global-data map this section backs
};

struct Symbol {
  std::string name;
  uint16_t shndx = 0;
  uint64_t value = 0;
  uint64_t size = 0;
  uint8_t type = 0;
  uint8_t bind = 0;
};

struct Reloc {
  uint32_t symbol;
  uint32_t type;
};

// BTF (BPF Type Format), enough of it to read map definitions: the type table and the `.maps`
// data section's variables. Every offset and type id is checked; nothing here trusts the object.
class Btf {
 public:
  static constexpr uint32_t kInt = 1, kPtr = 2, kArray = 3, kStruct = 4, kUnion = 5, kEnum = 6,
                            kFwd = 7, kTypedef = 8, kVolatile = 9, kConst = 10, kRestrict = 11,
                            kFunc = 12, kFuncProto = 13, kVar = 14, kDatasec = 15, kFloat = 16,
                            kDeclTag = 17, kTypeTag = 18, kEnum64 = 19;
  struct Type {
    uint32_t name_off, info, size_or_type;
    size_t extra;  // offset of the kind-specific data in types_
    [[nodiscard]] uint32_t kind() const { return (info >> 24) & 0x1f; }
    [[nodiscard]] uint32_t vlen() const { return info & 0xffff; }
  };

  // Parses `data` (the .BTF section); an error message says why, with the byte offset.
  [[nodiscard]] std::optional<std::string> Parse(std::span<const uint8_t> data) {
    if (data.size() < 24) return "header cut short";
    const uint16_t magic = Get16(data, 0);
    if (magic != 0xeb9f) return fmt::format("bad magic {:#x}", magic);
    const uint32_t hdr_len = Get32(data, 4), type_off = Get32(data, 8), type_len = Get32(data, 12),
                   str_off = Get32(data, 16), str_len = Get32(data, 20);
    const uint64_t body = data.size();
    if (hdr_len < 24 || hdr_len > body || uint64_t(hdr_len) + type_off + type_len > body ||
        uint64_t(hdr_len) + str_off + str_len > body)
      return "header sections out of range";
    types_ = data.subspan(hdr_len + type_off, type_len);
    strings_ = data.subspan(hdr_len + str_off, str_len);
    types_list_.push_back({0, 0, 0, 0});  // id 0: void
    size_t off = 0;
    while (off < types_.size()) {
      if (off + 12 > types_.size()) return fmt::format("type at offset {} cut short", off);
      Type t{Get32(types_, off), Get32(types_, off + 4), Get32(types_, off + 8), off + 12};
      size_t extra = 0;
      switch (t.kind()) {
        case kInt:
        case kVar:
        case kDeclTag:
          extra = 4;
          break;
        case kArray:
          extra = 12;
          break;
        case kStruct:
        case kUnion:
        case kDatasec:
        case kEnum64:
          extra = 12 * size_t(t.vlen());
          break;
        case kEnum:
        case kFuncProto:
          extra = 8 * size_t(t.vlen());
          break;
        case kPtr:
        case kFwd:
        case kTypedef:
        case kVolatile:
        case kConst:
        case kRestrict:
        case kFunc:
        case kFloat:
        case kTypeTag:
          break;
        default:
          return fmt::format("type at offset {} has unknown kind {}", off, t.kind());
      }
      if (t.extra + extra > types_.size()) return fmt::format("type at offset {} cut short", off);
      types_list_.push_back(t);
      off = t.extra + extra;
    }
    return std::nullopt;
  }

  [[nodiscard]] const Type* Get(uint32_t id) const {
    return id < types_list_.size() ? &types_list_[id] : nullptr;
  }
  [[nodiscard]] std::string Name(const Type& t) const {
    if (t.name_off >= strings_.size()) return "";
    const char* p = reinterpret_cast<const char*>(strings_.data()) + t.name_off;
    return std::string(p, strnlen(p, strings_.size() - t.name_off));
  }
  [[nodiscard]] std::string String(uint32_t off) const {
    if (off >= strings_.size()) return "";
    const char* p = reinterpret_cast<const char*>(strings_.data()) + off;
    return std::string(p, strnlen(p, strings_.size() - off));
  }
  // The word `i` (0-based, 4 bytes each) of the kind-specific data of `t`.
  [[nodiscard]] uint32_t Extra(const Type& t, size_t i) const {
    return Get32(types_, t.extra + 4 * i);
  }
  // Follows typedefs and qualifiers; null on a bad id or a cycle.
  [[nodiscard]] const Type* Skip(uint32_t id) const {
    for (int depth = 0; depth < 32; ++depth) {
      const Type* t = Get(id);
      if (t == nullptr) return nullptr;
      switch (t->kind()) {
        case kTypedef:
        case kVolatile:
        case kConst:
        case kRestrict:
        case kTypeTag:
          id = t->size_or_type;
          continue;
        default:
          return t;
      }
    }
    return nullptr;
  }
  // The byte size of type `id` (btf__resolve_size), or nullopt.
  [[nodiscard]] std::optional<uint64_t> Size(uint32_t id, int depth = 0) const {
    if (depth > 32) return std::nullopt;
    const Type* t = Skip(id);
    if (t == nullptr) return std::nullopt;
    switch (t->kind()) {
      case kInt:
      case kStruct:
      case kUnion:
      case kEnum:
      case kEnum64:
      case kDatasec:
      case kFloat:
        return t->size_or_type;
      case kPtr:
        return 8;
      case kArray: {
        auto elem = Size(Extra(*t, 0), depth + 1);
        if (!elem) return std::nullopt;
        const uint64_t n = Extra(*t, 2);
        if (n && *elem > (uint64_t(1) << 32) / n) return std::nullopt;
        return *elem * n;
      }
      default:
        return std::nullopt;
    }
  }
  [[nodiscard]] size_t count() const { return types_list_.size(); }

 private:
  static uint16_t Get16(std::span<const uint8_t> d, size_t off) {
    uint16_t v;
    std::memcpy(&v, d.data() + off, 2);
    return v;
  }
  static uint32_t Get32(std::span<const uint8_t> d, size_t off) {
    uint32_t v;
    std::memcpy(&v, d.data() + off, 4);
    return v;
  }
  std::span<const uint8_t> types_, strings_;
  std::vector<Type> types_list_;
};

// The ELF state while parsing one object.
class Parser {
 public:
  Parser(std::span<const uint8_t> bytes, std::string name)
      : bytes_(bytes.begin(), bytes.end()), name_(std::move(name)) {}
  ~Parser() {
    if (elf_ != nullptr) elf_end(elf_);
  }

  base::Result<ElfObject> Run(std::vector<ElfMapDefinition>& maps, std::vector<ElfProgram>& progs,
                              std::string& license);

 private:
  base::Error Fail(std::string message) const { return base::Error{std::move(message), name_}; }
  base::Error FailAt(size_t section, uint64_t offset, std::string why) const {
    return Fail(fmt::format("section '{}' offset {:#x}: {}", sections_[section].name, offset, why));
  }
  base::Status ReadSections();
  base::Status ReadSymbols();
  base::Status ReadRelocations();
  base::Status ReadDataMaps(std::vector<ElfMapDefinition>& maps);
  base::Status ReadLegacyMaps(std::vector<ElfMapDefinition>& maps);
  base::Status ReadBtfMaps(std::vector<ElfMapDefinition>& maps);
  // Best effort: line information that does not parse is left out, never an error.
  void ReadLineInfo(std::vector<ElfProgram>& progs) const;
  base::Result<ElfProgram> Link(size_t shndx, uint64_t start, uint64_t count,
                                const std::string& function);
  // The function (start, count in instructions) of section `shndx` that holds instruction `idx`.
  std::pair<uint64_t, uint64_t> FunctionAt(size_t shndx, uint64_t idx) const;

  std::vector<uint8_t> bytes_;
  std::string name_;
  Elf* elf_ = nullptr;
  std::vector<Section> sections_;
  std::vector<Symbol> symbols_;
  std::map<size_t, std::map<uint64_t, Reloc>> relocs_;  // section -> offset -> relocation
  std::map<std::string, int, std::less<>> map_by_symbol_;
  // References to BTF-defined maps, resolved once the BTF has been read (after linking, so that a
  // damaged relocation is reported as such before any complaint about types).
  struct PendingMapRef {
    size_t program, insn, shndx;
    uint64_t offset;
    std::string name;
  };
  std::vector<PendingMapRef> pending_;
  size_t current_program_ = 0;
  // Where each program's instructions came from: (section, first instruction, count, index in the
  // linked program), for mapping line information.
  struct LinkedPiece {
    size_t shndx;
    uint64_t start, count, base;
  };
  std::vector<std::vector<LinkedPiece>> linked_pieces_;
  int maps_section_ = -1, legacy_maps_section_ = -1;
};

base::Status Parser::ReadSections() {
  elf_version(EV_CURRENT);
  elf_ = elf_memory(reinterpret_cast<char*>(bytes_.data()), bytes_.size());
  if (elf_ == nullptr || elf_kind(elf_) != ELF_K_ELF) return Fail("not an ELF file");
  GElf_Ehdr ehdr;
  if (gelf_getehdr(elf_, &ehdr) == nullptr) return Fail("bad ELF header");
  if (ehdr.e_ident[EI_CLASS] != ELFCLASS64 || ehdr.e_ident[EI_DATA] != ELFDATA2LSB)
    return Fail("not a 64-bit little-endian ELF object");
  // Old LLVM releases wrote e_machine 0 (EM_NONE); libbpf accepts it, and so do we.
  if (ehdr.e_machine != kMachineBpf && ehdr.e_machine != 0)
    return Fail(fmt::format("machine {} is not BPF ({})", ehdr.e_machine, kMachineBpf));
  size_t shstrndx = 0, count = 0;
  if (elf_getshdrstrndx(elf_, &shstrndx) != 0 || elf_getshdrnum(elf_, &count) != 0)
    return Fail("bad section header table");
  sections_.resize(count);
  for (size_t i = 1; i < count; ++i) {
    Elf_Scn* scn = elf_getscn(elf_, i);
    Section& s = sections_[i];
    if (scn == nullptr || gelf_getshdr(scn, &s.header) == nullptr)
      return Fail(fmt::format("section {}: bad header", i));
    const char* name = elf_strptr(elf_, shstrndx, s.header.sh_name);
    if (name == nullptr) return Fail(fmt::format("section {}: bad name", i));
    s.name = name;
    if (s.header.sh_type != SHT_NOBITS && s.header.sh_size > 0) {
      Elf_Data* data = elf_getdata(scn, nullptr);
      if (data == nullptr || data->d_buf == nullptr || data->d_size != s.header.sh_size)
        return Fail(fmt::format("section '{}': contents out of the file", s.name));
      s.data = {static_cast<const uint8_t*>(data->d_buf), data->d_size};
    }
    s.exec = s.header.sh_type == SHT_PROGBITS && (s.header.sh_flags & SHF_EXECINSTR) != 0;
    if (s.exec && s.header.sh_size % sizeof(Insn) != 0)
      return Fail(
          fmt::format("section '{}': size {} is not a multiple of 8", s.name, s.header.sh_size));
    if (s.name == ".maps") maps_section_ = int(i);
    if (s.name == "maps") legacy_maps_section_ = int(i);
  }
  return {};
}

base::Status Parser::ReadSymbols() {
  for (size_t i = 1; i < sections_.size(); ++i) {
    if (sections_[i].header.sh_type != SHT_SYMTAB) continue;
    Elf_Data* data = elf_getdata(elf_getscn(elf_, i), nullptr);
    if (data == nullptr) return Fail("bad symbol table");
    const size_t n =
        sections_[i].header.sh_entsize ? data->d_size / sections_[i].header.sh_entsize : 0;
    symbols_.resize(n);
    for (size_t k = 0; k < n; ++k) {
      GElf_Sym sym;
      if (gelf_getsym(data, int(k), &sym) == nullptr) return Fail(fmt::format("symbol {}: bad", k));
      const char* name = elf_strptr(elf_, sections_[i].header.sh_link, sym.st_name);
      symbols_[k] = {name ? name : "",
                     sym.st_shndx,
                     sym.st_value,
                     sym.st_size,
                     uint8_t(GELF_ST_TYPE(sym.st_info)),
                     uint8_t(GELF_ST_BIND(sym.st_info))};
      if (symbols_[k].type == STT_SECTION && symbols_[k].shndx < sections_.size())
        symbols_[k].name = sections_[symbols_[k].shndx].name;
    }
    return {};
  }
  return Fail("no symbol table");
}

base::Status Parser::ReadRelocations() {
  for (size_t i = 1; i < sections_.size(); ++i) {
    const Section& s = sections_[i];
    if (s.header.sh_type == SHT_RELA) {
      const size_t target = s.header.sh_info;
      if (target < sections_.size() && sections_[target].exec)
        return Fail(fmt::format("section '{}': RELA relocations are not used by BPF", s.name));
      continue;
    }
    if (s.header.sh_type != SHT_REL) continue;
    const size_t target = s.header.sh_info;
    if (target >= sections_.size() || !sections_[target].exec) continue;  // debug info, BTF
    Elf_Data* data = elf_getdata(elf_getscn(elf_, i), nullptr);
    if (data == nullptr) return Fail(fmt::format("section '{}': bad contents", s.name));
    const size_t n = s.header.sh_entsize ? data->d_size / s.header.sh_entsize : 0;
    for (size_t k = 0; k < n; ++k) {
      GElf_Rel rel;
      if (gelf_getrel(data, int(k), &rel) == nullptr)
        return Fail(fmt::format("section '{}': bad relocation {}", s.name, k));
      const uint64_t sym = GELF_R_SYM(rel.r_info);
      const uint32_t type = uint32_t(GELF_R_TYPE(rel.r_info));
      if (rel.r_offset % sizeof(Insn) != 0 ||
          rel.r_offset + 16 > sections_[target].header.sh_size + 8)
        return FailAt(target, rel.r_offset, "relocation not at an instruction");
      if (sym >= symbols_.size())
        return FailAt(target, rel.r_offset,
                      fmt::format("relocation names symbol {} of {}", sym, symbols_.size()));
      relocs_[target][rel.r_offset] = {uint32_t(sym), type};
    }
  }
  return {};
}

base::Status Parser::ReadLegacyMaps(std::vector<ElfMapDefinition>& maps) {
  // struct bpf_map_def { type, key_size, value_size, max_entries, map_flags } (u32 each).
  const Section& s = sections_[legacy_maps_section_];
  for (const Symbol& sym : symbols_) {
    if (sym.shndx != legacy_maps_section_ || sym.type == STT_SECTION || sym.name.empty()) continue;
    if (sym.value + 20 > s.data.size())
      return FailAt(legacy_maps_section_, sym.value,
                    fmt::format("map '{}' definition is shorter than 20 bytes", sym.name));
    uint32_t f[5];
    std::memcpy(f, s.data.data() + sym.value, sizeof(f));
    map_by_symbol_[sym.name] = int(maps.size());
    maps.push_back({sym.name,
                    {.type = f[0],
                     .key_size = f[1],
                     .value_size = f[2],
                     .max_entries = f[3],
                     .flags = f[4],
                     .name = sym.name},
                    {},
                    false});
    ApplyLibbpfDefaults(maps.back().spec);
  }
  return {};
}

base::Status Parser::ReadBtfMaps(std::vector<ElfMapDefinition>& maps) {
  const Section* btf_section = nullptr;
  for (const Section& s : sections_)
    if (s.name == ".BTF") btf_section = &s;
  if (btf_section == nullptr)
    return Fail("section '.maps': map definitions without type information (no .BTF section)");
  Btf btf;
  if (auto why = btf.Parse(btf_section->data); why) return Fail("section '.BTF': " + *why);
  const Btf::Type* datasec = nullptr;
  for (uint32_t id = 1; id < btf.count(); ++id) {
    const Btf::Type* t = btf.Get(id);
    if (t->kind() == Btf::kDatasec && btf.Name(*t) == ".maps") datasec = t;
  }
  if (datasec == nullptr) return Fail("section '.BTF': no type for the '.maps' section");
  for (uint32_t i = 0; i < datasec->vlen(); ++i) {
    const uint32_t var_id = btf.Extra(*datasec, 3 * i), var_offset = btf.Extra(*datasec, 3 * i + 1);
    const Btf::Type* var = btf.Get(var_id);
    if (var == nullptr || var->kind() != Btf::kVar)
      return FailAt(size_t(maps_section_), var_offset, "map entry is not a variable in BTF");
    const std::string name = btf.Name(*var);
    auto fail = [&](std::string why) {
      return FailAt(size_t(maps_section_), var_offset, fmt::format("map '{}': {}", name, why));
    };
    const Btf::Type* def = btf.Skip(var->size_or_type);
    if (def == nullptr || def->kind() != Btf::kStruct) return fail("definition is not a struct");
    MapSpec spec{.type = 0, .key_size = 0, .value_size = 0, .max_entries = 0, .name = name};
    std::optional<uint64_t> key_type_size, value_type_size;
    for (uint32_t m = 0; m < def->vlen(); ++m) {
      const std::string field = btf.String(btf.Extra(*def, 3 * m));
      const Btf::Type* ptr = btf.Skip(btf.Extra(*def, 3 * m + 1));
      if (ptr == nullptr || ptr->kind() != Btf::kPtr)
        return fail(fmt::format("field '{}' is not declared with __uint or __type", field));
      if (field == "key" || field == "value") {
        auto size = btf.Size(ptr->size_or_type);
        if (!size || *size == 0 || *size > UINT32_MAX)
          return fail(fmt::format("field '{}' has a type of unknown size", field));
        (field == "key" ? key_type_size : value_type_size) = *size;
        continue;
      }
      const Btf::Type* array = btf.Skip(ptr->size_or_type);
      if (array == nullptr || array->kind() != Btf::kArray)
        return fail(fmt::format("field '{}' is not declared with __uint", field));
      const uint32_t v = btf.Extra(*array, 2);
      if (field == "type") {
        spec.type = v;
      } else if (field == "key_size") {
        spec.key_size = v;
      } else if (field == "value_size") {
        spec.value_size = v;
      } else if (field == "max_entries") {
        spec.max_entries = v;
      } else if (field == "map_flags") {
        spec.flags = v;
      } else if (field == "pinning" || field == "numa_node") {
        // Kernel-side placement: nothing to do in user space.
      } else {
        return fail(fmt::format("field '{}' is not supported", field));
      }
    }
    for (auto [type_size, size, what] : {std::tuple{key_type_size, &spec.key_size, "key"},
                                         std::tuple{value_type_size, &spec.value_size, "value"}}) {
      if (!type_size) continue;
      if (*size != 0 && *size != *type_size)
        return fail(fmt::format("{}_size {} differs from the {} type's size {}", what, *size, what,
                                *type_size));
      *size = uint32_t(*type_size);
    }
    ApplyLibbpfDefaults(spec);
    map_by_symbol_[name] = int(maps.size());
    maps.push_back({name, spec, {}, false});
  }
  return {};
}

base::Status Parser::ReadDataMaps(std::vector<ElfMapDefinition>& maps) {
  // Global data: every allocated, non-executable .data*, .rodata* and .bss* section.
  for (size_t i = 1; i < sections_.size(); ++i) {
    Section& s = sections_[i];
    if (s.exec || (s.header.sh_flags & SHF_ALLOC) == 0 || s.header.sh_size == 0) continue;
    if (!s.name.starts_with(".data") && !s.name.starts_with(".rodata") &&
        !s.name.starts_with(".bss"))
      continue;
    if (s.header.sh_size > UINT32_MAX / 2)
      return Fail(fmt::format("section '{}': {} bytes of global data", s.name, s.header.sh_size));
    s.data_map = int(maps.size());
    ElfMapDefinition def{s.name,
                         {.type = kMapArray,
                          .key_size = 4,
                          .value_size = uint32_t(s.header.sh_size),
                          .max_entries = 1,
                          // libbpf creates .rodata read-only for programs (BPF_F_RDONLY_PROG).
                          .flags = s.name.starts_with(".rodata") ? 1u << 7 : 0,
                          .name = s.name},
                         std::vector<uint8_t>(s.header.sh_size, 0),
                         true};
    if (!s.data.empty()) def.initial_value.assign(s.data.begin(), s.data.end());
    maps.push_back(std::move(def));
  }
  return {};
}

std::pair<uint64_t, uint64_t> Parser::FunctionAt(size_t shndx, uint64_t idx) const {
  for (const Symbol& sym : symbols_) {
    if (sym.shndx != shndx || sym.type != STT_FUNC || sym.size == 0) continue;
    if (sym.value % 8 || sym.size % 8 || sym.value > sections_[shndx].data.size() ||
        sym.size > sections_[shndx].data.size() - sym.value)
      continue;  // a damaged symbol: not a function we can take
    if (sym.value / 8 <= idx && idx < (sym.value + sym.size) / 8)
      return {sym.value / 8, sym.size / 8};
  }
  return {0, sections_[shndx].header.sh_size / 8};  // no symbol: the whole section
}

base::Result<ElfProgram> Parser::Link(size_t shndx, uint64_t start, uint64_t count,
                                      const std::string& function) {
  struct Piece {
    size_t shndx;
    uint64_t start, count, base;
  };
  std::vector<Piece> pieces{{shndx, start, count, 0}};
  uint64_t total = count;
  ElfProgram prog{sections_[shndx].name, function, {}};
  for (size_t pi = 0; pi < pieces.size(); ++pi) {
    const Piece piece = pieces[pi];
    const Section& sec = sections_[piece.shndx];
    if (piece.start > sec.data.size() / 8 || piece.count > sec.data.size() / 8 - piece.start)
      return FailAt(piece.shndx, piece.start * 8, "function extends past its section");
    std::vector<Insn> code = InsnsFromBytes(sec.data.subspan(piece.start * 8, piece.count * 8));
    const auto rel_it = relocs_.find(piece.shndx);
    for (uint64_t k = 0; k < code.size(); ++k) {
      Insn& insn = code[k];
      const uint64_t offset = (piece.start + k) * 8;
      const Reloc* rel = nullptr;
      if (rel_it != relocs_.end()) {
        auto it = rel_it->second.find(offset);
        if (it != rel_it->second.end()) rel = &it->second;
      }
      if (insn.opcode == kOpLddw) {
        if (k + 1 >= code.size())
          return FailAt(piece.shndx, offset, "64-bit immediate load without its second half");
        if (rel == nullptr) {
          ++k;
          continue;
        }
        const Symbol& sym = symbols_[rel->symbol];
        if (rel->type != kRelBpf64_64)
          return FailAt(piece.shndx, offset,
                        fmt::format("relocation type {} on a 64-bit immediate load", rel->type));
        if (sym.shndx == SHN_UNDEF)
          return FailAt(piece.shndx, offset, fmt::format("undefined symbol '{}'", sym.name));
        if (int(sym.shndx) == maps_section_) {
          insn.src = kPseudoMapFd;
          pending_.push_back(
              {current_program_, size_t(piece.base + k), piece.shndx, offset, sym.name});
        } else if (int(sym.shndx) == legacy_maps_section_) {
          auto m = map_by_symbol_.find(sym.name);
          if (m == map_by_symbol_.end())
            return FailAt(
                piece.shndx, offset,
                fmt::format("reference to '{}', which is not a map definition", sym.name));
          insn.src = kPseudoMapFd;
          insn.imm = m->second;
        } else if (sym.shndx < sections_.size() && sections_[sym.shndx].data_map >= 0) {
          const int64_t off = int64_t(insn.imm) + int64_t(sym.value);
          if (off < 0 || uint64_t(off) >= sections_[sym.shndx].header.sh_size)
            return FailAt(
                piece.shndx, offset,
                fmt::format("offset {} is outside section '{}'", off, sections_[sym.shndx].name));
          insn.src = kPseudoMapValue;
          insn.imm = sections_[sym.shndx].data_map;
          code[k + 1].imm = int32_t(off);
        } else {
          return FailAt(piece.shndx, offset,
                        fmt::format("symbol '{}' is neither a map nor global data", sym.name));
        }
        ++k;
        continue;
      }
      if (insn.opcode == kOpCall && insn.src == kPseudoCall) {
        size_t target_shndx = piece.shndx;
        int64_t target = int64_t(piece.start + k) + insn.imm + 1;
        if (rel != nullptr) {
          const Symbol& sym = symbols_[rel->symbol];
          if (rel->type != kRelBpf64_32)
            return FailAt(piece.shndx, offset,
                          fmt::format("relocation type {} on a call", rel->type));
          if (sym.shndx == SHN_UNDEF || sym.shndx >= sections_.size() || !sections_[sym.shndx].exec)
            return FailAt(piece.shndx, offset,
                          fmt::format("call to '{}', which is not code in this object", sym.name));
          target_shndx = sym.shndx;
          target = int64_t(sym.value / 8) + insn.imm + 1;
        }
        const uint64_t size = sections_[target_shndx].header.sh_size / 8;
        if (target < 0 || uint64_t(target) >= size)
          return FailAt(piece.shndx, offset,
                        fmt::format("call target {} is outside section '{}'", target,
                                    sections_[target_shndx].name));
        auto [fstart, fcount] = FunctionAt(target_shndx, uint64_t(target));
        const Piece* callee = nullptr;
        for (const Piece& p : pieces)
          if (p.shndx == target_shndx && p.start <= uint64_t(target) &&
              uint64_t(target) < p.start + p.count)
            callee = &p;
        if (callee == nullptr) {
          if (total + fcount > kMaxInsns)
            return FailAt(piece.shndx, offset, "program with its subprograms is too large");
          pieces.push_back({target_shndx, fstart, fcount, total});
          total += fcount;
          callee = &pieces.back();
        }
        const int64_t rel_off = int64_t(callee->base + (uint64_t(target) - callee->start)) -
                                int64_t(piece.base + k + 1);
        insn.imm = int32_t(rel_off);
        continue;
      }
      if (rel != nullptr)
        return FailAt(piece.shndx, offset,
                      fmt::format("relocation against '{}' on an instruction that is neither a "
                                  "64-bit immediate load nor a call",
                                  symbols_[rel->symbol].name));
    }
    prog.insns.insert(prog.insns.end(), code.begin(), code.end());
  }
  if (linked_pieces_.size() <= current_program_) linked_pieces_.resize(current_program_ + 1);
  linked_pieces_[current_program_].clear();
  for (const Piece& p : pieces)
    linked_pieces_[current_program_].push_back({p.shndx, p.start, p.count, p.base});
  return prog;
}

void Parser::ReadLineInfo(std::vector<ElfProgram>& progs) const {
  const Section *btf_section = nullptr, *ext_section = nullptr;
  for (const Section& s : sections_) {
    if (s.name == ".BTF") btf_section = &s;
    if (s.name == ".BTF.ext") ext_section = &s;
  }
  if (btf_section == nullptr || ext_section == nullptr) return;
  Btf btf;
  if (btf.Parse(btf_section->data)) return;
  const std::span<const uint8_t> d = ext_section->data;
  auto get32 = [&](uint64_t off, uint32_t* v) {
    if (off + 4 > d.size()) return false;
    std::memcpy(v, d.data() + off, 4);
    return true;
  };
  uint32_t magic_word = 0, hdr_len = 0, line_off = 0, line_len = 0;
  if (!get32(0, &magic_word) || (magic_word & 0xffff) != 0xeb9f || !get32(4, &hdr_len) ||
      hdr_len < 24 || !get32(16, &line_off) || !get32(20, &line_len))
    return;
  uint64_t off = uint64_t(hdr_len) + line_off;
  const uint64_t end = std::min<uint64_t>(off + line_len, d.size());
  uint32_t rec_size = 0;
  if (!get32(off, &rec_size) || rec_size < 16) return;
  off += 4;
  while (off + 8 <= end) {
    uint32_t sec_name = 0, num = 0;
    get32(off, &sec_name);
    get32(off + 4, &num);
    off += 8;
    const std::string sec = btf.String(sec_name);
    size_t shndx = 0;
    for (size_t i = 1; i < sections_.size(); ++i)
      if (sections_[i].name == sec) shndx = i;
    for (uint32_t k = 0; k < num && off + rec_size <= end; ++k, off += rec_size) {
      uint32_t insn_off = 0, file = 0, line = 0, line_col = 0;
      get32(off, &insn_off);
      get32(off + 4, &file);
      get32(off + 8, &line);
      get32(off + 12, &line_col);
      if (shndx == 0) continue;
      const uint64_t insn = insn_off / 8;
      std::string path = btf.String(file);
      std::string text = btf.String(line);
      const size_t first = text.find_first_not_of(" \t");
      text = first == std::string::npos ? "" : text.substr(first);
      while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.pop_back();
      const size_t slash = path.rfind('/');
      if (slash != std::string::npos) path = path.substr(slash + 1);
      for (size_t p = 0; p < progs.size() && p < linked_pieces_.size(); ++p)
        for (const LinkedPiece& piece : linked_pieces_[p])
          if (piece.shndx == shndx && piece.start <= insn && insn < piece.start + piece.count)
            progs[p].lines.push_back(
                {uint32_t(piece.base + insn - piece.start), path, line_col >> 10, text});
    }
  }
  for (ElfProgram& p : progs)
    std::stable_sort(p.lines.begin(), p.lines.end(),
                     [](const auto& a, const auto& b) { return a.insn < b.insn; });
}

base::Result<ElfObject> Parser::Run(std::vector<ElfMapDefinition>& maps,
                                    std::vector<ElfProgram>& progs, std::string& license) {
  if (auto st = ReadSections(); !st) return st.error();
  if (auto st = ReadSymbols(); !st) return st.error();
  if (auto st = ReadRelocations(); !st) return st.error();
  if (legacy_maps_section_ >= 0) {
    if (auto st = ReadLegacyMaps(maps); !st) return st.error();
  }
  if (auto st = ReadDataMaps(maps); !st) return st.error();
  for (size_t i = 1; i < sections_.size(); ++i) {
    const Section& s = sections_[i];
    if (s.name == "license") {
      license.assign(reinterpret_cast<const char*>(s.data.data()), s.data.size());
      license = license.substr(0, license.find('\0'));
    }
    if (!s.exec || s.name == ".text" || s.data.empty()) continue;
    bool any = false;
    for (const Symbol& sym : symbols_) {
      if (sym.shndx != i || sym.type != STT_FUNC || sym.bind != STB_GLOBAL) continue;
      if (sym.value % 8 != 0 || sym.size % 8 != 0 || sym.value + sym.size > s.data.size() ||
          sym.size == 0)
        return FailAt(i, sym.value, fmt::format("function '{}' has bad bounds", sym.name));
      current_program_ = progs.size();
      auto prog = Link(i, sym.value / 8, sym.size / 8, sym.name);
      if (!prog) return prog.error();
      progs.push_back(std::move(*prog));
      any = true;
    }
    if (!any) {
      current_program_ = progs.size();
      auto prog = Link(i, 0, s.data.size() / 8, s.name);
      if (!prog) return prog.error();
      progs.push_back(std::move(*prog));
    }
  }
  if (maps_section_ >= 0) {
    if (auto st = ReadBtfMaps(maps); !st) return st.error();
  }
  ReadLineInfo(progs);
  for (const PendingMapRef& ref : pending_) {
    auto m = map_by_symbol_.find(ref.name);
    if (m == map_by_symbol_.end())
      return FailAt(ref.shndx, ref.offset,
                    fmt::format("reference to '{}', which is not a map definition", ref.name));
    progs[ref.program].insns[ref.insn].imm = m->second;
  }
  return ElfObject{};
}

}  // namespace

int ElfObject::Loaded::MapIndex(std::string_view name) const {
  for (size_t i = 0; i < maps.size(); ++i)
    if (maps[i]->spec().name == name) return int(i);
  return -1;
}

base::Result<ElfObject> ElfObject::Parse(std::span<const uint8_t> bytes, std::string name) {
  Parser parser(bytes, std::move(name));
  ElfObject object;
  auto r = parser.Run(object.maps_, object.programs_, object.license_);
  if (!r) return r.error();
  return object;
}

base::Result<ElfObject> ElfObject::Open(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return base::Error{"cannot open the file", path};
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());
  return Parse(bytes, path);
}

verifier::Options ElfObject::VerifierOptions(const ElfProgram& program) const {
  verifier::Options o;
  for (const ElfMapDefinition& def : maps_) o.maps.push_back(def.spec);
  // The kernel's license_is_gpl_compatible().
  o.gpl = false;
  for (const char* l : {"GPL", "GPL v2", "GPL and additional rights", "Dual BSD/GPL",
                        "Dual MIT/GPL", "Dual MPL/GPL"})
    if (license_ == l) o.gpl = true;
  o.lines = &program.lines;
  return o;
}

const ElfProgram* ElfObject::FindProgram(std::string_view section) const {
  for (const ElfProgram& p : programs_)
    if (p.section == section) return &p;
  for (const ElfProgram& p : programs_)
    if (p.function == section) return &p;
  return nullptr;
}

base::Result<ElfObject::Loaded> ElfObject::Load(std::string_view section,
                                                LoadOptions options) const {
  const ElfProgram* prog = FindProgram(section);
  if (prog == nullptr) {
    std::string have;
    for (const ElfProgram& p : programs_) have += fmt::format(" '{}'", p.section);
    return base::MakeError(fmt::format("no program in section '{}' (the object has:{})", section,
                                       have.empty() ? " none" : have));
  }
  Loaded loaded;
  loaded.source = prog;
  for (const ElfMapDefinition& def : maps_) {
    auto m = Map::Create(def.spec);
    if (!m) return base::MakeError(fmt::format("map '{}': {}", def.name, m.error().message));
    if (def.global_data) {
      const uint8_t key[4] = {0, 0, 0, 0};
      if (auto st = (*m)->HostUpdate(key, def.initial_value); !st)
        return base::MakeError(fmt::format("map '{}': {}", def.name, st.error().message));
    }
    loaded.maps.push_back(std::move(*m));
  }
  options.maps = loaded.maps;
  if (options.name.empty()) options.name = prog->function;
  options.gpl = VerifierOptions(*prog).gpl;
  options.lines = &prog->lines;
  auto p = Program::Load(prog->insns, std::move(options));
  if (!p)
    return base::MakeError(
        fmt::format("section '{}' ({}): {}", prog->section, prog->function, p.error().message));
  loaded.program = std::move(*p);
  return loaded;
}

}  // namespace vigil::ebpf

// The eBPF instruction set (RFC 9669, "BPF Instruction Set Architecture"): the 8-byte instruction
// word, the opcode fields, and the kernel's numbers that programs depend on (helper ids, XDP
// actions, map types, errno values). Everything else in vigil::ebpf speaks in these terms.
//
//   Insn insn = Insn::Make(kClsAlu64 | kAluMov | kSrcK, /*dst=*/0, /*src=*/0, /*off=*/0, 42);
//   if (Class(insn.opcode) == kClsAlu64) ...
//
// The encoding is little-endian, as on x86-64 and as clang emits for `-target bpf` (bpfel).
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <vector>

namespace vigil::ebpf {

// One 64-bit instruction word: opcode, destination and source registers, signed 16-bit offset,
// signed 32-bit immediate. A 64-bit immediate load (lddw) takes two words.
struct Insn {
  uint8_t opcode = 0;
  uint8_t dst : 4 = 0;
  uint8_t src : 4 = 0;
  int16_t off = 0;
  int32_t imm = 0;

  static constexpr Insn Make(uint8_t opcode, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
    Insn i;
    i.opcode = opcode;
    i.dst = dst & 0xf;
    i.src = src & 0xf;
    i.off = off;
    i.imm = imm;
    return i;
  }
};
static_assert(sizeof(Insn) == 8);

// Reinterprets little-endian bytes as instructions (a trailing partial word is dropped).
[[nodiscard]] inline std::vector<Insn> InsnsFromBytes(std::span<const uint8_t> bytes) {
  std::vector<Insn> out(bytes.size() / sizeof(Insn));
  if (!out.empty())
    std::memcpy(static_cast<void*>(out.data()), bytes.data(), out.size() * sizeof(Insn));
  return out;
}

// Instruction classes (the low 3 bits of the opcode).
inline constexpr uint8_t kClsLd = 0x00;
inline constexpr uint8_t kClsLdx = 0x01;
inline constexpr uint8_t kClsSt = 0x02;
inline constexpr uint8_t kClsStx = 0x03;
inline constexpr uint8_t kClsAlu = 0x04;
inline constexpr uint8_t kClsJmp = 0x05;
inline constexpr uint8_t kClsJmp32 = 0x06;
inline constexpr uint8_t kClsAlu64 = 0x07;

// Arithmetic and jump instructions: source bit and operation (high 4 bits).
inline constexpr uint8_t kSrcK = 0x00;  // immediate operand
inline constexpr uint8_t kSrcX = 0x08;  // register operand
inline constexpr uint8_t kAluAdd = 0x00, kAluSub = 0x10, kAluMul = 0x20, kAluDiv = 0x30,
                         kAluOr = 0x40, kAluAnd = 0x50, kAluLsh = 0x60, kAluRsh = 0x70,
                         kAluNeg = 0x80, kAluMod = 0x90, kAluXor = 0xa0, kAluMov = 0xb0,
                         kAluArsh = 0xc0, kAluEnd = 0xd0;
inline constexpr uint8_t kJmpJa = 0x00, kJmpJeq = 0x10, kJmpJgt = 0x20, kJmpJge = 0x30,
                         kJmpJset = 0x40, kJmpJne = 0x50, kJmpJsgt = 0x60, kJmpJsge = 0x70,
                         kJmpCall = 0x80, kJmpExit = 0x90, kJmpJlt = 0xa0, kJmpJle = 0xb0,
                         kJmpJslt = 0xc0, kJmpJsle = 0xd0;

// Load and store instructions: size (bits 3-4) and mode (bits 5-7).
inline constexpr uint8_t kSizeW = 0x00, kSizeH = 0x08, kSizeB = 0x10, kSizeDw = 0x18;
inline constexpr uint8_t kModeImm = 0x00, kModeAbs = 0x20, kModeInd = 0x40, kModeMem = 0x60,
                         kModeMemsx = 0x80, kModeAtomic = 0xc0;

// Atomic operations, held in the immediate of {STX, ATOMIC, W|DW}.
inline constexpr int32_t kAtomicFetch = 0x01;
inline constexpr int32_t kAtomicXchg = 0xe0 | kAtomicFetch;
inline constexpr int32_t kAtomicCmpxchg = 0xf0 | kAtomicFetch;

// Source-register values of the 64-bit immediate load and of calls (the "pseudo" forms).
inline constexpr uint8_t kPseudoMapFd = 1;  // lddw: imm is a map; dst = the map
inline constexpr uint8_t kPseudoMapValue =
    2;                                     // lddw: imm is a map, next imm an offset into value 0
inline constexpr uint8_t kPseudoCall = 1;  // call: imm is a relative instruction offset

inline constexpr uint8_t kOpLddw = kClsLd | kModeImm | kSizeDw;  // 0x18
inline constexpr uint8_t kOpCall = kClsJmp | kJmpCall;           // 0x85
inline constexpr uint8_t kOpCallx = kClsJmp | kJmpCall | kSrcX;  // 0x8d: helper id in dst
inline constexpr uint8_t kOpExit = kClsJmp | kJmpExit;           // 0x95

[[nodiscard]] constexpr uint8_t Class(uint8_t opcode) { return opcode & 0x07; }
[[nodiscard]] constexpr uint8_t AluOp(uint8_t opcode) { return opcode & 0xf0; }
[[nodiscard]] constexpr uint8_t Source(uint8_t opcode) { return opcode & 0x08; }
[[nodiscard]] constexpr uint8_t Size(uint8_t opcode) { return opcode & 0x18; }
[[nodiscard]] constexpr uint8_t Mode(uint8_t opcode) { return opcode & 0xe0; }
[[nodiscard]] constexpr uint32_t SizeBytes(uint8_t opcode) {
  switch (Size(opcode)) {
    case kSizeB:
      return 1;
    case kSizeH:
      return 2;
    case kSizeW:
      return 4;
    default:
      return 8;
  }
}

inline constexpr int kNumRegisters = 11;  // r0-r9 general, r10 the read-only frame pointer
inline constexpr int kFramePointer = 10;
inline constexpr uint32_t kStackSize = 512;    // bytes per frame, as in the kernel
inline constexpr uint32_t kMaxCallDepth = 8;   // frames, as the kernel's MAX_CALL_FRAMES
inline constexpr uint32_t kMaxTailCalls = 33;  // the kernel's MAX_TAIL_CALL_CNT
inline constexpr uint32_t kMaxInsns = 65536;   // program size cap (uBPF's; jumps are 16-bit)

// Kernel helper ids (include/uapi/linux/bpf.h, enum bpf_func_id).
enum HelperId : int32_t {
  kHelperMapLookupElem = 1,
  kHelperMapUpdateElem = 2,
  kHelperMapDeleteElem = 3,
  kHelperKtimeGetNs = 5,
  kHelperTracePrintk = 6,
  kHelperGetPrandomU32 = 7,
  kHelperGetSmpProcessorId = 8,
  kHelperTailCall = 12,
  kHelperRedirect = 23,
  kHelperPerfEventOutput = 25,
  kHelperCsumDiff = 28,
  kHelperXdpAdjustHead = 44,
  kHelperRedirectMap = 51,
  kHelperXdpAdjustMeta = 54,
  kHelperXdpAdjustTail = 65,
  kHelperFibLookup = 69,
  kHelperKtimeGetBootNs = 125,
  kHelperRingbufOutput = 130,
  kHelperRingbufReserve = 131,
  kHelperRingbufSubmit = 132,
  kHelperRingbufDiscard = 133,
  kHelperRingbufQuery = 134,
  kHelperTcpRawGenSyncookieIpv4 = 204,
  kHelperTcpRawGenSyncookieIpv6 = 205,
  kHelperTcpRawCheckSyncookieIpv4 = 206,
  kHelperTcpRawCheckSyncookieIpv6 = 207,
};

// XDP verdicts (enum xdp_action).
enum XdpAction : uint32_t {
  kXdpAborted = 0,
  kXdpDrop = 1,
  kXdpPass = 2,
  kXdpTx = 3,
  kXdpRedirect = 4,
};

// Map types (enum bpf_map_type) that vigil implements.
enum MapType : uint32_t {
  kMapHash = 1,
  kMapArray = 2,
  kMapProgArray = 3,
  kMapPerfEventArray = 4,
  kMapPerCpuHash = 5,
  kMapPerCpuArray = 6,
  kMapLruHash = 9,
  kMapLpmTrie = 11,
  kMapDevmap = 14,
  kMapCpumap = 16,
  kMapXskmap = 17,
  kMapDevmapHash = 25,
  kMapRingbuf = 27,
};

// Map update flags (BPF_ANY, BPF_NOEXIST, BPF_EXIST).
inline constexpr uint64_t kUpdateAny = 0, kUpdateNoExist = 1, kUpdateExist = 2;

// errno values, returned negated by helpers and map operations as the kernel does.
inline constexpr int64_t kENOENT = 2, kE2BIG = 7, kEAGAIN = 11, kENOMEM = 12, kEFAULT = 14,
                         kEBUSY = 16, kEEXIST = 17, kEINVAL = 22, kENOSPC = 28, kEOPNOTSUPP = 95,
                         kEAFNOSUPPORT = 97;

// A one-line rendering of an instruction for error messages, e.g. "op 0x07 dst r1 src r0 off 0
// imm 5".
[[nodiscard]] std::string Describe(const Insn& insn);

}  // namespace vigil::ebpf

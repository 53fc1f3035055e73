// The abstract state the verifier keeps for one path through a program: registers and stack of
// every active call frame. See verifier.h for the whole design.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "ebpf/isa.h"
#include "ebpf/verifier/scalar.h"

namespace vigil::ebpf::verifier {

enum class Type : uint8_t {
  kNotInit,           // never written on this path
  kScalar,            // a number
  kCtx,               // struct xdp_md *
  kPacket,            // data + off + var, with `range` bytes proven below data_end
  kPacketMeta,        // data_meta + off + var, with `range` bytes proven below data
  kPacketEnd,         // data_end
  kStack,             // frame pointer of frame `frame` + off + var
  kMapValue,          // value of map `map` + off + var
  kMapValueOrNull,    // a lookup result of map `map` not yet compared with 0
  kMapPtr,            // map `map` itself (the first argument of map helpers)
  kRingbufMem,        // a record reserved in ring buffer `map`, `range` bytes, reference `id`
  kRingbufMemOrNull,  // bpf_ringbuf_reserve's result not yet compared with 0
};

[[nodiscard]] inline bool IsPointer(Type t) { return t != Type::kNotInit && t != Type::kScalar; }
[[nodiscard]] inline bool MaybeNull(Type t) {
  return t == Type::kMapValueOrNull || t == Type::kRingbufMemOrNull;
}

struct Reg {
  Type type = Type::kNotInit;
  uint8_t frame = 0;  // kStack: which frame's stack
  uint16_t map = 0;   // kMapValue, kMapValueOrNull, kMapPtr: index into Options::maps
  int32_t off = 0;    // pointers: the fixed offset
  // Scalars: copies of one value share an id, so a comparison of one bounds all. Packet pointers:
  // pointers with the same variable part share an id and the proven range. Lookup results: the
  // copies of one result share an id, so one NULL check settles all.
  uint32_t id = 0;
  int32_t range = 0;  // kPacket/kPacketMeta: bytes proven from data (+ var); kRingbufMem: size
  int32_t invalidated_at =
      -1;        // scalars that were packet pointers: the adjust call that ended them
  Scalar value;  // scalars: the value; pointers: the variable offset
  // Scalars made from the low 32 bits of packet pointers (`w1 = w2` of data_end, as clang emits
  // `(u32)(data_end - data)` for -mcpu=v3): an address a tenant may not see. Only the difference
  // of two of them is an ordinary number (a length); anything else that would let the value out
  // (a store to a map or the packet, a helper argument, a branch, r0) is refused.
  bool address = false;

  [[nodiscard]] static Reg Number(Scalar v) {
    Reg r;
    r.type = Type::kScalar;
    r.value = v;
    return r;
  }
  [[nodiscard]] static Reg Pointer(Type t, int32_t off = 0) {
    Reg r;
    r.type = t;
    r.off = off;
    r.value = Scalar::Const(0);
    return r;
  }
};

constexpr int kSlots = kStackSize / 8;

// A register saved to the stack whole (8 bytes, any type) or narrowed (1, 2 or 4 bytes of a
// number, at the start of its slot: `*(u32 *)(r10 - 16) = r1`), so that loading it back gives the
// register again rather than an unknown number.
struct Spill {
  uint8_t slot;
  uint8_t size;
  Reg reg;
};

struct Frame {
  std::array<Reg, kNumRegisters> regs;    // r10 is not stored: it is always fp of this frame
  std::array<uint8_t, kSlots> written{};  // per 8-byte slot, bit b: byte b was written
  std::array<uint8_t, kSlots> zero{};     // per slot, bit b: byte b holds a stored 0
  std::vector<Spill> spills;              // slots that hold a whole register, sorted by slot
  int32_t callsite = -1;                  // the call instruction that made this frame
  int32_t function = 0;                   // the first instruction of this frame's function
  int32_t depth = 0;                      // deepest stack byte used, in bytes below fp

  [[nodiscard]] const Spill* FindSpill(int slot) const {
    for (const Spill& s : spills)
      if (s.slot == slot) return &s;
    return nullptr;
  }
  void SetSpill(int slot, const Reg& r, int size) {
    for (Spill& s : spills)
      if (s.slot == slot) {
        s.reg = r;
        s.size = uint8_t(size);
        return;
      }
    auto it = spills.begin();
    while (it != spills.end() && it->slot < slot) ++it;
    spills.insert(it, Spill{uint8_t(slot), uint8_t(size), r});
  }
  void EraseSpill(int slot) {
    for (auto it = spills.begin(); it != spills.end(); ++it)
      if (it->slot == slot) {
        spills.erase(it);
        return;
      }
  }
};

// A ring buffer record this path reserved and has not yet submitted or discarded (the kernel's
// acquired references): every path must release it before the program exits.
struct Reference {
  uint32_t id;
  uint32_t pc;  // the bpf_ringbuf_reserve call
  bool operator==(const Reference&) const = default;
};

struct State {
  std::vector<Frame> frames;
  std::vector<Reference> refs;

  [[nodiscard]] Frame& top() { return frames.back(); }
  [[nodiscard]] const Frame& top() const { return frames.back(); }
  // Calls `f(Reg&)` for every register and spilled register of every frame.
  template <class F>
  void ForEachReg(F&& f) {
    for (Frame& fr : frames) {
      for (Reg& r : fr.regs) f(r);
      for (Spill& s : fr.spills) f(s.reg);
    }
  }
};

}  // namespace vigil::ebpf::verifier

// XDP (eXpress Data Path) programs in user space: the packet buffer with headroom, the context a
// program sees, and one call to run a program on one packet.
//
//   ebpf::XdpBuffer buf;
//   buf.Assign(frame);                                   // copies the frame after 256 bytes of
//   headroom auto verdict = ebpf::RunXdp(*prog, scratch, buf, {.ingress_ifindex = 3}); if (verdict
//   && verdict->action == ebpf::kXdpPass) Forward(buf.data());
//
// The kernel's struct xdp_md has 32-bit fields (data, data_end, data_meta, ingress_ifindex,
// rx_queue_index, egress_ifindex) that the kernel rewrites into pointer loads when it loads a
// program. vigil does the same: Program::Load with ProgramType::kXdp finds every load from the
// context (a forward data-flow pass tracks which registers and stack slots surely hold it) and
// rewrites `ldxw rX, [ctx+0]` into a 64-bit load from XdpContext below. A load that may or may not
// be from the context, depending on the path, is refused, as are stores into it.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "base/result.h"
#include "ebpf/isa.h"
#include "ebpf/program.h"
#include "ebpf/scratch.h"

namespace vigil::ebpf {

// What an XDP program's r1 points to at run time (the rewritten layout of struct xdp_md).
struct XdpContext {
  uint64_t data;
  uint64_t data_end;
  uint64_t data_meta;
  uint32_t ingress_ifindex;
  uint32_t rx_queue_index;
  uint32_t egress_ifindex;
  uint32_t reserved;
  // Not visible to programs: the buffer bounds the adjust helpers keep within.
  uint64_t hard_start;
  uint64_t hard_end;
};

// Maps a load of `size` bytes at struct xdp_md offset `off` to the XdpContext field: returns false
// when the access is not a valid xdp_md field load.
[[nodiscard]] bool XdpContextField(int32_t off, uint32_t size, int16_t* new_off, uint8_t* new_size);

// Rewrites context loads in `insns` (see the header comment); fails naming the instruction.
[[nodiscard]] base::Status RewriteXdpContextAccess(std::vector<Insn>& insns);

// One packet: kHeadroom bytes before the frame for bpf_xdp_adjust_head/meta, tailroom after it for
// bpf_xdp_adjust_tail.
class XdpBuffer {
 public:
  static constexpr size_t kHeadroom = 256;  // XDP_PACKET_HEADROOM
  static constexpr size_t kTailroom = 256;

  XdpBuffer() = default;
  // Copies `frame` in and resets data_meta = data.
  void Assign(std::span<const uint8_t> frame);

  [[nodiscard]] std::span<uint8_t> data() {
    return {reinterpret_cast<uint8_t*>(ctx_.data), size_t(ctx_.data_end - ctx_.data)};
  }
  [[nodiscard]] std::span<uint8_t> meta() {
    return {reinterpret_cast<uint8_t*>(ctx_.data_meta), size_t(ctx_.data - ctx_.data_meta)};
  }
  [[nodiscard]] XdpContext& context() { return ctx_; }

 private:
  std::vector<uint8_t> storage_;
  XdpContext ctx_{};
};

struct XdpRxInfo {
  uint32_t ingress_ifindex = 0;
  uint32_t rx_queue_index = 0;
};

struct XdpVerdict {
  XdpAction action = kXdpAborted;
  uint32_t redirect_ifindex = 0;  // for kXdpRedirect to an interface (else 0)
  RedirectTarget redirect;        // for kXdpRedirect: an interface, a CPU or an AF_XDP socket
  uint64_t raw = 0;               // r0 as the program returned it
};

// RunXdp's path for every program but a lean one's machine code: out of line.
[[nodiscard]] base::Result<XdpVerdict> RunXdpFull(const Program& program, Scratch& scratch,
                                                  XdpContext& ctx);

// Runs `program` (type kXdp) on `buffer`. A return value outside 0..4 reads as kXdpAborted (the
// kernel warns and drops). Fails only when a checked run fails. Inline: for a lean program
// (Program::lean_entry: it calls no helper, so it can neither fail nor redirect to a target) the
// run is the context's set-up and one call, nothing of the Scratch but its stack.
[[nodiscard]] inline base::Result<XdpVerdict> RunXdp(const Program& program, Scratch& scratch,
                                                     XdpBuffer& buffer, const XdpRxInfo& rx = {}) {
  XdpContext& ctx = buffer.context();
  ctx.ingress_ifindex = rx.ingress_ifindex;
  ctx.rx_queue_index = rx.rx_queue_index;
  ctx.egress_ifindex = 0;
  if (const JitEntry lean = program.lean_entry(); lean != nullptr && scratch.runs_jit())
      [[likely]] {
    const uint64_t r0 = lean(nullptr, uint64_t(&ctx), 0, scratch.stack_top());
    return XdpVerdict{.action = r0 <= kXdpRedirect ? XdpAction(r0) : kXdpAborted, .raw = r0};
  }
  return RunXdpFull(program, scratch, ctx);
}

}  // namespace vigil::ebpf

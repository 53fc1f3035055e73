#include "ebpf/helpers.h"

#include <time.h>

#include <algorithm>
#include <cstring>

#include "ebpf/fib.h"
#include "ebpf/maps.h"
#include "ebpf/program.h"
#include "ebpf/scratch.h"
#include "ebpf/syncookie.h"
#include "ebpf/xdp.h"
#include "fmt/format.h"

namespace vigil::ebpf {
namespace {

// sizeof(struct xdp_frame): the kernel keeps it at the start of the headroom, so programs can
// never move data or data_meta below hard_start + this.
constexpr uint64_t kXdpFrameReserve = 40;
constexpr uint64_t kEthHeaderLen = 14;

// In checked mode, fails the run unless `map` is one of the program's maps and [p, p+size) is
// readable.
bool CheckMapArgs(Scratch& s, uint64_t map, uint64_t key, const char* helper) {
  if (!s.config().checked) return true;
  if (!s.IsMap(map)) {
    s.Fail(fmt::format("{}: r1 {:#x} is not a map of this program", helper, map));
    return false;
  }
  const Map* m = reinterpret_cast<const Map*>(map);
  if (!s.CanRead(key, m->spec().key_size)) {
    s.Fail(
        fmt::format("{}: key {:#x} ({} bytes) is not readable", helper, key, m->spec().key_size));
    return false;
  }
  return true;
}

uint64_t MapLookupElem(Scratch& s, uint64_t map, uint64_t key, uint64_t, uint64_t, uint64_t) {
  if (!CheckMapArgs(s, map, key, "bpf_map_lookup_elem")) return 0;
  return uint64_t(
      reinterpret_cast<Map*>(map)->Lookup(reinterpret_cast<const void*>(key), s.config().cpu));
}

uint64_t MapUpdateElem(Scratch& s, uint64_t map, uint64_t key, uint64_t value, uint64_t flags,
                       uint64_t) {
  if (!CheckMapArgs(s, map, key, "bpf_map_update_elem")) return 0;
  Map* m = reinterpret_cast<Map*>(map);
  if (s.config().checked && !s.CanRead(value, m->spec().value_size)) {
    s.Fail(fmt::format("bpf_map_update_elem: value {:#x} is not readable", value));
    return 0;
  }
  return uint64_t(m->Update(reinterpret_cast<const void*>(key),
                            reinterpret_cast<const void*>(value), flags, s.config().cpu));
}

uint64_t MapDeleteElem(Scratch& s, uint64_t map, uint64_t key, uint64_t, uint64_t, uint64_t) {
  if (!CheckMapArgs(s, map, key, "bpf_map_delete_elem")) return 0;
  return uint64_t(reinterpret_cast<Map*>(map)->Delete(reinterpret_cast<const void*>(key)));
}

uint64_t ClockNs(const Scratch& s, clockid_t clock) {
  if (s.config().clock_ns != 0) return s.config().clock_ns;
  timespec ts;
  clock_gettime(clock, &ts);
  return uint64_t(ts.tv_sec) * 1'000'000'000ull + uint64_t(ts.tv_nsec);
}

uint64_t KtimeGetNs(Scratch& s, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t) {
  return ClockNs(s, CLOCK_MONOTONIC);
}

uint64_t KtimeGetBootNs(Scratch& s, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t) {
  return ClockNs(s, CLOCK_BOOTTIME);
}

// bpf_trace_printk(fmt, fmt_size, arg1, arg2, arg3): the kernel's subset of printf — %d %i %u %x
// %X with l/ll, %p, %c, %s and %% — at most three arguments.
uint64_t TracePrintk(Scratch& s, uint64_t fmt_ptr, uint64_t fmt_size, uint64_t a1, uint64_t a2,
                     uint64_t a3) {
  if (fmt_size == 0 || fmt_size > 1024) return uint64_t(-kEINVAL);
  if (s.config().checked && !s.CanRead(fmt_ptr, fmt_size)) {
    s.Fail(fmt::format("bpf_trace_printk: format {:#x} ({} bytes) is not readable", fmt_ptr,
                       fmt_size));
    return 0;
  }
  const char* f = reinterpret_cast<const char*>(fmt_ptr);
  if (f[fmt_size - 1] != '\0') return uint64_t(-kEINVAL);
  const uint64_t args[3] = {a1, a2, a3};
  int next_arg = 0;
  std::string out;
  for (size_t i = 0; f[i] != '\0'; ++i) {
    if (f[i] != '%') {
      out.push_back(f[i]);
      continue;
    }
    ++i;
    if (f[i] == '%') {
      out.push_back('%');
      continue;
    }
    int longs = 0;
    while (f[i] == 'l' && longs < 2) {
      ++longs;
      ++i;
    }
    if (next_arg >= 3) return uint64_t(-kEINVAL);
    const uint64_t v = args[next_arg++];
    switch (f[i]) {
      case 'd':
      case 'i':
        out += longs ? fmt::format("{}", int64_t(v)) : fmt::format("{}", int32_t(v));
        break;
      case 'u':
        out += longs ? fmt::format("{}", v) : fmt::format("{}", uint32_t(v));
        break;
      case 'x':
        out += longs ? fmt::format("{:x}", v) : fmt::format("{:x}", uint32_t(v));
        break;
      case 'X':
        out += longs ? fmt::format("{:X}", v) : fmt::format("{:X}", uint32_t(v));
        break;
      case 'p':
        out += fmt::format("{:#x}", v);
        break;
      case 'c':
        out.push_back(char(v));
        break;
      case 's': {
        // Read up to 64 bytes, each checked — in fast mode too: the verifier cannot know that a
        // number passed for %s is an address the program may read — stopping at NUL.
        for (uint64_t p = v; p < v + 64; ++p) {
          if (!s.CanRead(p, 1)) break;
          char c = *reinterpret_cast<const char*>(p);
          if (c == '\0') break;
          out.push_back(c);
        }
        break;
      }
      default:
        return uint64_t(-kEINVAL);
    }
    if (f[i] == '\0') break;
  }
  s.AppendTrace(out);
  return out.size();
}

uint64_t GetPrandomU32(Scratch& s, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t) {
  return uint32_t(s.NextRandom() >> 32);
}

uint64_t GetSmpProcessorId(Scratch& s, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t) {
  return s.config().cpu;
}

// bpf_tail_call(ctx, prog_array, index): on success the interpreter jumps into the target and
// never comes back here; on failure (no such entry, 33 tail calls already) the caller goes on.
uint64_t TailCall(Scratch& s, uint64_t ctx, uint64_t map, uint64_t index, uint64_t, uint64_t) {
  if (s.config().checked && !s.IsMap(map)) {
    s.Fail(fmt::format("bpf_tail_call: r2 {:#x} is not a map of this program", map));
    return 0;
  }
  const Map* m = reinterpret_cast<const Map*>(map);
  if (m->type() != kMapProgArray) return uint64_t(-kEINVAL);
  const Program* target = static_cast<const ProgramArray*>(m)->Get(uint32_t(index));
  if (target == nullptr || index > UINT32_MAX) return uint64_t(-kENOENT);
  // As the kernel ties a program array to one program type: a verified program's tail call
  // reaches only programs of its type that were verified too, never code nobody checked.
  if (s.program != nullptr && s.program->verified() &&
      (target->type() != s.program->type() || !target->verified()))
    return uint64_t(-kEINVAL);
  if (s.tail_calls >= kMaxTailCalls) return uint64_t(-kENOENT);
  ++s.tail_calls;
  s.tail_target = target;
  s.pending = true;
  return ctx;
}

uint64_t Redirect(Scratch& s, uint64_t ifindex, uint64_t flags, uint64_t, uint64_t, uint64_t) {
  if (flags != 0) return kXdpAborted;
  s.redirect_ifindex = uint32_t(ifindex);
  s.redirect = {.kind = RedirectKind::kIfindex, .value = uint32_t(ifindex)};
  return kXdpRedirect;
}

XdpContext* XdpCtx(Scratch& s, uint64_t ctx, const char* helper);

uint64_t RedirectMap(Scratch& s, uint64_t map, uint64_t key, uint64_t flags, uint64_t, uint64_t) {
  if (s.config().checked && !s.IsMap(map)) {
    s.Fail(fmt::format("bpf_redirect_map: r1 {:#x} is not a map of this program", map));
    return 0;
  }
  constexpr uint64_t kActionMask = 3;                      // BPF_F_ACTION_MASK: the fallback action
  constexpr uint64_t kBroadcastFlags = 1u << 3 | 1u << 4;  // BPF_F_BROADCAST, EXCLUDE_INGRESS
  if (flags & ~(kActionMask | kBroadcastFlags)) return kXdpAborted;
  Map* m = reinterpret_cast<Map*>(map);
  // The kernel takes the key as a u32 (the helper's prototype); the entry decides the target.
  const uint32_t k = uint32_t(key);
  RedirectTarget t{.key = k, .map = m};
  const uint8_t* v = nullptr;
  switch (m->type()) {
    case kMapDevmap:
    case kMapDevmapHash:
      t.kind = RedirectKind::kIfindex;
      v = static_cast<const uint8_t*>(m->Lookup(&k, s.config().cpu));
      if (v != nullptr) std::memcpy(&t.value, v, 4);
      break;
    case kMapCpumap:
      t.kind = RedirectKind::kCpu;
      t.value = k;
      v = static_cast<const uint8_t*>(m->Lookup(&k, s.config().cpu));
      break;
    case kMapXskmap:
      t.kind = RedirectKind::kXskQueue;
      v = static_cast<const uint8_t*>(m->Lookup(&k, s.config().cpu));
      if (v != nullptr) std::memcpy(&t.value, v, 4);
      break;
    default:
      break;
  }
  if (v == nullptr) return flags & kActionMask;
  s.redirect = t;
  s.redirect_ifindex = t.kind == RedirectKind::kIfindex ? t.value : 0;
  return kXdpRedirect;
}

// bpf_perf_event_output(ctx, map, flags, data, size): a record of `size` bytes of `data`, then the
// first (flags >> 32) bytes of the packet (BPF_F_CTXLEN_MASK, as the kernel's XDP variant), for
// index (flags & 0xffffffff), or the current processor when that is BPF_F_CURRENT_CPU.
uint64_t PerfEventOutput(Scratch& s, uint64_t ctx, uint64_t map, uint64_t flags, uint64_t data,
                         uint64_t size) {
  constexpr uint64_t kIndexMask = 0xffffffffull, kCtxLenMask = 0xfffffull << 32;
  XdpContext* x = XdpCtx(s, ctx, "bpf_perf_event_output");
  if (s.config().checked && !s.IsMap(map)) {
    s.Fail(fmt::format("bpf_perf_event_output: r2 {:#x} is not a map of this program", map));
    return 0;
  }
  if (s.config().checked && size != 0 && !s.CanRead(data, size)) {
    s.Fail(fmt::format("bpf_perf_event_output: data {:#x} ({} bytes) is not readable", data, size));
    return 0;
  }
  Map* m = reinterpret_cast<Map*>(map);
  if (m->type() != kMapPerfEventArray) return uint64_t(-kEINVAL);
  if (flags & ~(kIndexMask | kCtxLenMask)) return uint64_t(-kEINVAL);
  const uint64_t packet_bytes = (flags & kCtxLenMask) >> 32;
  if (x == nullptr || packet_bytes > x->data_end - x->data) return uint64_t(-kEFAULT);
  uint32_t index = uint32_t(flags & kIndexMask);
  if (index == uint32_t(kIndexMask)) index = s.config().cpu;
  return uint64_t(static_cast<PerfEventArray*>(m)->Output(
      index, {reinterpret_cast<const uint8_t*>(data), size_t(size)},
      {reinterpret_cast<const uint8_t*>(x->data), size_t(packet_bytes)}));
}

RingBuffer* AsRingBuffer(Scratch& s, uint64_t map, const char* helper) {
  if (s.config().checked && !s.IsMap(map)) {
    s.Fail(fmt::format("{}: r1 {:#x} is not a map of this program", helper, map));
    return nullptr;
  }
  Map* m = reinterpret_cast<Map*>(map);
  return m->type() == kMapRingbuf ? static_cast<RingBuffer*>(m) : nullptr;
}

uint64_t RingbufOutput(Scratch& s, uint64_t map, uint64_t data, uint64_t size, uint64_t flags,
                       uint64_t) {
  RingBuffer* rb = AsRingBuffer(s, map, "bpf_ringbuf_output");
  if (rb == nullptr) return uint64_t(-kEINVAL);
  if (s.config().checked && size != 0 && !s.CanRead(data, size)) {
    s.Fail(fmt::format("bpf_ringbuf_output: data {:#x} ({} bytes) is not readable", data, size));
    return 0;
  }
  return uint64_t(rb->Output({reinterpret_cast<const uint8_t*>(data), size_t(size)}, flags));
}

uint64_t RingbufReserve(Scratch& s, uint64_t map, uint64_t size, uint64_t flags, uint64_t,
                        uint64_t) {
  RingBuffer* rb = AsRingBuffer(s, map, "bpf_ringbuf_reserve");
  return rb == nullptr ? 0 : uint64_t(rb->Reserve(size, flags));
}

// bpf_ringbuf_submit and bpf_ringbuf_discard: the record's ring is found from the program's maps
// (the kernel finds it from the record's header), so a forged pointer is never written through.
uint64_t RingbufCommit(Scratch& s, uint64_t record, bool discard, const char* helper) {
  if (s.program != nullptr) {
    for (const auto& m : s.program->maps()) {
      if (m->type() == kMapRingbuf &&
          static_cast<RingBuffer*>(m.get())->Commit(reinterpret_cast<uint8_t*>(record), discard))
        return 0;
    }
  }
  if (s.config().checked)
    s.Fail(fmt::format("{}: {:#x} is not a reserved ring buffer record", helper, record));
  return 0;
}

uint64_t RingbufSubmit(Scratch& s, uint64_t record, uint64_t, uint64_t, uint64_t, uint64_t) {
  return RingbufCommit(s, record, false, "bpf_ringbuf_submit");
}

uint64_t RingbufDiscard(Scratch& s, uint64_t record, uint64_t, uint64_t, uint64_t, uint64_t) {
  return RingbufCommit(s, record, true, "bpf_ringbuf_discard");
}

// bpf_fib_lookup(ctx, params, plen, flags): a forward lookup in the host's tables (fib.h).
uint64_t FibLookup(Scratch& s, uint64_t ctx, uint64_t params, uint64_t plen, uint64_t flags,
                   uint64_t) {
  (void)XdpCtx(s, ctx, "bpf_fib_lookup");
  if (plen < sizeof(FibParams)) return uint64_t(-kEINVAL);
  if (s.config().checked && !s.CanWrite(params, sizeof(FibParams))) {
    s.Fail(fmt::format("bpf_fib_lookup: params {:#x} ({} bytes) is not writable", params, plen));
    return 0;
  }
  FibParams p;
  std::memcpy(&p, reinterpret_cast<const void*>(params), sizeof(p));
  const int64_t rc = FibTable::Host()->Lookup(p, flags);
  std::memcpy(reinterpret_cast<void*>(params), &p, sizeof(p));
  return uint64_t(rc);
}

uint64_t RingbufQuery(Scratch& s, uint64_t map, uint64_t flags, uint64_t, uint64_t, uint64_t) {
  RingBuffer* rb = AsRingBuffer(s, map, "bpf_ringbuf_query");
  return rb == nullptr ? 0 : rb->Query(flags);
}

// bpf_csum_diff(from, from_size, to, to_size, seed): the 32-bit ones'-complement sum of `to`
// minus `from`, plus `seed` (unfolded, as csum_partial returns it). Sizes are multiples of 4, at
// most 512 bytes together.
uint64_t CsumDiff(Scratch& s, uint64_t from, uint64_t from_size, uint64_t to, uint64_t to_size,
                  uint64_t seed) {
  if (((from_size | to_size) & 3) || from_size + to_size > 512) return uint64_t(-kEINVAL);
  if (s.config().checked &&
      ((from_size && !s.CanRead(from, from_size)) || (to_size && !s.CanRead(to, to_size)))) {
    s.Fail("bpf_csum_diff: buffer is not readable");
    return 0;
  }
  uint64_t sum = uint32_t(seed);
  for (uint64_t i = 0; i < from_size; i += 4) {
    uint32_t w;
    std::memcpy(&w, reinterpret_cast<const uint8_t*>(from) + i, 4);
    sum += uint32_t(~w);
  }
  for (uint64_t i = 0; i < to_size; i += 4) {
    uint32_t w;
    std::memcpy(&w, reinterpret_cast<const uint8_t*>(to) + i, 4);
    sum += w;
  }
  while (sum >> 32) sum = (sum & 0xffffffff) + (sum >> 32);
  return sum;
}

XdpContext* XdpCtx(Scratch& s, uint64_t ctx, const char* helper) {
  if (s.xdp == nullptr || ctx != uint64_t(s.xdp)) {
    if (s.config().checked) s.Fail(fmt::format("{}: r1 is not the XDP context", helper));
    return s.xdp;  // fast mode: trust, but never use a foreign pointer
  }
  return s.xdp;
}

uint64_t XdpAdjustHead(Scratch& s, uint64_t ctx, uint64_t offset, uint64_t, uint64_t, uint64_t) {
  XdpContext* x = XdpCtx(s, ctx, "bpf_xdp_adjust_head");
  if (x == nullptr) return uint64_t(-kEINVAL);
  const int64_t off = int32_t(offset);
  const uint64_t metalen = x->data - x->data_meta;
  const uint64_t data = x->data + off;
  if (data < x->hard_start + kXdpFrameReserve + metalen || data > x->data_end - kEthHeaderLen) {
    return uint64_t(-kEINVAL);
  }
  if (metalen) {
    std::memmove(reinterpret_cast<void*>(x->data_meta + off),
                 reinterpret_cast<const void*>(x->data_meta), metalen);
  }
  x->data_meta += off;
  x->data = data;
  return 0;
}

uint64_t XdpAdjustMeta(Scratch& s, uint64_t ctx, uint64_t offset, uint64_t, uint64_t, uint64_t) {
  XdpContext* x = XdpCtx(s, ctx, "bpf_xdp_adjust_meta");
  if (x == nullptr) return uint64_t(-kEINVAL);
  const uint64_t meta = x->data_meta + int64_t(int32_t(offset));
  if (meta < x->hard_start + kXdpFrameReserve || meta > x->data) return uint64_t(-kEINVAL);
  const uint64_t metalen = x->data - meta;
  if ((metalen & 3) || metalen > 32) return uint64_t(-13);  // -EACCES, as the kernel
  x->data_meta = meta;
  return 0;
}

uint64_t XdpAdjustTail(Scratch& s, uint64_t ctx, uint64_t offset, uint64_t, uint64_t, uint64_t) {
  XdpContext* x = XdpCtx(s, ctx, "bpf_xdp_adjust_tail");
  if (x == nullptr) return uint64_t(-kEINVAL);
  const int64_t off = int32_t(offset);
  const uint64_t end = x->data_end + off;
  if (end > x->hard_end || end < x->data + kEthHeaderLen) return uint64_t(-kEINVAL);
  // Growing exposes bytes the program has not written: zero them, as the kernel does.
  if (off > 0) std::memset(reinterpret_cast<void*>(x->data_end), 0, size_t(off));
  x->data_end = end;
  return 0;
}

}  // namespace

void HelperTable::Set(int32_t id, std::string name, HelperFn fn) {
  if (id < 0) return;
  if (fns_.size() <= size_t(id)) {
    fns_.resize(size_t(id) + 1);
    names_.resize(size_t(id) + 1);
  }
  fns_[id] = fn;
  names_[id] = std::move(name);
}

std::string_view HelperTable::Name(int64_t id) const {
  return id >= 0 && uint64_t(id) < names_.size() ? std::string_view(names_[id]) : "";
}

const HelperTable& HelperTable::Kernel() {
  static const HelperTable table = [] {
    HelperTable t;
    t.Set(kHelperMapLookupElem, "bpf_map_lookup_elem", MapLookupElem);
    t.Set(kHelperMapUpdateElem, "bpf_map_update_elem", MapUpdateElem);
    t.Set(kHelperMapDeleteElem, "bpf_map_delete_elem", MapDeleteElem);
    t.Set(kHelperKtimeGetNs, "bpf_ktime_get_ns", KtimeGetNs);
    t.Set(kHelperTracePrintk, "bpf_trace_printk", TracePrintk);
    t.Set(kHelperGetPrandomU32, "bpf_get_prandom_u32", GetPrandomU32);
    t.Set(kHelperGetSmpProcessorId, "bpf_get_smp_processor_id", GetSmpProcessorId);
    t.Set(kHelperTailCall, "bpf_tail_call", TailCall);
    t.Set(kHelperRedirect, "bpf_redirect", Redirect);
    t.Set(kHelperCsumDiff, "bpf_csum_diff", CsumDiff);
    t.Set(kHelperXdpAdjustHead, "bpf_xdp_adjust_head", XdpAdjustHead);
    t.Set(kHelperRedirectMap, "bpf_redirect_map", RedirectMap);
    t.Set(kHelperXdpAdjustMeta, "bpf_xdp_adjust_meta", XdpAdjustMeta);
    t.Set(kHelperXdpAdjustTail, "bpf_xdp_adjust_tail", XdpAdjustTail);
    t.Set(kHelperKtimeGetBootNs, "bpf_ktime_get_boot_ns", KtimeGetBootNs);
    t.Set(kHelperFibLookup, "bpf_fib_lookup", FibLookup);
    t.Set(kHelperPerfEventOutput, "bpf_perf_event_output", PerfEventOutput);
    t.Set(kHelperRingbufOutput, "bpf_ringbuf_output", RingbufOutput);
    t.Set(kHelperRingbufReserve, "bpf_ringbuf_reserve", RingbufReserve);
    t.Set(kHelperRingbufSubmit, "bpf_ringbuf_submit", RingbufSubmit);
    t.Set(kHelperRingbufDiscard, "bpf_ringbuf_discard", RingbufDiscard);
    t.Set(kHelperRingbufQuery, "bpf_ringbuf_query", RingbufQuery);
    AddSyncookieHelpers(t);
    return t;
  }();
  return table;
}

}  // namespace vigil::ebpf

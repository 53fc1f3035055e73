#include "net/af_xdp.h"

#include <bpf/libbpf.h>
#include <errno.h>
#include <fmt/format.h>
#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/if_xdp.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <xdp/libxdp.h>
#include <xdp/xsk.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdarg>
#include <cstring>
#include <mutex>
#include <vector>

namespace vigil::net {
namespace {

constexpr uint32_t kRingSize = kAfXdpFrames / 2;  // every ring; one receive frame a fill slot
constexpr uint32_t kRxFrames = kAfXdpFrames / 2;
// Bounds on the packet path's system calls: sendto calls one kick may make while the device
// pushes back, and kicks one Transmit may spend waiting for a free transmit frame.
constexpr size_t kKickCalls = 64;
constexpr size_t kFrameWaits = 16;

// libxdp and libbpf report why an attach failed through print callbacks, not through errno;
// their last warning is kept to complete our message, and nothing is printed (libbpf would
// print notes on every open). Opening ports is rare and serialized here.
std::mutex print_mu;
std::string last_warning;

void KeepWarning(const char* format, va_list args) {
  char buf[512];
  vsnprintf(buf, sizeof buf, format, args);
  last_warning.assign(buf);
  while (!last_warning.empty() && last_warning.back() == '\n') last_warning.pop_back();
}
int LibxdpPrint(libxdp_print_level level, const char* format, va_list args) {
  if (level == LIBXDP_WARN) KeepWarning(format, args);
  return 0;
}
int LibbpfPrint(libbpf_print_level level, const char* format, va_list args) {
  if (level == LIBBPF_WARN) KeepWarning(format, args);
  return 0;
}

// Routes both libraries' messages to the callbacks above while it lives; hold print_mu.
struct QuietLibraries {
  libxdp_print_fn_t xdp = libxdp_set_print(LibxdpPrint);
  libbpf_print_fn_t bpf = libbpf_set_print(LibbpfPrint);
  ~QuietLibraries() {
    libxdp_set_print(xdp);
    libbpf_set_print(bpf);
  }
};

base::Error ErrnoError(const std::string& interface, const std::string& what, int err) {
  std::string msg = fmt::format("{}: {}: {}", interface, what, std::strerror(err));
  if (err == EPERM || err == EACCES) {
    msg += " (AF_XDP needs root or the CAP_NET_ADMIN, CAP_NET_RAW and CAP_BPF capabilities)";
  }
  if (!last_warning.empty()) msg += " (" + last_warning + ")";
  return base::Error{msg};
}

// An ethtool request on `interface`, answered in `data`; false when the driver lacks it.
bool Ethtool(const std::string& interface, void* data) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, interface.c_str(), IFNAMSIZ - 1);
  ifr.ifr_data = static_cast<char*>(data);
  bool ok = ioctl(fd, SIOCETHTOOL, &ifr) == 0;
  close(fd);
  return ok;
}

// Receive queues in use: ETHTOOL_GCHANNELS's combined plus receive-only channels (read with an
// ioctl, not from /sys/class/net, which shows the namespace sysfs was mounted in). 1 when the
// driver does not report channels; the kernel's bind then checks the queue itself.
uint32_t ReceiveQueues(const std::string& interface) {
  ethtool_channels ch{};
  ch.cmd = ETHTOOL_GCHANNELS;
  if (!Ethtool(interface, &ch)) return 1;
  return std::max<uint32_t>(ch.combined_count + ch.rx_count, 1);
}

uint16_t Load16(const uint8_t* p) { return uint16_t(p[0] << 8 | p[1]); }

// The one's-complement sum of big-endian 16-bit words (RFC 1071), not folded; an odd last byte
// is padded with a zero.
uint64_t Sum16(const uint8_t* p, size_t n, uint64_t sum = 0) {
  for (; n >= 2; p += 2, n -= 2) sum += Load16(p);
  if (n != 0) sum += uint16_t(p[0] << 8);
  return sum;
}

uint16_t Fold(uint64_t sum) {
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
  return uint16_t(sum);
}

// A TCP or UDP frame whose sender left the checksum to the device (CHECKSUM_PARTIAL): the stack
// stores the pseudo-header's folded sum in the checksum field and the device is to add the
// segment. veth hands such frames to XDP as they are, with no mark (AF_PACKET would have a
// virtio header saying so), so they are recognized by that field. A complete checksum equal to
// the pseudo-header sum (one frame in 65,536) is taken for partial too, harmlessly: finishing
// it gives the same value. Sets the Offload as AF_PACKET's virtio header would (offsets from
// the frame's start), so either backend's Transmit finishes it.
void MarkPartialChecksum(Frame& f) {
  const uint8_t* p = f.data;
  size_t len = f.caplen;
  size_t at = 12;
  uint16_t type = len >= 14 ? Load16(p + at) : 0;
  for (int tags = 0; (type == 0x8100 || type == 0x88a8) && tags < 2 && len >= at + 6; ++tags) {
    at += 4;
    type = Load16(p + at);
  }
  at += 2;
  uint64_t pseudo = 0;
  uint8_t proto = 0;
  size_t l4 = 0, l4_len = 0;
  if (type == 0x0800 && len >= at + 20) {
    const uint8_t* ip = p + at;
    size_t ihl = size_t(ip[0] & 0x0f) * 4;
    size_t total = Load16(ip + 2);
    // A fragment's checksum covers the whole datagram: never left partial.
    if ((ip[0] >> 4) != 4 || ihl < 20 || total < ihl || at + total > len ||
        (Load16(ip + 6) & 0x3fff) != 0) {
      return;
    }
    proto = ip[9];
    l4 = at + ihl;
    l4_len = total - ihl;
    pseudo = Sum16(ip + 12, 8, proto + l4_len);
  } else if (type == 0x86dd && len >= at + 40) {
    const uint8_t* ip = p + at;
    // Only a transport header right after the fixed header: local stacks add no extension
    // headers to TCP and UDP.
    proto = ip[6];
    l4 = at + 40;
    l4_len = Load16(ip + 4);
    if (l4 + l4_len > len) return;
    pseudo = Sum16(ip + 8, 32, proto + l4_len);
  } else {
    return;
  }
  uint16_t field_at;
  if (proto == 6 && l4_len >= 20) {
    field_at = 16;
  } else if (proto == 17 && l4_len >= 8) {
    field_at = 6;
  } else {
    return;
  }
  uint16_t field = Load16(p + l4 + field_at);
  uint16_t want = Fold(pseudo);
  // 0 and 0xffff are the same number in one's complement.
  if (field != want && !(want == 0xffff && field == 0) && !(want == 0 && field == 0xffff)) return;
  if (proto == 17 && field == 0) return;  // UDP over IPv4 without a checksum
  f.checksum_partial = true;
  f.offload.flags |= kNeedsCsum;
  f.offload.csum_start = uint16_t(l4);
  f.offload.csum_offset = field_at;
}

class AfXdpPort final : public Port {
 public:
  ~AfXdpPort() override {
    std::lock_guard lock(print_mu);
    QuietLibraries quiet;
    if (xsk_ != nullptr) xsk_socket__delete(xsk_);
    if (umem_ != nullptr) xsk_umem__delete(umem_);
    if (area_ != nullptr) munmap(area_, area_bytes_);
  }

  static base::Result<std::unique_ptr<Port>> Open(const PortOptions& o);

  bool Wait(int timeout_ms) override {
    if (TxPending()) {
      // Frames the device pushed back stay on the TX ring; sent now, they need not wait for
      // the next Transmit, which an idle link may not bring.
      Kick();
      if (TxPending()) timeout_ms = std::min(timeout_ms, 1);
    }
    if (Ready()) return true;
    if (timeout_ms <= 0) return false;
    if (busy_poll_) {
      // A zero-copy driver that ran out of fill frames waits for a system call to refill.
      auto kick = [&] {
        if (xsk_ring_prod__needs_wakeup(&fill_)) {
          (void)recvfrom(fd_, nullptr, 0, MSG_DONTWAIT, nullptr, nullptr);
        }
      };
      kick();
      return SpinWait(
          timeout_ms, [&] { return Ready(); }, kick);
    }
    pollfd p{.fd = fd_, .events = POLLIN, .revents = 0};
    ::poll(&p, 1, timeout_ms);
    return Ready();
  }

  size_t Receive(std::span<Frame> out) override {
    uint32_t idx = 0;
    uint32_t n = xsk_ring_cons__peek(&rx_, uint32_t(std::min<size_t>(out.size(), kRingSize)), &idx);
    if (n == 0) return 0;
    timespec now{};
    clock_gettime(CLOCK_REALTIME, &now);
    for (uint32_t i = 0; i < n; ++i) {
      const xdp_desc* d = xsk_ring_cons__rx_desc(&rx_, idx + i);
      // Aligned mode: the address is the frame's start plus the headroom the kernel left.
      held_.push_back(d->addr & ~uint64_t(kAfXdpFrameBytes - 1));
      out[i] = Frame{.data = area_ + d->addr,
                     .caplen = d->len,
                     .wirelen = d->len,
                     .ts = {.sec = int64_t(now.tv_sec), .nsec = uint32_t(now.tv_nsec)}};
      MarkPartialChecksum(out[i]);
    }
    // The descriptors are read; the frames stay ours (held_) until Release.
    xsk_ring_cons__release(&rx_, n);
    received_ += n;
    return n;
  }

  void Release() override {
    if (held_.empty()) return;
    uint32_t idx = 0;
    // Never short: the fill ring has a slot for every receive frame.
    uint32_t n = xsk_ring_prod__reserve(&fill_, uint32_t(held_.size()), &idx);
    for (uint32_t i = 0; i < n; ++i) *xsk_ring_prod__fill_addr(&fill_, idx + i) = held_[i];
    xsk_ring_prod__submit(&fill_, n);
    held_.clear();
  }

  bool Backlogged() const override { return Queued() > kRingSize / 4 * 3; }
  bool MoreWaiting() const override { return Queued() > 0; }

  size_t Transmit(std::span<const Frame> frames) override {
    Reclaim();
    size_t sent = 0;
    size_t kicks = 0;
    while (sent < frames.size()) {
      if (frames[sent].caplen > kAfXdpFrameBytes) {
        ++counters_.tx_errors;
        ++sent;
        continue;
      }
      if (free_tx_.empty()) {
        // Every transmit frame is in flight: the kernel returns them once the device (for
        // veth: the peer) has taken them.
        if (kicks++ == kFrameWaits) break;
        Kick();
        Reclaim();
        continue;
      }
      uint32_t want = 0;
      while (want < free_tx_.size() && sent + want < frames.size() &&
             frames[sent + want].caplen <= kAfXdpFrameBytes) {
        ++want;
      }
      uint32_t idx = 0;
      // Never short: a free transmit frame means a free TX ring slot (the ring is as large as
      // the pool, and a slot is freed before its frame is).
      uint32_t n = xsk_ring_prod__reserve(&tx_, want, &idx);
      for (uint32_t i = 0; i < n; ++i) {
        const Frame& f = frames[sent + i];
        uint64_t addr = free_tx_.back();
        free_tx_.pop_back();
        std::memcpy(area_ + addr, f.data, f.caplen);
        if ((f.offload.flags & kNeedsCsum) != 0)
          FinishChecksum({area_ + addr, f.caplen}, f.offload);
        xdp_desc* d = xsk_ring_prod__tx_desc(&tx_, idx + i);
        d->addr = addr;
        d->len = f.caplen;
        d->options = 0;
      }
      xsk_ring_prod__submit(&tx_, n);
      counters_.tx_packets += n;
      sent += n;
    }
    Kick();
    if (sent < frames.size()) counters_.tx_errors += frames.size() - sent;
    return sent;
  }

  void UpdateCounters() override {
    xdp_statistics st{};
    socklen_t len = sizeof st;
    if (getsockopt(fd_, SOL_XDP, XDP_STATISTICS, &st, &len) == 0) {
      uint64_t drops = st.rx_dropped + st.rx_ring_full;
      counters_.kernel_drops += drops - last_drops_;
      counters_.tx_errors += st.tx_invalid_descs - last_tx_invalid_;
      last_drops_ = drops;
      last_tx_invalid_ = st.tx_invalid_descs;
    }
    counters_.packets = received_ + counters_.kernel_drops;
  }

  const PortCounters& counters() const override { return counters_; }
  int fd() const override { return fd_; }
  const std::string& interface() const override { return interface_; }

  std::string Describe() const {
    std::string s =
        fmt::format("{} queue {}: {} XDP, {} mode", interface_, queue_,
                    native_ ? "native" : "generic (SKB)", zero_copy_ ? "zero-copy" : "copy");
    if (!fallback_.empty()) s += " (native refused: " + fallback_ + ")";
    return s;
  }

 private:
  bool Ready() { return xsk_cons_nb_avail(&rx_, 1) > 0; }
  // Frames in the receive ring not yet received.
  uint32_t Queued() const {
    uint32_t prod = std::atomic_ref<uint32_t>(*rx_.producer).load(std::memory_order_acquire);
    uint32_t cons = std::atomic_ref<uint32_t>(*rx_.consumer).load(std::memory_order_relaxed);
    return prod - cons;
  }
  bool TxPending() const {
    return tx_.cached_prod !=
           std::atomic_ref<uint32_t>(*tx_.consumer).load(std::memory_order_acquire);
  }

  // Has the kernel send what the TX ring holds. In copy mode one sendto sends a batch (32
  // frames) and answers EAGAIN while more wait; a zero-copy driver needs it only when it asks.
  void Kick() {
    for (size_t i = 0; i < kKickCalls; ++i) {
      if (!TxPending() || !xsk_ring_prod__needs_wakeup(&tx_)) return;
      if (sendto(fd_, nullptr, 0, MSG_DONTWAIT, nullptr, 0) >= 0) continue;
      if (errno != EAGAIN && errno != EBUSY && errno != ENOBUFS && errno != EINTR) return;
    }
  }

  void Reclaim() {
    uint32_t idx = 0;
    uint32_t n = xsk_ring_cons__peek(&comp_, kRingSize, &idx);
    for (uint32_t i = 0; i < n; ++i) free_tx_.push_back(*xsk_ring_cons__comp_addr(&comp_, idx + i));
    xsk_ring_cons__release(&comp_, n);
  }

  xsk_umem* umem_ = nullptr;
  xsk_socket* xsk_ = nullptr;
  xsk_ring_prod fill_{};
  xsk_ring_cons comp_{};
  xsk_ring_cons rx_{};
  xsk_ring_prod tx_{};
  uint8_t* area_ = nullptr;
  size_t area_bytes_ = 0;
  int fd_ = -1;
  bool busy_poll_ = false;
  bool native_ = false;
  bool zero_copy_ = false;
  uint32_t queue_ = 0;
  std::string interface_;
  std::string fallback_;           // why native XDP was refused, when it was
  std::vector<uint64_t> held_;     // receive frames handed out by Receive, not yet released
  std::vector<uint64_t> free_tx_;  // transmit frames not in flight
  uint64_t received_ = 0;
  uint64_t last_drops_ = 0;
  uint64_t last_tx_invalid_ = 0;
  PortCounters counters_;
};

base::Result<std::unique_ptr<Port>> AfXdpPort::Open(const PortOptions& o) {
  int ifindex = int(if_nametoindex(o.interface.c_str()));
  if (ifindex == 0) return base::MakeError(o.interface + ": no such network interface");
  if (o.shards > 1) {
    // Its queues are the NIC's: shard with the NIC's RSS or flow steering, or with AF_PACKET.
    return base::MakeError(o.interface +
                           ": --shard on a live interface needs the AF_PACKET backend "
                           "(--capture afpacket)");
  }
  uint32_t queues = ReceiveQueues(o.interface);
  if (o.members != queues) {
    // Every queue needs its socket: libxdp's program passes the frames of a queue without one to
    // the kernel's stack, so they would be neither inspected nor forwarded.
    return base::MakeError(fmt::format(
        "{}: {} worker{} for {} receive queue{}: AF_XDP binds a socket to one queue, so the "
        "interface needs as many queues as workers (`ethtool -L {} combined {}`, or -z {})",
        o.interface, o.members, o.members == 1 ? "" : "s", queues, queues == 1 ? "" : "s",
        o.interface, o.members, queues));
  }
  // Declared before the lock: a port that failed to open is closed (which takes the lock)
  // after the lock is let go.
  auto port = std::unique_ptr<AfXdpPort>(new AfXdpPort());
  std::lock_guard lock(print_mu);
  last_warning.clear();
  port->interface_ = o.interface;
  port->busy_poll_ = o.busy_poll;
  port->queue_ = o.member;
  port->area_bytes_ = size_t(kAfXdpFrames) * kAfXdpFrameBytes;
  void* area = mmap(nullptr, port->area_bytes_, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  if (area == MAP_FAILED) return ErrnoError(o.interface, "cannot allocate the UMEM", errno);
  port->area_ = static_cast<uint8_t*>(area);

  QuietLibraries quiet;

  // libxdp binds the socket before it attaches the program, so a failed attach leaves the
  // UMEM's socket bound: each try starts from a new UMEM over the same memory.
  auto try_open = [&](uint32_t xdp_flags, uint16_t bind_flags) -> int {
    xsk_umem_config ucfg{.fill_size = kRingSize,
                         .comp_size = kRingSize,
                         .frame_size = kAfXdpFrameBytes,
                         .frame_headroom = 0,
                         .flags = 0};
    if (int r = xsk_umem__create(&port->umem_, area, port->area_bytes_, &port->fill_, &port->comp_,
                                 &ucfg);
        r != 0) {
      port->umem_ = nullptr;
      return r;
    }
    xsk_socket_config scfg{};
    scfg.rx_size = kRingSize;
    scfg.tx_size = kRingSize;
    scfg.xdp_flags = xdp_flags;
    scfg.bind_flags = bind_flags;
    int r = xsk_socket__create(&port->xsk_, o.interface.c_str(), o.member, port->umem_, &port->rx_,
                               &port->tx_, &scfg);
    if (r != 0) {
      port->xsk_ = nullptr;
      xsk_umem__delete(port->umem_);
      port->umem_ = nullptr;
    }
    return r;
  };
  // A socket closed a moment ago (a port reopened, or the failed native try below) releases
  // its queue in deferred kernel work: until that ran, a new bind of the queue is refused as
  // busy, so a busy queue is retried for a while.
  auto try_mode = [&](uint32_t xdp_flags, uint16_t bind_flags) {
    auto give_up = std::chrono::steady_clock::now() + std::chrono::milliseconds(250);
    int r = try_open(xdp_flags, bind_flags);
    while (r == -EBUSY && std::chrono::steady_clock::now() < give_up) {
      usleep(1000);
      r = try_open(xdp_flags, bind_flags);
    }
    return r;
  };
  // No copy flag: the kernel uses zero-copy where the driver has it, copies otherwise.
  int r = try_mode(XDP_FLAGS_DRV_MODE, XDP_USE_NEED_WAKEUP);
  port->native_ = r == 0;
  if (r != 0 && r != -EPERM && r != -EACCES && r != -EBUSY) {
    // The driver has no native XDP (or refused this program): generic mode works everywhere,
    // and always copies.
    std::string why = last_warning.empty() ? std::strerror(-r) : last_warning;
    last_warning.clear();
    r = try_mode(XDP_FLAGS_SKB_MODE, XDP_USE_NEED_WAKEUP | XDP_COPY);
    if (r == 0) port->fallback_ = why;
  }
  if (r == -EBUSY) {
    return ErrnoError(o.interface,
                      fmt::format("queue {} is busy (held by another AF_XDP socket?)", o.member),
                      -r);
  }
  if (r != 0) {
    return ErrnoError(o.interface,
                      fmt::format("cannot open an AF_XDP socket on queue {}", o.member), -r);
  }
  port->fd_ = xsk_socket__fd(port->xsk_);
  xdp_options opts{};
  socklen_t len = sizeof opts;
  if (getsockopt(port->fd_, SOL_XDP, XDP_OPTIONS, &opts, &len) == 0) {
    port->zero_copy_ = (opts.flags & XDP_OPTIONS_ZEROCOPY) != 0;
  }

  // Every receive frame goes on the fill ring at once; the kernel fills them as frames come.
  uint32_t idx = 0;
  if (xsk_ring_prod__reserve(&port->fill_, kRxFrames, &idx) != kRxFrames) {
    return base::MakeError(o.interface + ": the AF_XDP fill ring is smaller than asked");
  }
  for (uint32_t i = 0; i < kRxFrames; ++i) {
    *xsk_ring_prod__fill_addr(&port->fill_, idx + i) = uint64_t(i) * kAfXdpFrameBytes;
  }
  xsk_ring_prod__submit(&port->fill_, kRxFrames);
  port->held_.reserve(kRingSize);
  port->free_tx_.reserve(kAfXdpFrames - kRxFrames);
  for (uint32_t i = kAfXdpFrames; i-- > kRxFrames;) {
    port->free_tx_.push_back(uint64_t(i) * kAfXdpFrameBytes);
  }
  return std::unique_ptr<Port>(std::move(port));
}

}  // namespace

base::Result<std::unique_ptr<Port>> OpenAfXdp(const PortOptions& options) {
  return AfXdpPort::Open(options);
}

std::string DescribeAfXdp(const Port& port) {
  const auto* p = dynamic_cast<const AfXdpPort*>(&port);
  return p != nullptr ? p->Describe() : std::string();
}

}  // namespace vigil::net

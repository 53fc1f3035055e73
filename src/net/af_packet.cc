#include "net/af_packet.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fmt/format.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstring>
#include <map>
#include <mutex>
#include <span>

namespace vigil::net {
namespace {

// The kernel's struct virtio_net_hdr (linux/virtio_net.h cannot be included from C++: a field
// is named `class`), in host byte order as packet sockets use it.
struct virtio_net_hdr {
  uint8_t flags;
  uint8_t gso_type;
  uint16_t hdr_len;
  uint16_t gso_size;
  uint16_t csum_start;
  uint16_t csum_offset;
};
static_assert(sizeof(virtio_net_hdr) == 10);
constexpr uint8_t VIRTIO_NET_HDR_F_NEEDS_CSUM = 1;

base::Error SystemError(const std::string& interface, const std::string& what) {
  return base::Error{fmt::format("{}: {}: {}", interface, what, std::strerror(errno))};
}

// Fanout group ids by interface index, so that members 1.. join the group member 0 created.
std::mutex fanout_mu;
std::map<int, int> fanout_groups;

class AfPacketPort final : public Port {
 public:
  ~AfPacketPort() override {
    if (ring_ != nullptr) munmap(ring_, ring_bytes_);
    if (fd_ >= 0) close(fd_);
  }

  static base::Result<std::unique_ptr<Port>> Open(const PortOptions& o);

  bool Wait(int timeout_ms) override {
    if (Ready()) return true;
    if (timeout_ms <= 0) return false;
    if (busy_poll_) {
      // Spins on the block's status word.
      return SpinWait(
          timeout_ms, [&] { return Ready(); }, [] {});
    }
    pollfd p{.fd = fd_, .events = POLLIN | POLLERR, .revents = 0};
    ::poll(&p, 1, timeout_ms);
    return Ready();
  }

  size_t Receive(std::span<Frame> out) override {
    if (!open_) {
      tpacket_block_desc* b = Block(block_);
      if ((Status(b) & TP_STATUS_USER) == 0) return 0;
      left_ = b->hdr.bh1.num_pkts;
      next_ = reinterpret_cast<uint8_t*>(b) + b->hdr.bh1.offset_to_first_pkt;
      open_ = true;
    }
    size_t n = 0;
    while (n < out.size() && left_ > 0) {
      auto* h = reinterpret_cast<tpacket3_hdr*>(next_);
      FillFrame(h, out[n++]);
      next_ = h->tp_next_offset != 0 ? next_ + h->tp_next_offset : nullptr;
      --left_;
    }
    return n;
  }

  void Release() override {
    if (!open_ || left_ > 0) return;
    // Every frame of the block was received and used: the block goes back to the kernel.
    std::atomic_ref<uint32_t>(Block(block_)->hdr.bh1.block_status)
        .store(TP_STATUS_KERNEL, std::memory_order_release);
    block_ = (block_ + 1) % blocks_;
    open_ = false;
  }

  bool Backlogged() const override {
    const uint32_t ahead = std::max<uint32_t>(blocks_ * 3 / 4, 1);
    return (Status(Block((block_ + ahead) % blocks_)) & TP_STATUS_USER) != 0;
  }

  bool MoreWaiting() const override {
    return (open_ && left_ > 0) || (Status(Block((block_ + 1) % blocks_)) & TP_STATUS_USER) != 0;
  }

  size_t Transmit(std::span<const Frame> frames) override {
    size_t sent = 0;
    while (sent < frames.size()) {
      size_t n = std::min(frames.size() - sent, kTxBatch);
      for (size_t i = 0; i < n; ++i) {
        const Frame& f = frames[sent + i];
        virtio_net_hdr& v = vnet_[i];
        v = {};
        v.flags = f.offload.flags;
        v.gso_type = f.offload.gso_type;
        v.hdr_len = f.offload.hdr_len;
        v.gso_size = f.offload.gso_size;
        v.csum_start = f.offload.csum_start;
        v.csum_offset = f.offload.csum_offset;
        iov_[2 * i] = {.iov_base = &v, .iov_len = sizeof v};
        iov_[2 * i + 1] = {.iov_base = f.data, .iov_len = f.caplen};
        msgs_[i] = {};
        msgs_[i].msg_hdr.msg_iov = &iov_[2 * i];
        msgs_[i].msg_hdr.msg_iovlen = 2;
      }
      int r = ::sendmmsg(fd_, msgs_.data(), unsigned(n), 0);
      if (r < 0) {
        if (errno == EINTR) continue;
        // The first frame was refused (too large, a bad offload header): skip it, go on.
        ++counters_.tx_errors;
        ++sent;
        continue;
      }
      counters_.tx_packets += uint64_t(r);
      sent += size_t(r);
    }
    return sent;
  }

  void UpdateCounters() override {
    tpacket_stats_v3 st{};
    socklen_t len = sizeof st;
    if (getsockopt(fd_, SOL_PACKET, PACKET_STATISTICS, &st, &len) == 0) {
      // The kernel resets its counters on each read; tp_packets includes the drops.
      counters_.packets += st.tp_packets;
      counters_.kernel_drops += st.tp_drops;
    }
  }

  const PortCounters& counters() const override { return counters_; }
  int fd() const override { return fd_; }
  const std::string& interface() const override { return interface_; }

 private:
  static constexpr size_t kTxBatch = 64;

  tpacket_block_desc* Block(uint32_t i) const {
    return reinterpret_cast<tpacket_block_desc*>(ring_ + size_t(i) * block_bytes_);
  }
  static uint32_t Status(tpacket_block_desc* b) {
    return std::atomic_ref<uint32_t>(b->hdr.bh1.block_status).load(std::memory_order_acquire);
  }
  bool Ready() const {
    return (open_ && left_ > 0) || (!open_ && (Status(Block(block_)) & TP_STATUS_USER) != 0);
  }

  void FillFrame(tpacket3_hdr* h, Frame& f) {
    uint8_t* mac = reinterpret_cast<uint8_t*>(h) + h->tp_mac;
    virtio_net_hdr v;
    std::memcpy(&v, mac - sizeof v, sizeof v);
    f.offload = {.flags = v.flags,
                 .gso_type = v.gso_type,
                 .hdr_len = v.hdr_len,
                 .gso_size = v.gso_size,
                 .csum_start = v.csum_start,
                 .csum_offset = v.csum_offset};
    f.caplen = h->tp_snaplen;
    f.wirelen = h->tp_len;
    f.ts = {.sec = int64_t(h->tp_sec), .nsec = h->tp_nsec};
    f.checksum_partial = (h->tp_status & TP_STATUS_CSUMNOTREADY) != 0;
    if (f.caplen < f.wirelen) ++counters_.truncated;
    if ((h->tp_status & TP_STATUS_VLAN_VALID) != 0 && f.caplen >= 12) {
      // The tag goes back between the addresses and the type, over the virtio header just read.
      uint16_t tpid = (h->tp_status & TP_STATUS_VLAN_TPID_VALID) != 0 ? h->hv1.tp_vlan_tpid
                                                                      : uint16_t(ETH_P_8021Q);
      std::memmove(mac - 4, mac, 12);
      mac -= 4;
      uint16_t be_tpid = htons(tpid), be_tci = htons(uint16_t(h->hv1.tp_vlan_tci));
      std::memcpy(mac + 12, &be_tpid, 2);
      std::memcpy(mac + 14, &be_tci, 2);
      f.caplen += 4;
      f.wirelen += 4;
      if ((f.offload.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) != 0) f.offload.csum_start += 4;
      if (f.offload.hdr_len != 0) f.offload.hdr_len += 4;
    }
    f.data = mac;
  }

  int fd_ = -1;
  uint8_t* ring_ = nullptr;
  size_t ring_bytes_ = 0;
  uint32_t blocks_ = 0;
  uint32_t block_bytes_ = 0;
  bool busy_poll_ = false;
  std::string interface_;
  // The block being read: open once the kernel handed it over; left_ frames from next_.
  uint32_t block_ = 0;
  bool open_ = false;
  uint32_t left_ = 0;
  uint8_t* next_ = nullptr;
  PortCounters counters_;
  std::array<mmsghdr, kTxBatch> msgs_{};
  std::array<iovec, 2 * kTxBatch> iov_{};
  std::array<virtio_net_hdr, kTxBatch> vnet_{};
};

base::Status JoinFanout(int fd, int ifindex, const PortOptions& o) {
  std::lock_guard lock(fanout_mu);
  if (o.member == 0) {
    // The low 16 bits are the group id (0: the kernel picks one), the high ones type and flags.
    int arg = (PACKET_FANOUT_CBPF | PACKET_FANOUT_FLAG_UNIQUEID) << 16;
    if (setsockopt(fd, SOL_PACKET, PACKET_FANOUT, &arg, sizeof arg) != 0) {
      return SystemError(o.interface, "cannot create a fanout group");
    }
    socklen_t len = sizeof arg;
    if (getsockopt(fd, SOL_PACKET, PACKET_FANOUT, &arg, &len) != 0) {
      return SystemError(o.interface, "cannot read the fanout group");
    }
    fanout_groups[ifindex] = arg & 0xffff;
    std::vector<ClassicInsn> prog = AddressPairFanoutProgram();
    static_assert(sizeof(ClassicInsn) == sizeof(sock_filter));
    sock_fprog fprog{.len = uint16_t(prog.size()),
                     .filter = reinterpret_cast<sock_filter*>(prog.data())};
    if (setsockopt(fd, SOL_PACKET, PACKET_FANOUT_DATA, &fprog, sizeof fprog) != 0) {
      return SystemError(o.interface, "cannot set the fanout program");
    }
    return {};
  }
  auto it = fanout_groups.find(ifindex);
  if (it == fanout_groups.end()) {
    return base::MakeError(o.interface + ": fanout member opened before member 0");
  }
  int arg = it->second | (PACKET_FANOUT_CBPF << 16);
  if (setsockopt(fd, SOL_PACKET, PACKET_FANOUT, &arg, sizeof arg) != 0) {
    return SystemError(o.interface, "cannot join the fanout group");
  }
  return {};
}

base::Result<std::unique_ptr<Port>> AfPacketPort::Open(const PortOptions& o) {
  auto port = std::unique_ptr<AfPacketPort>(new AfPacketPort());
  port->interface_ = o.interface;
  port->busy_poll_ = o.busy_poll;
  int ifindex = int(if_nametoindex(o.interface.c_str()));
  if (ifindex == 0) return base::MakeError(o.interface + ": no such network interface");
  // Protocol 0: the socket receives nothing until it is bound with ETH_P_ALL below, after its
  // ring exists.
  port->fd_ = socket(AF_PACKET, SOCK_RAW, 0);
  if (port->fd_ < 0) {
    if (errno == EPERM || errno == EACCES) {
      return base::MakeError(o.interface +
                             ": capturing needs root or the CAP_NET_RAW and CAP_NET_ADMIN "
                             "capabilities");
    }
    return SystemError(o.interface, "cannot open a packet socket");
  }
  int fd = port->fd_;
  int on = 1;
  int version = TPACKET_V3;
  if (setsockopt(fd, SOL_PACKET, PACKET_VERSION, &version, sizeof version) != 0) {
    return SystemError(o.interface, "TPACKET_V3 not supported");
  }
  if (setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &on, sizeof on) != 0) {
    return SystemError(o.interface, "cannot enable virtio headers");
  }
  if (o.ignore_outgoing &&
      setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &on, sizeof on) != 0) {
    return SystemError(o.interface, "cannot ignore outgoing frames (Linux 4.20 or later needed)");
  }
  // Forwarded frames skip the interface's queueing discipline, as a bridge's do.
  (void)setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &on, sizeof on);
  port->blocks_ = std::max<uint32_t>(o.blocks, 2);
  port->block_bytes_ = std::max<uint32_t>(o.block_bytes, uint32_t(getpagesize()));
  tpacket_req3 req{};
  req.tp_block_size = port->block_bytes_;
  req.tp_block_nr = port->blocks_;
  req.tp_frame_size = 2048;  // only a unit of accounting with TPACKET_V3
  req.tp_frame_nr = req.tp_block_size / req.tp_frame_size * req.tp_block_nr;
  req.tp_retire_blk_tov = std::max<uint32_t>(o.block_timeout_ms, 1);
  if (setsockopt(fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof req) != 0) {
    return SystemError(o.interface, fmt::format("cannot create a receive ring of {} x {} bytes",
                                                req.tp_block_nr, req.tp_block_size));
  }
  port->ring_bytes_ = size_t(req.tp_block_size) * req.tp_block_nr;
  void* ring =
      mmap(nullptr, port->ring_bytes_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
  if (ring == MAP_FAILED) return SystemError(o.interface, "cannot map the receive ring");
  port->ring_ = static_cast<uint8_t*>(ring);
  if (o.shards > 1) {
    if (o.shard >= o.shards || o.shards > 0xffff) {
      return base::MakeError(fmt::format("{}: shard {} of {}: expected 0 <= I < N <= 65535",
                                         o.interface, o.shard, o.shards));
    }
    // Attached before the socket is bound: no frame of another share reaches the ring.
    std::vector<ClassicInsn> prog = ShardFilterProgram(o.shard, o.shards);
    sock_fprog fprog{.len = uint16_t(prog.size()),
                     .filter = reinterpret_cast<sock_filter*>(prog.data())};
    if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &fprog, sizeof fprog) != 0) {
      return SystemError(o.interface, "cannot attach the shard filter");
    }
  }
  sockaddr_ll addr{};
  addr.sll_family = AF_PACKET;
  addr.sll_protocol = htons(ETH_P_ALL);
  addr.sll_ifindex = ifindex;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    return SystemError(o.interface, "cannot bind");
  }
  if (o.members > 1) {
    if (auto s = JoinFanout(fd, ifindex, o); !s) return s.error();
  }
  return std::unique_ptr<Port>(std::move(port));
}

}  // namespace

namespace {

ClassicInsn Stmt(uint16_t code, uint32_t k) { return ClassicInsn{code, 0, 0, k}; }

// The symmetric address-pair hash (AddressPairHash) into A, then `on_hash`; `on_other` for a
// frame that is neither IPv4 nor IPv6.
std::vector<ClassicInsn> AddressPairProgram(std::span<const ClassicInsn> on_hash,
                                            ClassicInsn on_other) {
  // Loads relative to the network header (SKF_NET_OFF), so VLAN tags and link types do not move
  // the offsets; X accumulates the XOR of the address words, which is the same both ways.
  auto load_net = [&](uint32_t off) {
    return Stmt(BPF_LD | BPF_W | BPF_ABS, uint32_t(SKF_NET_OFF) + off);
  };
  const ClassicInsn tax = Stmt(BPF_MISC | BPF_TAX, 0);
  const ClassicInsn xor_x = Stmt(BPF_ALU | BPF_XOR | BPF_X, 0);
  std::vector<ClassicInsn> p;
  p.push_back(Stmt(BPF_LD | BPF_H | BPF_ABS, uint32_t(SKF_AD_OFF + SKF_AD_PROTOCOL)));
  size_t is_v4 = p.size();
  p.push_back({BPF_JMP | BPF_JEQ | BPF_K, 0, 0, ETH_P_IP});
  p.push_back(load_net(12));  // IPv4 source
  p.push_back(tax);
  p.push_back(load_net(16));  // IPv4 destination
  p.push_back(xor_x);
  size_t v4_done = p.size();
  p.push_back(Stmt(BPF_JMP | BPF_JA, 0));
  size_t is_v6 = p.size();
  p.push_back({BPF_JMP | BPF_JEQ | BPF_K, 0, 0, ETH_P_IPV6});
  p.push_back(Stmt(BPF_LDX | BPF_IMM, 0));
  for (uint32_t w = 0; w < 4; ++w) {
    p.push_back(load_net(8 + 4 * w));  // source word w
    p.push_back(xor_x);
    p.push_back(tax);
    p.push_back(load_net(24 + 4 * w));  // destination word w
    p.push_back(xor_x);
    p.push_back(tax);
  }
  p.push_back(Stmt(BPF_MISC | BPF_TXA, 0));
  size_t mix = p.size();
  // A := h ^ (h >> 16) with h = A * golden ratio: the kernel takes the result modulo the group
  // size, so the low bits must depend on every address bit.
  p.push_back(Stmt(BPF_ALU | BPF_MUL | BPF_K, 0x9e3779b1u));
  p.push_back(Stmt(BPF_ST, 0));
  p.push_back(Stmt(BPF_ALU | BPF_RSH | BPF_K, 16));
  p.push_back(tax);
  p.push_back(Stmt(BPF_LD | BPF_MEM, 0));
  p.push_back(xor_x);
  p.insert(p.end(), on_hash.begin(), on_hash.end());
  size_t other = p.size();
  p.push_back(on_other);
  p[is_v4].jf = uint8_t(is_v6 - is_v4 - 1);
  p[v4_done].k = uint32_t(mix - v4_done - 1);
  p[is_v6].jf = uint8_t(other - is_v6 - 1);
  return p;
}

}  // namespace

std::vector<ClassicInsn> AddressPairFanoutProgram() {
  const ClassicInsn ret_a = Stmt(BPF_RET | BPF_A, 0);
  return AddressPairProgram({&ret_a, 1}, Stmt(BPF_RET | BPF_K, 0));
}

std::vector<ClassicInsn> ShardFilterProgram(uint32_t shard, uint32_t shards) {
  // A socket filter returns how many bytes of the frame to keep: all of them, or none.
  constexpr uint32_t kKeep = 0xffffffffu;
  // ShareOf in 32-bit arithmetic: ((hash >> 16) * shards) >> 16.
  const ClassicInsn on_hash[] = {
      Stmt(BPF_ALU | BPF_RSH | BPF_K, 16), Stmt(BPF_ALU | BPF_MUL | BPF_K, shards),
      Stmt(BPF_ALU | BPF_RSH | BPF_K, 16), {BPF_JMP | BPF_JEQ | BPF_K, 0, 1, shard},
      Stmt(BPF_RET | BPF_K, kKeep),        Stmt(BPF_RET | BPF_K, 0),
  };
  return AddressPairProgram(on_hash, Stmt(BPF_RET | BPF_K, shard == 0 ? kKeep : 0));
}

uint32_t AddressPairHash(std::span<const uint8_t> src, std::span<const uint8_t> dst) {
  auto word = [](std::span<const uint8_t> a, size_t i) {
    return uint32_t(a[4 * i]) << 24 | uint32_t(a[4 * i + 1]) << 16 | uint32_t(a[4 * i + 2]) << 8 |
           uint32_t(a[4 * i + 3]);
  };
  uint32_t x = 0;
  for (size_t i = 0; i < src.size() / 4; ++i) x ^= word(src, i) ^ word(dst, i);
  uint32_t h = x * 0x9e3779b1u;
  return h ^ (h >> 16);
}

uint32_t ShardOfAddressPair(std::span<const uint8_t> src, std::span<const uint8_t> dst,
                            uint32_t shards) {
  if (shards <= 1 || (src.size() != 4 && src.size() != 16) || src.size() != dst.size()) return 0;
  return ((AddressPairHash(src, dst) >> 16) * shards) >> 16;
}

base::Result<std::unique_ptr<Port>> OpenAfPacket(const PortOptions& options) {
  return AfPacketPort::Open(options);
}

}  // namespace vigil::net

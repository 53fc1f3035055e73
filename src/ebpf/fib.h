// The host's forwarding information for bpf_fib_lookup: a snapshot of the kernel's routing tables
// (local and main, IPv4 and IPv6), neighbour tables and interfaces, read over rtnetlink, and the
// helper's forward lookup on it, with the kernel's result codes (BPF_FIB_LKUP_RET_*).
//
//   auto table = ebpf::FibTable::FromHost();          // one rtnetlink dump of each table
//   if (!table) return table.error();
//   ebpf::FibTable::SetHost(std::make_shared<ebpf::FibTable>(std::move(*table)));
//   // bpf_fib_lookup now answers from it; SetHost again to refresh
//
// The lookup follows the kernel's bpf_ipv4_fib_lookup / bpf_ipv6_fib_lookup for an XDP program
// without flags: the ingress interface (params->ifindex) must exist (else -ENODEV) and forward
// (else FWD_DISABLED); the local table is searched first (a local or broadcast destination is
// NOT_FWDED), then the main table by longest prefix, lowest metric first; blackhole, unreachable
// and prohibit routes give their codes; a packet longer than the egress MTU (params->tot_len)
// gives FRAG_NEEDED with mtu_result; the next hop (the gateway, or the destination on a link
// route) must have a valid neighbour entry (else NO_NEIGH); on success params->ifindex, smac and
// dmac are the egress interface's and the neighbour's, rt_metric the route's, mtu_result the
// egress MTU, and ipv4_dst / ipv6_dst the gateway when there is one. Policy routing rules other
// than the default ones, VRFs and the lookup flags (DIRECT, OUTPUT, SKIP_NEIGH, TBID, SRC, MARK)
// are not modelled: flags other than 0 return -EINVAL, so a program never gets an answer the kernel
// would not give. The snapshot is immutable; lookups from several threads are safe.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/result.h"

namespace vigil::ebpf {

// struct bpf_fib_lookup (include/uapi/linux/bpf.h), 64 bytes.
struct FibParams {
  uint8_t family;
  uint8_t l4_protocol;
  uint16_t sport, dport;         // network order
  uint16_t tot_len;              // in: the packet's length; out: mtu_result on FRAG_NEEDED
  uint32_t ifindex;              // in: ingress; out: egress
  uint32_t tos_flowinfo_metric;  // in: tos (IPv4) or flowinfo (IPv6); out: the route's metric
  uint32_t src[4];               // ipv4_src, or ipv6_src
  uint32_t dst[4];               // ipv4_dst, or ipv6_dst
  uint16_t h_vlan_proto, h_vlan_tci;
  uint8_t smac[6];
  uint8_t dmac[6];
};
static_assert(sizeof(FibParams) == 64);

// BPF_FIB_LKUP_RET_*.
enum FibResult : int64_t {
  kFibSuccess = 0,
  kFibBlackhole = 1,
  kFibUnreachable = 2,
  kFibProhibit = 3,
  kFibNotForwarded = 4,
  kFibForwardingDisabled = 5,
  kFibUnsupportedLwt = 6,
  kFibNoNeighbour = 7,
  kFibFragNeeded = 8,
};

class FibTable {
 public:
  struct Link {
    std::array<uint8_t, 6> mac{};
    uint32_t mtu = 1500;
    bool forward_v4 = false, forward_v6 = false;
  };
  struct Route {
    uint8_t family = 0;  // 2 AF_INET, 10 AF_INET6
    uint8_t table = 0;   // 254 main, 255 local
    uint8_t type = 0;    // RTN_UNICAST 1, LOCAL 2, BROADCAST 3, BLACKHOLE 6, UNREACHABLE 7, ...
    uint8_t prefix_len = 0;
    std::array<uint8_t, 16> dst{};      // network order, the first 4 bytes for IPv4
    std::array<uint8_t, 16> gateway{};  // zero: none (a link route)
    bool has_gateway = false;
    uint32_t oif = 0;
    uint32_t metric = 0;
    uint32_t mtu = 0;  // 0: the interface's
  };
  struct Neighbour {
    uint8_t family = 0;
    uint32_t ifindex = 0;
    std::array<uint8_t, 16> addr{};
    std::array<uint8_t, 6> mac{};
  };

  // Reads the host's tables over rtnetlink (and forwarding from /proc/sys/net).
  [[nodiscard]] static base::Result<FibTable> FromHost();

  // The table the bpf_fib_lookup helper answers from: read from the host on first use, or the
  // one set here (tests set their own; the control plane sets a fresh one to refresh).
  static void SetHost(std::shared_ptr<const FibTable> table);
  [[nodiscard]] static std::shared_ptr<const FibTable> Host();

  // Answers a lookup as the kernel's helper does (see the header comment): a FibResult, or a
  // negative errno (-EINVAL, -ENODEV, -EAFNOSUPPORT).
  [[nodiscard]] int64_t Lookup(FibParams& params, uint64_t flags) const;

  std::unordered_map<uint32_t, Link> links;
  std::vector<Route> routes;
  std::vector<Neighbour> neighbours;  // valid entries only (NUD_VALID)
};

}  // namespace vigil::ebpf

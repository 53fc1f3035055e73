#include "ebpf/fib.h"

#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <functional>
#include <mutex>

#include "fmt/format.h"

namespace vigil::ebpf {
namespace {

constexpr uint8_t kAfInet = 2, kAfInet6 = 10;
constexpr int64_t kENODEV = 19, kEINVALErr = 22, kEAFNOSUPPORTErr = 97;
// The kernel's NUD_VALID (include/net/neighbour.h): states whose link-layer address is usable.
constexpr uint16_t kNudValid =
    NUD_PERMANENT | NUD_NOARP | NUD_REACHABLE | NUD_PROBE | NUD_STALE | NUD_DELAY;

// Sends one dump request and calls `on_message` for every answer until NLMSG_DONE.
base::Status Dump(int fd, uint16_t type, uint8_t family,
                  const std::function<void(const nlmsghdr*)>& on_message) {
  struct {
    nlmsghdr nh;
    rtgenmsg g;
  } req{};
  req.nh.nlmsg_len = sizeof(req);
  req.nh.nlmsg_type = type;
  req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  req.nh.nlmsg_seq = type;
  req.g.rtgen_family = family;
  if (send(fd, &req, sizeof(req), 0) < 0)
    return base::MakeError(fmt::format("rtnetlink send: {}", std::strerror(errno)));
  std::vector<char> buf(1 << 16);
  while (true) {
    const ssize_t n = recv(fd, buf.data(), buf.size(), 0);
    if (n < 0) return base::MakeError(fmt::format("rtnetlink recv: {}", std::strerror(errno)));
    int len = int(n);
    for (auto* nh = reinterpret_cast<const nlmsghdr*>(buf.data()); NLMSG_OK(nh, len);
         nh = NLMSG_NEXT(nh, len)) {
      if (nh->nlmsg_type == NLMSG_DONE) return {};
      if (nh->nlmsg_type == NLMSG_ERROR) return base::MakeError("rtnetlink dump refused");
      on_message(nh);
    }
  }
}

void ForEachAttr(const nlmsghdr* nh, size_t header_size,
                 const std::function<void(const rtattr*)>& f) {
  int len = int(nh->nlmsg_len) - int(NLMSG_LENGTH(header_size));
  for (auto* a = reinterpret_cast<const rtattr*>(reinterpret_cast<const char*>(NLMSG_DATA(nh)) +
                                                 NLMSG_ALIGN(header_size));
       RTA_OK(a, len); a = RTA_NEXT(a, len))
    f(a);
}

bool ReadFlag(const std::string& path) {
  std::ifstream in(path);
  int v = 0;
  return (in >> v) && v != 0;
}

// Whether the first `bits` bits of a and b agree.
bool PrefixMatch(const uint8_t* a, const uint8_t* b, uint32_t bits) {
  for (uint32_t i = 0; i < bits / 8; ++i)
    if (a[i] != b[i]) return false;
  if (bits % 8 == 0) return true;
  const uint8_t mask = uint8_t(0xff << (8 - bits % 8));
  return (a[bits / 8] & mask) == (b[bits / 8] & mask);
}

// Read by every lookup without a lock; the mutex only orders the first read of the host's tables.
std::mutex host_mu;
std::atomic<std::shared_ptr<const FibTable>> host_table;

}  // namespace

base::Result<FibTable> FibTable::FromHost() {
  const int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) return base::MakeError(fmt::format("rtnetlink socket: {}", std::strerror(errno)));
  FibTable t;
  std::unordered_map<uint32_t, std::string> names;
  auto links = Dump(fd, RTM_GETLINK, AF_UNSPEC, [&](const nlmsghdr* nh) {
    const auto* ifi = static_cast<const ifinfomsg*>(NLMSG_DATA(nh));
    Link& l = t.links[uint32_t(ifi->ifi_index)];
    ForEachAttr(nh, sizeof(ifinfomsg), [&](const rtattr* a) {
      if (a->rta_type == IFLA_ADDRESS && RTA_PAYLOAD(a) == 6)
        std::memcpy(l.mac.data(), RTA_DATA(a), 6);
      else if (a->rta_type == IFLA_MTU && RTA_PAYLOAD(a) == 4)
        std::memcpy(&l.mtu, RTA_DATA(a), 4);
      else if (a->rta_type == IFLA_IFNAME)
        names[uint32_t(ifi->ifi_index)] = static_cast<const char*>(RTA_DATA(a));
    });
  });
  base::Status st = links;
  for (uint8_t family : {kAfInet, kAfInet6}) {
    if (!st) break;
    st = Dump(fd, RTM_GETROUTE, family, [&](const nlmsghdr* nh) {
      const auto* rt = static_cast<const rtmsg*>(NLMSG_DATA(nh));
      Route r;
      r.family = rt->rtm_family;
      r.table = rt->rtm_table;
      r.type = rt->rtm_type;
      r.prefix_len = rt->rtm_dst_len;
      const size_t alen = family == kAfInet ? 4 : 16;
      ForEachAttr(nh, sizeof(rtmsg), [&](const rtattr* a) {
        switch (a->rta_type) {
          case RTA_TABLE:
            if (RTA_PAYLOAD(a) == 4) {
              uint32_t table;
              std::memcpy(&table, RTA_DATA(a), 4);
              r.table = table > 255 ? 0 : uint8_t(table);
            }
            break;
          case RTA_DST:
            if (RTA_PAYLOAD(a) == alen) std::memcpy(r.dst.data(), RTA_DATA(a), alen);
            break;
          case RTA_GATEWAY:
            if (RTA_PAYLOAD(a) == alen) {
              std::memcpy(r.gateway.data(), RTA_DATA(a), alen);
              r.has_gateway = true;
            }
            break;
          case RTA_OIF:
            if (RTA_PAYLOAD(a) == 4) std::memcpy(&r.oif, RTA_DATA(a), 4);
            break;
          case RTA_PRIORITY:
            if (RTA_PAYLOAD(a) == 4) std::memcpy(&r.metric, RTA_DATA(a), 4);
            break;
          case RTA_MULTIPATH:
            // The first next hop of a multipath route (the kernel hashes the flow over them).
            if (RTA_PAYLOAD(a) >= sizeof(rtnexthop)) {
              const auto* nhp = static_cast<const rtnexthop*>(RTA_DATA(a));
              r.oif = uint32_t(nhp->rtnh_ifindex);
              int nlen = int(nhp->rtnh_len) - int(RTNH_LENGTH(0));
              for (auto* na = RTNH_DATA(nhp); nlen > 0 && RTA_OK(na, nlen);
                   na = RTA_NEXT(na, nlen)) {
                if (na->rta_type == RTA_GATEWAY && RTA_PAYLOAD(na) == alen) {
                  std::memcpy(r.gateway.data(), RTA_DATA(na), alen);
                  r.has_gateway = true;
                }
              }
            }
            break;
          default:
            break;
        }
      });
      if (r.table == RT_TABLE_MAIN || r.table == RT_TABLE_LOCAL) t.routes.push_back(r);
    });
    if (!st) break;
    st = Dump(fd, RTM_GETNEIGH, family, [&](const nlmsghdr* nh) {
      const auto* nd = static_cast<const ndmsg*>(NLMSG_DATA(nh));
      if (!(nd->ndm_state & kNudValid)) return;
      Neighbour n;
      n.family = nd->ndm_family;
      n.ifindex = uint32_t(nd->ndm_ifindex);
      bool has_mac = false;
      const size_t alen = family == kAfInet ? 4 : 16;
      ForEachAttr(nh, sizeof(ndmsg), [&](const rtattr* a) {
        if (a->rta_type == NDA_DST && RTA_PAYLOAD(a) == alen)
          std::memcpy(n.addr.data(), RTA_DATA(a), alen);
        if (a->rta_type == NDA_LLADDR && RTA_PAYLOAD(a) == 6) {
          std::memcpy(n.mac.data(), RTA_DATA(a), 6);
          has_mac = true;
        }
      });
      if (has_mac || (nd->ndm_state & NUD_NOARP)) t.neighbours.push_back(n);
    });
  }
  close(fd);
  if (!st) return st.error();
  for (auto& [index, link] : t.links) {
    const auto it = names.find(index);
    if (it == names.end()) continue;
    link.forward_v4 = ReadFlag("/proc/sys/net/ipv4/conf/" + it->second + "/forwarding");
    link.forward_v6 = ReadFlag("/proc/sys/net/ipv6/conf/" + it->second + "/forwarding");
  }
  return t;
}

void FibTable::SetHost(std::shared_ptr<const FibTable> table) {
  host_table.store(std::move(table));
}

std::shared_ptr<const FibTable> FibTable::Host() {
  if (auto t = host_table.load(std::memory_order_acquire)) return t;
  std::lock_guard lock(host_mu);
  if (auto t = host_table.load(std::memory_order_acquire)) return t;
  auto read = FromHost();
  // No rtnetlink (a sandbox): an empty table, where every lookup finds no interface.
  auto t = std::make_shared<const FibTable>(read ? std::move(*read) : FibTable{});
  host_table.store(t, std::memory_order_release);
  return t;
}

int64_t FibTable::Lookup(FibParams& p, uint64_t flags) const {
  if (flags != 0) return -kEINVALErr;
  if (p.family != kAfInet && p.family != kAfInet6) return -kEAFNOSUPPORTErr;
  const bool v4 = p.family == kAfInet;
  const auto in = links.find(p.ifindex);
  if (in == links.end()) return -kENODEV;
  if (!(v4 ? in->second.forward_v4 : in->second.forward_v6)) return kFibForwardingDisabled;
  const auto* dst = reinterpret_cast<const uint8_t*>(p.dst);
  // The local table first, as the kernel's default rules; then the main table.
  const Route* best = nullptr;
  for (uint8_t table : {uint8_t(RT_TABLE_LOCAL), uint8_t(RT_TABLE_MAIN)}) {
    for (const Route& r : routes) {
      if (r.family != p.family || r.table != table) continue;
      if (!PrefixMatch(r.dst.data(), dst, r.prefix_len)) continue;
      if (best == nullptr || r.prefix_len > best->prefix_len ||
          (r.prefix_len == best->prefix_len && r.metric < best->metric))
        best = &r;
    }
    if (best != nullptr) break;
  }
  if (best == nullptr) return kFibNotForwarded;
  switch (best->type) {
    case RTN_UNICAST:
      break;
    case RTN_BLACKHOLE:
      return kFibBlackhole;
    case RTN_UNREACHABLE:
      return kFibUnreachable;
    case RTN_PROHIBIT:
      return kFibProhibit;
    default:
      return kFibNotForwarded;
  }
  const auto out = links.find(best->oif);
  if (out == links.end()) return kFibNotForwarded;
  const uint32_t mtu = best->mtu ? best->mtu : out->second.mtu;
  if (p.tot_len > mtu) {
    p.tot_len = uint16_t(mtu);  // mtu_result shares tot_len's place
    return kFibFragNeeded;
  }
  p.ifindex = best->oif;
  p.tos_flowinfo_metric = best->metric;
  const size_t alen = v4 ? 4 : 16;
  if (best->has_gateway) std::memcpy(p.dst, best->gateway.data(), alen);
  for (const Neighbour& n : neighbours) {
    if (n.family != p.family || n.ifindex != best->oif ||
        std::memcmp(n.addr.data(), p.dst, alen) != 0)
      continue;
    std::memcpy(p.dmac, n.mac.data(), 6);
    std::memcpy(p.smac, out->second.mac.data(), 6);
    p.h_vlan_proto = 0;
    p.h_vlan_tci = 0;
    p.tot_len = uint16_t(mtu);  // the kernel's bpf_fib_set_fwd_params: mtu_result on success too
    return kFibSuccess;
  }
  return kFibNoNeighbour;
}

}  // namespace vigil::ebpf

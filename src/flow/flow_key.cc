#include "flow/flow_key.h"

namespace vigil::flow {

KeyedPacket MakeKey(const base::IpAddress& src, uint16_t src_port, const base::IpAddress& dst,
                    uint16_t dst_port, uint8_t proto, uint16_t vlan0, uint16_t vlan1) {
  KeyedPacket k;
  const int cmp = std::memcmp(src.bytes.data(), dst.bytes.data(), 16);
  k.src_is_lo = cmp < 0 || (cmp == 0 && src_port <= dst_port);
  const base::IpAddress& lo = k.src_is_lo ? src : dst;
  const base::IpAddress& hi = k.src_is_lo ? dst : src;
  k.key.addr_lo = lo.bytes;
  k.key.addr_hi = hi.bytes;
  k.key.port_lo = k.src_is_lo ? src_port : dst_port;
  k.key.port_hi = k.src_is_lo ? dst_port : src_port;
  k.key.vlan[0] = vlan0 & 0x0fff;
  k.key.vlan[1] = vlan1 & 0x0fff;
  k.key.proto = proto;
  k.key.family = src.family;
  k.hash = HashKey(k.key);
  return k;
}

bool MakeKey(const packet::Packet& p, KeyedPacket* out) {
  if (p.ip_version == 0 || p.is_fragment) return false;
  const bool ports = p.has_tcp || p.has_udp;
  *out = MakeKey(p.src_ip, ports ? p.src_port : 0, p.dst_ip, ports ? p.dst_port : 0, p.ip_proto,
                 p.vlan_count > 0 ? p.vlan_ids[0] : 0, p.vlan_count > 1 ? p.vlan_ids[1] : 0);
  return true;
}

}  // namespace vigil::flow

// TenantTable: who a packet belongs to. Tenants (the VMs or services behind the host) are named
// in the configuration with selectors; the first tenant whose selectors all match a packet owns
// it, and a packet no tenant claims belongs to the default tenant (the last one, "default"
// unless the configuration names its own).
//
//   tenants:
//     - name: web
//       weight: 3                      # share of a worker's CPU, against the others' weights
//       cap: 0.5                       # optional: never more than half a worker, even when idle
//       match:
//         prefixes: [10.77.0.2/32, "2001:db8::/32"]   # destination address (either direction
//                                                       # of a connection: see below)
//         vlans: [100]
//         interfaces: [va]             # where the packet came in
//       rule-files: [web.rules]        # optional: its own rules (engine/tenant_groups.h)
//       policy: ids                    # optional: alert only, even inline (or ips)
//     - name: default
//       weight: 1
//
// A selector kind that is absent matches anything; one that is given matches when any of its
// values does; a tenant matches when every kind it gives does. Prefixes are tried on the packet's
// destination first (over all tenants, in order), then on its source: traffic to a tenant is its
// own, and so are its replies, which go to a client no tenant claims.
//
//   auto table = tenant::TenantTable::Build(specs, {"va", "vb"});
//   uint32_t t = table->Classify(packet, /*interface index*/ 0);
//
// Cost: a scan of the tenants' selectors in order, a few comparisons each: meant for tens of
// tenants. When every tenant selects by prefixes alone (the usual table), an IPv4 packet is
// classified by a flat list of (network, mask, tenant): one AND and compare per prefix.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/ip_address.h"
#include "base/result.h"
#include "packet/packet.h"

namespace vigil::tenant {

class ProgramChain;

// One map element a program's maps start with: the map's name, and key and value as an unsigned
// integer (written little-endian in the map's key or value size) or as hex digits of exactly that
// many bytes ("0a000001"). Checked against the map when the program loads.
struct MapEntrySpec {
  std::string map;
  std::string key;
  std::string value;
  bool operator==(const MapEntrySpec&) const = default;
};

// One program of a tenant's ingress chain (program_chain.h).
struct ProgramSpec {
  std::string object;   // an offload vigil ships ("synproxy") or the path of an object file
  std::string section;  // the program's ELF section or function; "" = the object's first program
  std::vector<MapEntrySpec> map_entries;
  bool operator==(const ProgramSpec&) const = default;
};

struct TenantSpec {
  std::string name;
  uint32_t weight = 1;
  double cap = 1.0;                   // fraction of a worker, (0, 1]
  std::vector<std::string> prefixes;  // "10.0.0.0/8", "2001:db8::1" (a host)
  std::vector<uint16_t> vlans;
  std::vector<std::string> interfaces;
  // The XDP programs every packet of the tenant runs through, in order, before the IPS.
  std::vector<ProgramSpec> programs;
  // Its own rules (Suricata's multi-tenant detection): files, resolved; empty = the run's rules.
  std::vector<std::string> rule_files;
  // "ids": its matches alert and never drop, even inline; "ips": its drop rules drop (inline);
  // "": as the run.
  std::string policy;
};

class TenantTable {
 public:
  // `interfaces` names the capture's interfaces by index (Classify's `ingress`). Fails on a bad
  // prefix, a weight of 0, a cap outside (0, 1], a duplicate name, an interface that is not
  // captured, or a program that does not load, naming the tenant. Without a tenant named
  // "default", one (weight 1) is added last. With `previous` (a reload), a tenant of the same
  // name whose programs have not changed keeps its chain, maps and all (ProgramChain::Reusable).
  [[nodiscard]] static base::Result<TenantTable> Build(std::vector<TenantSpec> specs,
                                                       const std::vector<std::string>& interfaces,
                                                       const TenantTable* previous = nullptr);

  // The tenant of `p` (decoded), which arrived on interface `ingress`.
  [[nodiscard]] uint32_t Classify(const packet::Packet& p, uint32_t ingress) const;
  // The same from an Ethernet frame's bytes, before (or without) decoding it: what Classify
  // gives for the frame decoded (decode::Decoder, LinkType::kEthernet), from the few header
  // fields it reads — VLAN tags as the decoder keeps them, the IPv4 or IPv6 addresses of a header
  // the decoder accepts — so that a frame refused for its tenant's tokens costs no decoding.
  [[nodiscard]] uint32_t ClassifyFrame(std::span<const uint8_t> frame, uint32_t ingress) const;

  [[nodiscard]] uint32_t size() const { return uint32_t(specs_.size()); }
  [[nodiscard]] const TenantSpec& spec(uint32_t tenant) const { return specs_[tenant]; }
  [[nodiscard]] uint32_t default_tenant() const { return default_; }
  // The tenant's ingress programs, or null when it has none.
  [[nodiscard]] const ProgramChain* programs(uint32_t tenant) const {
    return chains_[tenant].get();
  }
  [[nodiscard]] bool has_programs() const { return has_programs_; }

 private:
  struct Prefix {
    base::IpAddress network;
    int length = 0;
  };
  struct Selector {
    std::vector<Prefix> prefixes;
    std::vector<uint16_t> vlans;
    std::vector<uint32_t> interfaces;  // indices
  };
  // What selectors look at: the outer VLAN tag (if any), the IP addresses (null: not IP).
  struct Keys {
    bool has_vlan = false;
    uint16_t vlan = 0;
    const base::IpAddress* src = nullptr;
    const base::IpAddress* dst = nullptr;
  };
  [[nodiscard]] uint32_t ClassifyKeys(const Keys& keys, uint32_t ingress) const;
  // The fast path of an IPv4 packet when v4_only_prefixes_ (addresses in host order).
  [[nodiscard]] uint32_t ClassifyV4(uint32_t src, uint32_t dst) const;
  struct V4Prefix {
    uint32_t network = 0;  // host order, masked
    uint32_t mask = 0;
    uint32_t tenant = 0;
  };
  std::vector<TenantSpec> specs_;
  std::vector<Selector> selectors_;  // per tenant; the default tenant's is never consulted
  uint32_t default_ = 0;
  std::vector<std::shared_ptr<ProgramChain>> chains_;  // per tenant; null: no programs
  bool has_programs_ = false;
  // Every tenant but the default selects by prefixes alone (no VLAN, no interface): an IPv4
  // packet is then classified by v4_, every tenant's IPv4 prefixes in tenant order.
  bool v4_only_prefixes_ = false;
  std::vector<V4Prefix> v4_;
};

}  // namespace vigil::tenant

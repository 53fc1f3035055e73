// Config: the run configuration read from a YAML file in Suricata's layout (`-c FILE`).
//
//   vars:
//     address-groups: { HOME_NET: "[10.0.0.0/8]", EXTERNAL_NET: "!$HOME_NET" }
//     port-groups:    { HTTP_PORTS: "[80,8080]" }
//   default-rule-path: /etc/vigil/rules      # rule-files are relative to it
//   rule-files: [ local.rules, emerging-exploit.rules ]
//   classification-file: /etc/vigil/classification.config
//   host-os-policy:                          # how each network's hosts resolve overlapping
//     windows: [10.1.0.0/16]                 # TCP segments and IP fragments (default bsd)
//     linux: ["2001:db8::/32"]
//   action-order: [pass, drop, reject, alert]  # which matches take effect first (the default)
//   packet-alert-max: 15                     # alerts reported per packet, 1..255 (the default);
//                                            # the rest are discarded and counted
//   tenants:                                 # CPU shares (tenant/tenant_table.h); live runs
//     - name: web                            # demultiplex, admit and account by tenant
//       weight: 3
//       match: { prefixes: [10.0.1.0/24], vlans: [100], interfaces: [eth1] }
//       programs: [ synproxy, filters/udp_guard.o ]  # XDP chain (tenant/program_chain.h)
//   stream:
//     midstream: true                        # pick up TCP flows whose handshake was not seen
//     ttl-limit: 5                           # ignore segments whose TTL falls this far below
//                                            # the sender's first (TTL insertion; off by default)
//
// Keys vigil does not use are ignored, so a Suricata config loads as it is. Values are kept as
// text; the rule loader parses variables when it needs them.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"
#include "tenant/tenant_table.h"

namespace vigil::engine {

struct Config {
  std::vector<std::pair<std::string, std::string>> address_vars;  // name without '$', value
  std::vector<std::pair<std::string, std::string>> port_vars;
  std::vector<std::string> rule_files;  // resolved against default-rule-path
  std::string classification_file;      // "" = the built-in table
  // host-os-policy: (policy name as reassembly::ParsePolicy reads it, network), in file order.
  std::vector<std::pair<std::string, std::string>> host_os_policy;
  std::optional<bool> stream_midstream;     // stream.midstream
  std::optional<uint8_t> stream_ttl_limit;  // stream.ttl-limit
  std::string threshold_file;               // threshold-file: "" = none
  // action-order: pass, drop, reject, alert in the order they take effect; empty = the default.
  std::vector<std::string> action_order;
  std::optional<uint32_t> packet_alert_max;  // packet-alert-max (1..255)
  // tenants: in file order (the first match wins); empty: no tenant stage.
  std::vector<tenant::TenantSpec> tenants;

  // Reads `path`. Errors name the file, and the line and column where YAML places them.
  [[nodiscard]] static base::Result<Config> Load(const std::string& path);

  // One setting given on the command line as Suricata's `--set KEY=VALUE`: stream.midstream,
  // stream.ttl-limit, threshold-file, packet-alert-max. Fails on another key or a bad value.
  [[nodiscard]] base::Status Set(std::string_view key, std::string_view value);
};

}  // namespace vigil::engine

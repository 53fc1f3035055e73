// Config: the run configuration read from a YAML file in Suricata's layout (`-c FILE`).
//
//   vars:
//     address-groups: { HOME_NET: "[10.0.0.0/8]", EXTERNAL_NET: "!$HOME_NET" }
//     port-groups:    { HTTP_PORTS: "[80,8080]" }
//   default-rule-path: /etc/vigil/rules      # rule-files are relative to it
//   rule-files: [ local.rules, emerging-exploit.rules ]
//   classification-file: /etc/vigil/classification.config
//
// Keys vigil does not use are ignored, so a Suricata config loads as it is. Values are kept as
// text; the rule loader parses variables when it needs them.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "base/result.h"

namespace vigil::engine {

struct Config {
  std::vector<std::pair<std::string, std::string>> address_vars;  // name without '$', value
  std::vector<std::pair<std::string, std::string>> port_vars;
  std::vector<std::string> rule_files;  // resolved against default-rule-path
  std::string classification_file;      // "" = the built-in table

  // Reads `path`. Errors name the file, and the line and column where YAML places them.
  [[nodiscard]] static base::Result<Config> Load(const std::string& path);
};

}  // namespace vigil::engine

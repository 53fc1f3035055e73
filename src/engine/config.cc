#include "engine/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>

namespace vigil::engine {
namespace {

constexpr int kMaxPacketAlertMax = 255;  // Suricata's bound

base::Error YamlError(const std::string& path, const YAML::Mark& mark, std::string message) {
  return base::Error{std::move(message), path, uint32_t(mark.line + 1), uint32_t(mark.column + 1)};
}

base::Status ReadVars(const std::string& path, const YAML::Node& node,
                      std::vector<std::pair<std::string, std::string>>& out) {
  if (!node) return {};
  if (!node.IsMap()) return YamlError(path, node.Mark(), "expected a map of variables");
  for (const auto& kv : node) {
    if (!kv.second.IsScalar()) {
      return YamlError(path, kv.second.Mark(), "variable value must be a string");
    }
    out.emplace_back(kv.first.as<std::string>(), kv.second.as<std::string>());
  }
  return {};
}

// One item of a tenant's `programs:` (tenant/program_chain.h): an offload's name or an object's
// path, or a map {program, section, maps: {NAME: [[KEY, VALUE], ...]}}. A relative path is taken
// from the configuration file's directory.
base::Result<tenant::ProgramSpec> ReadProgram(const std::string& path, const YAML::Node& node) {
  tenant::ProgramSpec spec;
  // (Not assigned later: assigning a yaml-cpp node writes into the node it refers to.)
  const YAML::Node object = node.IsMap() ? node["program"] : node;
  if (node.IsMap()) {
    if (!object) return YamlError(path, node.Mark(), "a program needs `program: NAME or PATH`");
    if (YAML::Node sec = node["section"]) spec.section = sec.as<std::string>();
    if (YAML::Node maps = node["maps"]) {
      if (!maps.IsMap()) return YamlError(path, maps.Mark(), "maps must be a map of map names");
      for (const auto& kv : maps) {
        const std::string name = kv.first.as<std::string>();
        if (!kv.second.IsSequence()) {
          return YamlError(path, kv.second.Mark(), "map " + name + ": a list of [key, value]");
        }
        for (const YAML::Node& pair : kv.second) {
          if (!pair.IsSequence() || pair.size() != 2 || !pair[0].IsScalar() ||
              !pair[1].IsScalar()) {
            return YamlError(path, pair.Mark(), "map " + name + ": each element is [key, value]");
          }
          spec.map_entries.push_back({name, pair[0].as<std::string>(), pair[1].as<std::string>()});
        }
      }
    }
  }
  if (!object.IsScalar()) {
    return YamlError(path, node.Mark(), "a program is a name, a path or a map");
  }
  spec.object = object.as<std::string>();
  if (spec.object.find('/') != std::string::npos || spec.object.ends_with(".o")) {
    std::filesystem::path p = spec.object;
    if (p.is_relative()) spec.object = (std::filesystem::path(path).parent_path() / p).string();
  }
  return spec;
}

// Suricata's host-os-policy names, mapped to the overlap policies vigil implements (overlap.h):
// the older and newer variants of one stack resolve overlaps alike.
std::optional<std::string> PolicyAlias(const std::string& name) {
  static const std::pair<const char*, const char*> kNames[] = {
      {"first", "first"},     {"last", "last"},       {"linux", "linux"},
      {"old-linux", "linux"}, {"bsd", "bsd"},         {"bsd-right", "bsd-right"},
      {"macos", "macos"},     {"windows", "windows"}, {"windows2k3", "windows"},
      {"vista", "windows"},   {"solaris", "solaris"}, {"old-solaris", "solaris"}};
  for (const auto& [from, to] : kNames) {
    if (name == from) return std::string(to);
  }
  return std::nullopt;
}

}  // namespace

base::Result<Config> Config::Load(const std::string& path) {
  // yaml-cpp reports errors by exception; they stop here, on the build side.
  try {
    if (!std::filesystem::is_regular_file(path)) return base::Error{"no such file", path};
    YAML::Node root = YAML::LoadFile(path);
    Config c;
    if (!root || root.IsNull()) return c;
    if (!root.IsMap()) return YamlError(path, root.Mark(), "expected a YAML map at the top");
    if (YAML::Node vars = root["vars"]) {
      if (auto s = ReadVars(path, vars["address-groups"], c.address_vars); !s) return s.error();
      if (auto s = ReadVars(path, vars["port-groups"], c.port_vars); !s) return s.error();
    }
    std::filesystem::path base = std::filesystem::path(path).parent_path();
    if (YAML::Node d = root["default-rule-path"]) {
      std::filesystem::path p = d.as<std::string>();
      base = p.is_absolute() ? p : base / p;
    }
    if (YAML::Node files = root["rule-files"]) {
      if (!files.IsSequence()) return YamlError(path, files.Mark(), "rule-files must be a list");
      for (const auto& f : files) {
        std::filesystem::path p = f.as<std::string>();
        c.rule_files.push_back((p.is_absolute() ? p : base / p).string());
      }
    }
    if (YAML::Node cf = root["classification-file"]) {
      std::filesystem::path p = cf.as<std::string>();
      c.classification_file =
          (p.is_absolute() ? p : std::filesystem::path(path).parent_path() / p).string();
    }
    if (YAML::Node hp = root["host-os-policy"]) {
      if (!hp.IsMap()) return YamlError(path, hp.Mark(), "host-os-policy must be a map");
      for (const auto& kv : hp) {
        std::string name = kv.first.as<std::string>();
        std::optional<std::string> policy = PolicyAlias(name);
        if (!policy) {
          return YamlError(path, kv.first.Mark(), "unknown host-os-policy '" + name + "'");
        }
        if (kv.second.IsNull()) continue;
        if (!kv.second.IsSequence()) {
          return YamlError(path, kv.second.Mark(), "host-os-policy entries must be lists");
        }
        for (const auto& net : kv.second)
          c.host_os_policy.emplace_back(*policy, net.as<std::string>());
      }
    }
    if (YAML::Node stream = root["stream"]) {
      if (YAML::Node m = stream["midstream"]) c.stream_midstream = m.as<bool>();
      if (YAML::Node t = stream["ttl-limit"]) {
        int limit = t.as<int>();
        if (limit < 0 || limit > 255) {
          return YamlError(path, t.Mark(), "stream.ttl-limit must be 0..255");
        }
        c.stream_ttl_limit = uint8_t(limit);
      }
    }
    if (YAML::Node ao = root["action-order"]) {
      if (!ao.IsSequence()) return YamlError(path, ao.Mark(), "action-order must be a list");
      for (const auto& a : ao) {
        std::string name = a.as<std::string>();
        if (name != "pass" && name != "drop" && name != "reject" && name != "alert") {
          return YamlError(path, a.Mark(), "unknown action '" + name + "' in action-order");
        }
        if (std::find(c.action_order.begin(), c.action_order.end(), name) != c.action_order.end()) {
          return YamlError(path, a.Mark(), "action '" + name + "' given twice in action-order");
        }
        c.action_order.push_back(name);
      }
      if (c.action_order.size() != 4) {
        return YamlError(path, ao.Mark(), "action-order must name pass, drop, reject and alert");
      }
    }
    if (YAML::Node pm = root["packet-alert-max"]) {
      // Suricata keeps its default for a value outside 1..255; a config that asks for one is
      // wrong, so vigil says so.
      int max = pm.as<int>();
      if (max < 1 || max > kMaxPacketAlertMax) {
        return YamlError(path, pm.Mark(), "packet-alert-max must be 1..255");
      }
      c.packet_alert_max = uint32_t(max);
    }
    if (YAML::Node ts = root["tenants"]) {
      if (!ts.IsSequence()) return YamlError(path, ts.Mark(), "tenants must be a list");
      for (const YAML::Node& t : ts) {
        if (!t.IsMap()) return YamlError(path, t.Mark(), "a tenant must be a map (name, ...)");
        tenant::TenantSpec spec;
        if (YAML::Node n = t["name"]) spec.name = n.as<std::string>();
        if (YAML::Node w = t["weight"]) {
          int64_t weight = w.as<int64_t>();
          if (weight < 1 || weight > 1'000'000) {
            return YamlError(path, w.Mark(), "tenant weight must be 1..1000000");
          }
          spec.weight = uint32_t(weight);
        }
        if (YAML::Node cap = t["cap"]) spec.cap = cap.as<double>();
        if (YAML::Node m = t["match"]) {
          for (const char* key : {"prefixes", "vlans", "interfaces"}) {
            if (m[key] && !m[key].IsSequence()) {
              return YamlError(path, m[key].Mark(),
                               std::string("match.") + key + " must be a list");
            }
          }
          if (YAML::Node v = m["prefixes"]) {
            for (const auto& x : v) spec.prefixes.push_back(x.as<std::string>());
          }
          if (YAML::Node v = m["vlans"]) {
            for (const auto& x : v) {
              int vlan = x.as<int>();
              if (vlan < 0 || vlan > 4095) return YamlError(path, x.Mark(), "a VLAN id is 0..4095");
              spec.vlans.push_back(uint16_t(vlan));
            }
          }
          if (YAML::Node v = m["interfaces"]) {
            for (const auto& x : v) spec.interfaces.push_back(x.as<std::string>());
          }
        }
        if (YAML::Node files = t["rule-files"]) {
          if (!files.IsSequence()) {
            return YamlError(path, files.Mark(), "a tenant's rule-files must be a list");
          }
          for (const auto& f : files) {
            std::filesystem::path p = f.as<std::string>();
            spec.rule_files.push_back((p.is_absolute() ? p : base / p).string());
          }
        }
        if (YAML::Node policy = t["policy"]) {
          spec.policy = policy.as<std::string>();
          if (spec.policy != "ids" && spec.policy != "ips") {
            return YamlError(path, policy.Mark(), "a tenant's policy is ids or ips");
          }
        }
        if (YAML::Node ps = t["programs"]) {
          if (!ps.IsSequence()) return YamlError(path, ps.Mark(), "programs must be a list");
          for (const YAML::Node& p : ps) {
            auto program = ReadProgram(path, p);
            if (!program) return program.error();
            spec.programs.push_back(std::move(*program));
          }
        }
        c.tenants.push_back(std::move(spec));
      }
    }
    if (YAML::Node tf = root["threshold-file"]) {
      std::filesystem::path p = tf.as<std::string>();
      c.threshold_file =
          (p.is_absolute() ? p : std::filesystem::path(path).parent_path() / p).string();
    }
    return c;
  } catch (const YAML::Exception& e) {
    return YamlError(path, e.mark, e.msg);
  }
}

base::Status Config::Set(std::string_view key, std::string_view value) {
  std::string v(value);
  auto bad = [&] {
    return base::MakeError("--set " + std::string(key) + ": bad value '" + v + "'");
  };
  if (key == "stream.midstream") {
    if (v == "true" || v == "yes" || v == "1") {
      stream_midstream = true;
    } else if (v == "false" || v == "no" || v == "0") {
      stream_midstream = false;
    } else {
      return bad();
    }
    return {};
  }
  if (key == "stream.ttl-limit") {
    if (v.empty() || v.size() > 3 || v.find_first_not_of("0123456789") != std::string::npos ||
        std::stoi(v) > 255) {
      return bad();
    }
    stream_ttl_limit = uint8_t(std::stoi(v));
    return {};
  }
  if (key == "packet-alert-max") {
    if (v.empty() || v.size() > 3 || v.find_first_not_of("0123456789") != std::string::npos ||
        std::stoi(v) < 1 || std::stoi(v) > kMaxPacketAlertMax) {
      return bad();
    }
    packet_alert_max = uint32_t(std::stoi(v));
    return {};
  }
  if (key == "threshold-file") {
    if (v.empty()) return bad();
    threshold_file = v;
    return {};
  }
  return base::MakeError(
      "--set: unknown setting '" + std::string(key) +
      "' (known: stream.midstream, stream.ttl-limit, threshold-file, packet-alert-max)");
}

}  // namespace vigil::engine

// suricata_verify: runs the qualifying tests of Suricata's own verification suite
// (../shared/testdata/suricata-verify-classic) through the `vigil` binary and checks each test's
// alert expectations.
//
//   suricata_verify --suite ../shared/testdata/suricata-verify-classic --vigil build/src/cli/vigil
//       [--must-pass tests/conformance/suricata_verify_passing.txt] [--only NAME] [-v]
//
// For every test in qualifying.json: vigil runs on the test's pcap with its rules (and its
// suricata.yaml as `-c`, for the address and port variables), then every `filter` check of
// test.yaml whose `match` has `event_type: alert` is evaluated on vigil's eve.json: the number of
// alert events whose fields equal every `match` entry (dotted keys reach into objects; a last key
// `__len` is the length of a string, array or object) must equal `count`. Checks on other event
// types (flow, stats, http, ...) are outside what vigil emits and are listed as skipped, as are
// checks limited to Suricata versions before 8 (`lt-version`). A test with no alert check left is
// reported as skipped, not passed.
//
// Prints PASS/FAIL/SKIP per test with the reason, then exactly one last line
//   suricata-verify: N passed, M failed
// Exit status: 0 unless a test named in the --must-pass file failed or the suite is unreadable;
// 77 (skipped) when the suite is absent.
#include <sys/wait.h>
#include <yaml-cpp/yaml.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct Options {
  fs::path suite;
  fs::path vigil;
  fs::path must_pass;
  std::string only;
  bool verbose = false;
};

std::string ReadAll(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// The value at a dotted path ("alert.signature_id") in an EVE event, or null.
const json* Lookup(const json& event, const std::string& dotted) {
  const json* cur = &event;
  size_t start = 0;
  while (start <= dotted.size()) {
    size_t dot = dotted.find('.', start);
    std::string key =
        dotted.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!cur->is_object() || !cur->contains(key)) return nullptr;
    cur = &(*cur)[key];
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return cur;
}

// Does an EVE value equal a YAML scalar as Suricata-verify compares them (numbers as numbers,
// booleans as booleans, everything else as text)?
bool ScalarEquals(const json& value, const YAML::Node& expected) {
  std::string text = expected.Scalar();
  if (value.is_boolean())
    return (text == "true") == value.get<bool>() && (text == "true" || text == "false");
  if (value.is_number()) {
    char* end = nullptr;
    double d = std::strtod(text.c_str(), &end);
    return end != text.c_str() && *end == '\0' && d == value.get<double>();
  }
  if (value.is_string()) return value.get<std::string>() == text;
  return false;
}

// The `match` map of a filter as (dotted key, scalar) pairs: nested maps ({alert: {sid: 1}}) become
// "alert.sid".
void Flatten(const YAML::Node& node, const std::string& prefix,
             std::vector<std::pair<std::string, YAML::Node>>& out) {
  for (const auto& kv : node) {
    std::string key = prefix.empty() ? kv.first.Scalar() : prefix + "." + kv.first.Scalar();
    if (kv.second.IsMap()) {
      Flatten(kv.second, key, out);
    } else {
      out.emplace_back(key, kv.second);
    }
  }
}

// A filter about alerts: `event_type: alert`, or no event_type and some `alert.` field.
bool IsAlertCheck(const YAML::Node& match) {
  if (!match || !match.IsMap()) return false;
  if (match["event_type"]) return match["event_type"].Scalar() == "alert";
  for (const auto& kv : match) {
    if (kv.first.Scalar() == "alert" || kv.first.Scalar().starts_with("alert.")) return true;
  }
  return false;
}

struct Outcome {
  enum Kind { kPass, kFail, kSkip } kind = kSkip;
  std::string reason;
};

// Version gates of a check or test: vigil answers as Suricata 8 would.
bool AppliesToVersion8(const YAML::Node& requires_node) {
  if (!requires_node) return true;
  if (auto lt = requires_node["lt-version"]) return std::atof(lt.Scalar().c_str()) > 8;
  if (auto min = requires_node["min-version"]) return std::atof(min.Scalar().c_str()) < 9;
  return true;
}

// The test's Suricata command-line arguments that vigil has an equivalent for: --simulate-ips,
// -k MODE, and --set for the settings vigil knows (stream.midstream, threshold-file), with
// ${TEST_DIR} expanded. Others (--runmode, app-layer settings, ...) are left out.
std::string TranslateArgs(const YAML::Node& args, const fs::path& dir) {
  if (!args || !args.IsSequence()) return "";
  std::vector<std::string> words;
  for (const auto& a : args) {
    std::istringstream in(a.Scalar());
    for (std::string w; in >> w;) words.push_back(w);
  }
  std::string out;
  for (size_t i = 0; i < words.size(); ++i) {
    const std::string& w = words[i];
    if (w == "--simulate-ips") {
      out += " --simulate-ips";
    } else if (w == "-k" && i + 1 < words.size()) {
      out += " -k " + Quote(words[++i]);
    } else if (w == "--set" && i + 1 < words.size()) {
      std::string kv = words[++i];
      for (size_t at; (at = kv.find("${TEST_DIR}")) != std::string::npos;) {
        kv.replace(at, 11, dir.string());
      }
      if (kv.starts_with("stream.midstream=") || kv.starts_with("threshold-file=")) {
        out += " --set " + Quote(kv);
      }
    }
  }
  return out;
}

Outcome RunTest(const Options& opt, const json& entry, const fs::path& work) {
  std::string name = entry.at("test");
  fs::path dir = opt.suite / "tests" / name;
  YAML::Node spec;
  try {
    spec = YAML::LoadFile((dir / "test.yaml").string());
  } catch (const YAML::Exception& e) {
    return {Outcome::kFail, "test.yaml: " + std::string(e.what())};
  }
  if (!AppliesToVersion8(spec["requires"]))
    return {Outcome::kSkip, "requires a Suricata version other than 8"};

  fs::path out = work / name;
  fs::remove_all(out);
  fs::create_directories(out);
  std::string cmd = Quote(opt.vigil.string()) + " -r " +
                    Quote((opt.suite / entry.at("pcap").get<std::string>()).string()) + " -R " +
                    Quote((opt.suite / entry.at("rules_file").get<std::string>()).string()) +
                    " -l " + Quote(out.string()) + " -A json";
  if (fs::exists(dir / "suricata.yaml")) cmd += " -c " + Quote((dir / "suricata.yaml").string());
  if (fs::exists(dir / "threshold.config"))
    cmd += " --threshold-file " + Quote((dir / "threshold.config").string());
  cmd += TranslateArgs(spec["args"], dir);
  cmd += " >" + Quote((out / "vigil.log").string()) + " 2>&1";
  int status = std::system(cmd.c_str());
  std::string log = ReadAll(out / "vigil.log");
  // A rule vigil skipped (failed or disabled) means the test's expectations are not vigil's
  // findings, even when they happen to hold (an expected count of 0, say).
  size_t tally = log.find("rules: loaded=");
  if (tally == std::string::npos)
    return {Outcome::kFail, "vigil printed no rule tally: " + log.substr(0, 200)};
  std::string tally_line = log.substr(tally, log.find('\n', tally) - tally);
  if (tally_line.find(" failed=0 ") == std::string::npos ||
      tally_line.find(" disabled=0") == std::string::npos) {
    return {Outcome::kFail, "not every rule is evaluated (" + tally_line + ")"};
  }
  std::string exit_note;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    size_t err = log.rfind("vigil: ");
    exit_note =
        " [vigil exited " + std::to_string(WEXITSTATUS(status)) +
        (err == std::string::npos ? "" : ": " + log.substr(err, log.find('\n', err) - err)) + "]";
  }

  std::vector<json> events;
  std::istringstream eve(ReadAll(out / "eve.json"));
  for (std::string line; std::getline(eve, line);) {
    if (!line.empty()) events.push_back(json::parse(line));
  }

  int evaluated = 0;
  std::string failures;
  int skipped_checks = 0;
  for (const YAML::Node& check : spec["checks"]) {
    YAML::Node filter = check["filter"];
    if (!filter) {
      ++skipped_checks;  // shell or other check kinds
      continue;
    }
    YAML::Node match = filter["match"];
    if (!AppliesToVersion8(filter["requires"]) || !IsAlertCheck(match)) {
      ++skipped_checks;
      continue;
    }
    int want = filter["count"].as<int>();
    int got = 0;
    std::vector<std::pair<std::string, YAML::Node>> fields;
    Flatten(match, "", fields);
    for (const json& ev : events) {
      bool all = true;
      for (const auto& [key, expected] : fields) {
        // `field.__len`: suricata-verify's length of a string, array or object.
        json length;
        const json* v = nullptr;
        if (key.ends_with(".__len")) {
          const json* of = Lookup(ev, key.substr(0, key.size() - 6));
          if (of && (of->is_string() || of->is_array() || of->is_object())) {
            length = of->is_string() ? of->get_ref<const std::string&>().size() : of->size();
            v = &length;
          }
        } else {
          v = Lookup(ev, key);
        }
        if (!v || !expected.IsScalar() || !ScalarEquals(*v, expected)) {
          all = false;
          break;
        }
      }
      got += all;
    }
    ++evaluated;
    if (got != want) {
      std::string desc;
      for (const auto& kv : match) {
        if (kv.first.Scalar() != "event_type")
          desc += " " + kv.first.Scalar() + "=" + kv.second.Scalar();
      }
      failures += "; alerts{" + desc.substr(desc.empty() ? 0 : 1) + "}: expected " +
                  std::to_string(want) + ", got " + std::to_string(got);
    }
  }
  if (evaluated == 0) return {Outcome::kSkip, "no alert checks"};
  std::string note =
      skipped_checks ? " (" + std::to_string(skipped_checks) + " non-alert checks skipped)" : "";
  if (!failures.empty()) return {Outcome::kFail, failures.substr(2) + note};
  return {Outcome::kPass, std::to_string(evaluated) + " alert checks" + note};
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << "suricata_verify: " << a << " needs a value\n";
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--suite")
      opt.suite = next();
    else if (a == "--vigil")
      opt.vigil = next();
    else if (a == "--must-pass")
      opt.must_pass = next();
    else if (a == "--only")
      opt.only = next();
    else if (a == "-v")
      opt.verbose = true;
    else {
      std::cerr << "usage: suricata_verify --suite DIR --vigil BIN [--must-pass FILE] [--only "
                   "NAME] [-v]\n";
      return 2;
    }
  }
  fs::path qualifying = opt.suite / "qualifying.json";
  if (!fs::exists(qualifying)) {
    std::cerr << "suricata_verify: skipped: " << qualifying.string()
              << " not found; is ../shared present?\n";
    return 77;  // ctest's SKIP_RETURN_CODE (tests/CMakeLists.txt)
  }
  std::set<std::string> must_pass;
  if (!opt.must_pass.empty()) {
    std::istringstream in(ReadAll(opt.must_pass));
    for (std::string line; std::getline(in, line);) {
      if (!line.empty() && line[0] != '#') must_pass.insert(line);
    }
  }
  json tests = json::parse(ReadAll(qualifying));
  fs::path work = fs::temp_directory_path() / "vigil_suricata_verify";
  int passed = 0, failed = 0, skipped = 0;
  std::vector<std::string> regressions;
  for (const json& entry : tests) {
    std::string name = entry.at("test");
    if (!opt.only.empty() && name != opt.only) continue;
    Outcome o = RunTest(opt, entry, work);
    const char* tag = o.kind == Outcome::kPass   ? "PASS"
                      : o.kind == Outcome::kFail ? "FAIL"
                                                 : "SKIP";
    std::cout << tag << "  " << name << ": " << o.reason << "\n";
    if (o.kind == Outcome::kPass) ++passed;
    if (o.kind == Outcome::kFail) ++failed;
    if (o.kind == Outcome::kSkip) ++skipped;
    if (o.kind != Outcome::kPass && must_pass.count(name)) regressions.push_back(name);
  }
  for (const auto& r : regressions) std::cout << "REGRESSION  " << r << " is listed as passing\n";
  std::cout << "skipped: " << skipped << "\n";
  std::cout << "suricata-verify: " << passed << " passed, " << failed << " failed\n";
  return regressions.empty() ? 0 : 1;
}

#include "ebpf/verifier/corpus.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "ebpf/asm.h"
#include "fmt/format.h"

namespace vigil::ebpf::verifier {
namespace {

std::string Trim(std::string s) {
  const size_t a = s.find_first_not_of(" \t");
  if (a == std::string::npos) return "";
  const size_t b = s.find_last_not_of(" \t\r");
  return s.substr(a, b - a + 1);
}

base::Result<uint32_t> MapTypeByName(const std::string& name) {
  static const std::pair<const char*, uint32_t> kTypes[] = {{"hash", kMapHash},
                                                            {"array", kMapArray},
                                                            {"prog_array", kMapProgArray},
                                                            {"percpu_hash", kMapPerCpuHash},
                                                            {"percpu_array", kMapPerCpuArray},
                                                            {"lru_hash", kMapLruHash},
                                                            {"lpm_trie", kMapLpmTrie},
                                                            {"devmap", kMapDevmap}};
  for (const auto& [n, t] : kTypes)
    if (name == n) return t;
  return base::MakeError(fmt::format("unknown map type '{}'", name));
}

}  // namespace

base::Result<std::vector<CorpusCase>> LoadCorpus(const std::string& source_dir,
                                                 const std::string& object_dir) {
  namespace fs = std::filesystem;
  std::vector<CorpusCase> out;
  for (const char* kind : {"pass", "fail"}) {
    const fs::path dir = fs::path(source_dir) / kind;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      const fs::path p = entry.path();
      const std::string ext = p.extension().string();
      if (ext != ".c" && ext != ".asm") continue;
      CorpusCase c;
      c.name = fmt::format("{}/{}", kind, p.stem().string());
      c.path = p.string();
      c.must_pass = std::string(kind) == "pass";
      std::ifstream in(p);
      if (!in) return base::Error{"cannot read", c.path};
      std::stringstream text;
      text << in.rdbuf();
      const std::string comment = ext == ".c" ? "//" : "#";
      std::string line, *last = nullptr;
      std::istringstream lines(text.str());
      uint32_t line_no = 0;
      while (std::getline(lines, line)) {
        ++line_no;
        const std::string t = Trim(line);
        if (t.rfind(comment, 0) != 0) {
          last = nullptr;
          continue;
        }
        const std::string body = Trim(t.substr(comment.size()));
        auto field = [&](const char* key, std::string* dst) {
          const std::string k = std::string(key) + ":";
          if (body.rfind(k, 0) != 0) return false;
          *dst = Trim(body.substr(k.size()));
          last = dst;
          return true;
        };
        if (field("why", &c.why) || field("strict", &c.strict) || field("expect", &c.expect))
          continue;
        if (body.rfind("map:", 0) == 0) {
          std::istringstream m(body.substr(4));
          std::string type;
          MapSpec spec;
          if (!(m >> type >> spec.key_size >> spec.value_size >> spec.max_entries))
            return base::Error{"bad map line", c.path, line_no};
          auto t2 = MapTypeByName(type);
          if (!t2) return base::Error{t2.error().message, c.path, line_no};
          spec.type = *t2;
          spec.name = fmt::format("map{}", c.maps.size());
          c.maps.push_back(spec);
          last = nullptr;
          continue;
        }
        // A continuation line of the previous field.
        if (last != nullptr && !body.empty()) *last += " " + body;
      }
      if (ext == ".c") {
        // Built twice (src/ebpf/CMakeLists.txt): clang's default instruction set and v3.
        CorpusCase v3 = c;
        c.object = (fs::path(object_dir) / kind / (p.stem().string() + ".v1.o")).string();
        v3.name += "@v3";
        v3.object = (fs::path(object_dir) / kind / (p.stem().string() + ".v3.o")).string();
        if (!v3.must_pass && v3.why.empty())
          return base::Error{"an unsafe program without a `why:` line", v3.path};
        out.push_back(std::move(v3));
      } else {
        auto insns = Assemble(text.str());
        if (!insns) {
          base::Error e = insns.error();
          e.file = c.path;
          return e;
        }
        c.insns = std::move(*insns);
      }
      if (!c.must_pass && c.why.empty())
        return base::Error{"an unsafe program without a `why:` line", c.path};
      out.push_back(std::move(c));
    }
  }
  std::sort(out.begin(), out.end(),
            [](const CorpusCase& a, const CorpusCase& b) { return a.name < b.name; });
  return out;
}

}  // namespace vigil::ebpf::verifier

#include "rules/threshold_config.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>

#include "rules/config_text.h"
#include "rules/lexer.h"

namespace vigil::rules {

namespace {

base::Error ErrorAt(const std::string& file, uint32_t line, size_t offset, std::string message) {
  base::Error e{std::move(message)};
  e.file = file;
  e.line = line;
  e.column = uint32_t(offset + 1);
  return e;
}

// One `name value` argument.
struct Arg {
  Token name;
  Token value;
  bool used = false;
};

// Splits at commas outside [...] (an `ip` list holds commas), each piece into name and value.
void SplitArgs(Token body, std::vector<Arg>& out) {
  out.clear();
  int depth = 0;
  size_t start = 0;
  std::string_view t = body.text;
  for (size_t i = 0; i <= t.size(); ++i) {
    if (i < t.size()) {
      if (t[i] == '[') ++depth;
      if (t[i] == ']' && depth > 0) --depth;
      if (t[i] != ',' || depth > 0) continue;
    }
    Token piece = Trim(Token{t.substr(start, i - start), body.offset + start});
    size_t space = 0;
    while (space < piece.text.size() && !IsSpace(piece.text[space])) ++space;
    out.push_back(Arg{Token{piece.text.substr(0, space), piece.offset},
                      Trim(Token{piece.text.substr(space), piece.offset + space}), false});
    start = i + 1;
  }
}

class LineParser {
 public:
  LineParser(const std::string& file, uint32_t line, const Variables& vars)
      : file_(file), line_(line), vars_(vars) {}

  base::Error Fail(size_t offset, std::string message) const {
    return ErrorAt(file_, line_, offset, std::move(message));
  }

  // Reads the arguments after the directive; fails on an empty or repeated one.
  base::Status Read(Token body, std::string_view directive) {
    directive_ = directive;
    end_ = body.offset + body.text.size();
    SplitArgs(body, args_);
    for (size_t i = 0; i < args_.size(); ++i) {
      const Arg& a = args_[i];
      if (a.name.text.empty()) return Fail(a.name.offset, "empty argument (two ',' in a row?)");
      for (size_t j = 0; j < i; ++j) {
        if (args_[j].name.text == a.name.text) {
          return Fail(a.name.offset, "'" + std::string(a.name.text) + "' given twice");
        }
      }
    }
    return {};
  }

  // The argument `name`, or nullptr (after reporting through `error` when required).
  Arg* Find(std::string_view name) {
    for (Arg& a : args_) {
      if (a.name.text == name) {
        a.used = true;
        return &a;
      }
    }
    return nullptr;
  }

  base::Result<Arg*> Need(std::string_view name) {
    Arg* a = Find(name);
    if (a == nullptr) {
      return Fail(end_, std::string(directive_) + " needs '" + std::string(name) + " ...'");
    }
    if (a->value.text.empty()) return Fail(a->name.offset, std::string(name) + " needs a value");
    return a;
  }

  base::Result<uint32_t> Number(std::string_view name, uint32_t min) {
    auto a = Need(name);
    if (!a) return a.error();
    const Token& v = (*a)->value;
    uint64_t n = 0;
    bool ok = !v.text.empty() && v.text.size() <= 10;
    for (char c : v.text) {
      if (c < '0' || c > '9') ok = false;
      if (ok) n = n * 10 + uint64_t(c - '0');
    }
    if (!ok || n < min || n > 0xffffffffu) {
      return Fail(v.offset, std::string(name) + " must be an integer from " + std::to_string(min) +
                                " to 4294967295, found '" + std::string(v.text) + "'");
    }
    return uint32_t(n);
  }

  base::Result<Track> TrackArg(std::initializer_list<std::pair<std::string_view, Track>> allowed) {
    auto a = Need("track");
    if (!a) return a.error();
    std::string names;
    for (const auto& [name, t] : allowed) {
      if (name == (*a)->value.text) return t;
      names += names.empty() ? "" : ", ";
      names += name;
    }
    return Fail((*a)->value.offset, "track must be one of " + names + ", found '" +
                                        std::string((*a)->value.text) + "'");
  }

  base::Result<AddressExpr> Address(const Arg& a) {
    if (a.value.text.empty())
      return Fail(a.name.offset, std::string(a.name.text) + " needs a value");
    auto addr = ParseAddress(a.value.text, vars_);
    if (!addr) {
      base::Error e = addr.error();
      e.file = file_;
      e.line = line_;
      e.column = uint32_t(a.value.offset) + (e.column > 0 ? e.column : 1);
      return e;
    }
    return std::move(*addr);
  }

  // Fails on an argument no Find asked for.
  base::Status NoOthers() const {
    for (const Arg& a : args_) {
      if (!a.used) {
        return Fail(a.name.offset, "unknown " + std::string(directive_) + " argument '" +
                                       std::string(a.name.text) + "'");
      }
    }
    return {};
  }

  uint32_t line() const { return line_; }

 private:
  const std::string& file_;
  uint32_t line_;
  const Variables& vars_;
  std::string_view directive_;
  size_t end_ = 0;
  std::vector<Arg> args_;
};

constexpr std::pair<std::string_view, Track> kThresholdTracks[] = {{"by_src", Track::kBySrc},
                                                                   {"by_dst", Track::kByDst},
                                                                   {"by_rule", Track::kByRule},
                                                                   {"by_both", Track::kByBoth},
                                                                   {"by_flow", Track::kByFlow}};

base::Status ParseSuppress(LineParser& p, ThresholdConfig& out) {
  SuppressEntry e;
  e.line = p.line();
  auto gid = p.Number("gen_id", 0);
  if (!gid) return gid.error();
  auto sid = p.Number("sig_id", 0);
  if (!sid) return sid.error();
  e.gid = *gid;
  e.sid = *sid;
  Arg* track = p.Find("track");
  Arg* ip = p.Find("ip");
  if (track != nullptr) {
    auto t = p.TrackArg(
        {{"by_src", Track::kBySrc}, {"by_dst", Track::kByDst}, {"by_either", Track::kByEither}});
    if (!t) return t.error();
    e.track = *t;
    if (ip == nullptr) return p.Fail(track->name.offset, "suppress with 'track' needs 'ip ...'");
    auto addr = p.Address(*ip);
    if (!addr) return addr.error();
    e.ip = std::move(*addr);
  } else if (ip != nullptr) {
    return p.Fail(ip->name.offset, "suppress with 'ip' needs 'track by_src|by_dst|by_either'");
  }
  if (auto st = p.NoOthers(); !st) return st;
  out.suppressions.push_back(std::move(e));
  return {};
}

base::Status ParseThreshold(LineParser& p, bool event_filter, ThresholdConfig& out) {
  ThresholdEntry e;
  e.event_filter = event_filter;
  e.line = p.line();
  auto gid = p.Number("gen_id", 0);
  if (!gid) return gid.error();
  auto sid = p.Number("sig_id", 0);
  if (!sid) return sid.error();
  e.gid = *gid;
  e.sid = *sid;
  auto type = p.Need("type");
  if (!type) return type.error();
  std::string_view t = (*type)->value.text;
  if (t == "limit") {
    e.type = ThresholdOption::Type::kLimit;
  } else if (t == "threshold") {
    e.type = ThresholdOption::Type::kThreshold;
  } else if (t == "both") {
    e.type = ThresholdOption::Type::kBoth;
  } else {
    return p.Fail((*type)->value.offset,
                  "type must be limit, threshold or both, found '" + std::string(t) + "'");
  }
  auto track = p.TrackArg({kThresholdTracks[0], kThresholdTracks[1], kThresholdTracks[2],
                           kThresholdTracks[3], kThresholdTracks[4]});
  if (!track) return track.error();
  e.track = *track;
  auto count = p.Number("count", 1);
  if (!count) return count.error();
  auto seconds = p.Number("seconds", 1);
  if (!seconds) return seconds.error();
  e.count = *count;
  e.seconds = *seconds;
  if (auto st = p.NoOthers(); !st) return st;
  out.thresholds.push_back(e);
  return {};
}

base::Status ParseRateFilter(LineParser& p, ThresholdConfig& out) {
  RateFilterEntry e;
  e.line = p.line();
  auto gid = p.Number("gen_id", 0);
  if (!gid) return gid.error();
  auto sid = p.Number("sig_id", 0);
  if (!sid) return sid.error();
  e.gid = *gid;
  e.sid = *sid;
  auto track = p.TrackArg({kThresholdTracks[0], kThresholdTracks[1], kThresholdTracks[2],
                           kThresholdTracks[3], kThresholdTracks[4]});
  if (!track) return track.error();
  e.track = *track;
  auto count = p.Number("count", 1);
  if (!count) return count.error();
  auto seconds = p.Number("seconds", 1);
  if (!seconds) return seconds.error();
  e.count = *count;
  e.seconds = *seconds;
  auto action = p.Need("new_action");
  if (!action) return action.error();
  static constexpr std::pair<std::string_view, Action> kActions[] = {
      {"alert", Action::kAlert}, {"drop", Action::kDrop},   {"pass", Action::kPass},
      {"log", Action::kLog},     {"sdrop", Action::kSdrop}, {"reject", Action::kReject}};
  bool found = false;
  for (const auto& [name, a] : kActions) {
    if (name == (*action)->value.text) {
      e.new_action = a;
      found = true;
    }
  }
  if (!found) {
    return p.Fail((*action)->value.offset,
                  "new_action must be alert, drop, pass, log, sdrop or reject, found '" +
                      std::string((*action)->value.text) + "'");
  }
  auto timeout = p.Number("timeout", 0);
  if (!timeout) return timeout.error();
  e.timeout = *timeout;
  if (Arg* apply = p.Find("apply_to"); apply != nullptr) {
    auto addr = p.Address(*apply);
    if (!addr) return addr.error();
    e.apply_to = std::move(*addr);
  }
  if (auto st = p.NoOthers(); !st) return st;
  out.rate_filters.push_back(std::move(e));
  return {};
}

base::Status ParseLine(Token line, const std::string& file, uint32_t line_no, const Variables& vars,
                       ThresholdConfig& out) {
  size_t word_end = 0;
  while (word_end < line.text.size() && !IsSpace(line.text[word_end])) ++word_end;
  std::string_view word = line.text.substr(0, word_end);
  Token body = Trim(Token{line.text.substr(word_end), line.offset + word_end});
  LineParser p(file, line_no, vars);
  if (word != "suppress" && word != "threshold" && word != "event_filter" &&
      word != "rate_filter") {
    return p.Fail(line.offset,
                  "expected suppress, threshold, event_filter or rate_filter, found '" +
                      std::string(word) + "'");
  }
  if (auto st = p.Read(body, word); !st) return st;
  if (word == "suppress") return ParseSuppress(p, out);
  if (word == "rate_filter") return ParseRateFilter(p, out);
  return ParseThreshold(p, word == "event_filter", out);
}

}  // namespace

void LoadThresholdText(std::string_view text, const Variables& vars, const std::string& name,
                       ThresholdConfig& out) {
  // A bad line is reported and the rest still load, so the walk never stops early.
  (void)ForEachConfigLine(text, [&](Token line, uint32_t line_no) {
    if (auto st = ParseLine(line, name, line_no, vars, out); !st) {
      out.failures.push_back(std::move(st.error()));
    }
    return base::Status{};
  });
}

void LoadThresholdFile(const std::string& path, const Variables& vars, ThresholdConfig& out) {
  auto text = ReadConfigFile(path, "threshold file");
  if (!text) {
    out.failures.push_back(ErrorAt(path, 0, size_t(-1), text.error().message));
    return;
  }
  LoadThresholdText(*text, vars, path, out);
}

}  // namespace vigil::rules

#include "rules/lexer.h"

namespace vigil::rules {

namespace {

bool IsKeywordChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == '-';
}

size_t SkipSpace(std::string_view text, size_t pos) {
  while (pos < text.size() && IsSpace(text[pos])) ++pos;
  return pos;
}

}  // namespace

Token Trim(Token token) {
  std::string_view t = token.text;
  size_t b = 0;
  while (b < t.size() && IsSpace(t[b])) ++b;
  size_t e = t.size();
  while (e > b && IsSpace(t[e - 1])) --e;
  return Token{t.substr(b, e - b), token.offset + b};
}

bool TokenizeRule(std::string_view text, RuleTokens& out, LexError& error) {
  out.header.clear();
  out.options.clear();
  const size_t n = text.size();

  // Header: fields up to '(' at bracket depth 0. Brackets may hold spaces ("[1.1.1.1, 2.2.2.2]").
  size_t pos = SkipSpace(text, 0);
  while (pos < n && text[pos] != '(') {
    size_t start = pos;
    int depth = 0;
    size_t outer_bracket = 0;
    while (pos < n) {
      char c = text[pos];
      if (c == '[') {
        if (depth == 0) outer_bracket = pos;
        ++depth;
      } else if (c == ']') {
        if (depth > 0) --depth;
      } else if (depth == 0 && (IsSpace(c) || c == '(')) {
        break;
      }
      ++pos;
    }
    if (depth > 0) {
      error = {"unterminated '[' list", outer_bracket};
      return false;
    }
    out.header.push_back(Token{text.substr(start, pos - start), start});
    pos = SkipSpace(text, pos);
  }
  if (pos >= n) {
    error = {"expected '(' to start the rule options", n};
    return false;
  }
  out.open_paren = pos;

  // The final ')' is the last non-space character; an option without a trailing ';' ends there.
  size_t last = n;
  while (last > 0 && IsSpace(text[last - 1])) --last;
  size_t close = last - 1;  // last > pos because text[pos] == '('
  bool closed_by_paren = text[close] == ')' && close > pos;

  pos = SkipSpace(text, pos + 1);
  while (true) {
    if (pos >= n) {
      error = {"expected ')' to end the rule options", n};
      return false;
    }
    if (text[pos] == ')') {
      size_t after = SkipSpace(text, pos + 1);
      if (after < n) {
        error = {"unexpected text after the rule's closing ')'", after};
        return false;
      }
      return true;
    }
    if (text[pos] == ';') {
      error = {"empty rule option (two ';' in a row)", pos};
      return false;
    }
    OptionToken opt;
    size_t kw_start = pos;
    while (pos < n && IsKeywordChar(text[pos])) ++pos;
    if (pos == kw_start) {
      error = {std::string("expected a rule option keyword, found '") + text[pos] + "'", pos};
      return false;
    }
    opt.keyword = Token{text.substr(kw_start, pos - kw_start), kw_start};
    pos = SkipSpace(text, pos);
    if (pos < n && text[pos] == ';') {
      out.options.push_back(opt);
      pos = SkipSpace(text, pos + 1);
      continue;
    }
    if (pos < n && text[pos] == ')') {
      // `keyword)` ends the options; the check for trailing text happens at the loop top.
      out.options.push_back(opt);
      continue;
    }
    if (pos >= n || text[pos] != ':') {
      error = {"expected ':' or ';' after option keyword '" + std::string(opt.keyword.text) + "'",
               pos};
      return false;
    }
    opt.has_value = true;
    size_t value_start = ++pos;
    // As Snort 2 and Suricata do, a value ends at the first ';' that no '\' escapes, quoted or
    // not: Emerging Threats rules hold quoted regular expressions with a bare '"' inside
    // ("/^["']?post/").
    while (pos < n && text[pos] != ';') pos += text[pos] == '\\' ? 2 : 1;
    if (pos >= n) {
      // No ';' after the last option: it runs up to the final ')'.
      if (!closed_by_paren || close < value_start) {
        error = {"expected ')' to end the rule options", last == 0 ? 0 : last - 1};
        return false;
      }
      size_t backslashes = 0;
      while (close - backslashes > value_start && text[close - backslashes - 1] == '\\') {
        ++backslashes;
      }
      if (backslashes % 2 == 1) {
        // `keyword:value\)`: the '\' escapes the closing ')', so the value never ends.
        error = {"the last option's value ends in an escaping '\\'", close - 1};
        return false;
      }
      opt.value = TrimValue(Token{text.substr(value_start, close - value_start), value_start});
      out.options.push_back(opt);
      pos = close;
      continue;
    }
    opt.value = TrimValue(Token{text.substr(value_start, pos - value_start), value_start});
    out.options.push_back(opt);
    pos = SkipSpace(text, pos + 1);
  }
}

Token TrimValue(Token token) {
  Token t = Trim(token);
  size_t end = size_t(t.text.data() - token.text.data()) + t.text.size();
  size_t backslashes = 0;
  while (backslashes < t.text.size() && t.text[t.text.size() - 1 - backslashes] == '\\') {
    ++backslashes;
  }
  if (backslashes % 2 == 1 && end < token.text.size()) {
    t.text = std::string_view(t.text.data(), t.text.size() + 1);
  }
  return t;
}

void SplitCommas(std::string_view text, size_t base_offset, std::vector<Token>& out) {
  out.clear();
  size_t start = 0;
  bool in_quote = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\\') {
      ++i;
    } else if (c == '"') {
      in_quote = !in_quote;
    } else if (c == ',' && !in_quote) {
      out.push_back(Trim(Token{text.substr(start, i - start), base_offset + start}));
      start = i + 1;
    }
  }
  out.push_back(Trim(Token{text.substr(start), base_offset + start}));
}

}  // namespace vigil::rules

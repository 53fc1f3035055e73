// Lexer for the rule language: splits one rule's text into header fields and `keyword:value;`
// options, knowing escaping but nothing about what any keyword means. The parser
// (parser.h) gives meaning to the pieces; keeping the two apart means a new keyword never touches
// this file.
//
//   RuleTokens tokens;
//   LexError error;
//   TokenizeRule(R"(alert tcp any any -> any 80 (msg:"a\;b"; sid:1;))", tokens, error);
//   // tokens.header = {"alert", "tcp", "any", "any", "->", "any", "80"}
//   // tokens.options = {{"msg", R"("a\;b")"}, {"sid", "1"}}
//
// Every piece is a view into the caller's text, so the column of anything is its distance from the
// start plus one. No allocation per character; one vector each for header fields and options.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace vigil::rules {

// One piece of rule text and where it starts (0-based offset in the rule text).
struct Token {
  std::string_view text;
  size_t offset = 0;
};

// keyword[:value]; — value is trimmed of surrounding whitespace and kept raw (quotes and escapes
// as written).
struct OptionToken {
  Token keyword;
  Token value;             // empty text when there is no value
  bool has_value = false;  // a ':' followed the keyword
};

struct RuleTokens {
  std::vector<Token> header;  // whitespace-separated fields before '(' ([...] may hold spaces)
  size_t open_paren = 0;      // offset of the '(' that starts the options
  std::vector<OptionToken> options;
};

// A lexing failure: what and where (0-based offset into the rule text).
struct LexError {
  std::string message;
  size_t offset = 0;
};

// Splits `text` (one whole rule, continuation lines already joined) into header fields and
// options. A value ends at the first ';' not escaped by '\' — inside quotes too, as in Snort 2
// and Suricata (whose rules hold bare '"' inside quoted regular expressions); the last option
// may omit its ';' and then runs to the final ')'. Fails on a missing '(' or final ')', an option
// that is not `keyword`, `keyword;` or `keyword:value;`, and text after the final ')'.
[[nodiscard]] bool TokenizeRule(std::string_view text, RuleTokens& out, LexError& error);

// Splits `text` at commas that are outside quoted strings and not escaped, trimming each piece
// (Snort 3 content sub-options, reference, byte_extract arguments). Offsets are relative to
// `base_offset` + the piece's position in `text`.
void SplitCommas(std::string_view text, size_t base_offset, std::vector<Token>& out);

[[nodiscard]] inline bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

// `text` without leading and trailing whitespace; `offset` moves with the start.
[[nodiscard]] Token Trim(Token token);
// Trim for option values: whitespace escaped by a '\' stays, so that a value never ends in a
// dangling escape (`metadata:a\ ;` keeps "a\ ", which prints back as it was read).
[[nodiscard]] Token TrimValue(Token token);

}  // namespace vigil::rules

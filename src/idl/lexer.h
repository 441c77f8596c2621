// The IDL lexer: turns the text of one `.smapi` file into tokens, each with its source location.
// See docs/idl-format.md, "Lexical rules".
//
// Comments are dropped, except `///` doc comments, which become kDoc tokens (one per line) so the
// parser can attach them to the declaration that follows. Lexical errors (a stray character, an
// unterminated string) are recorded in the Diagnostics and lexing goes on after them.
// Stateless free function: safe to call from several threads on different inputs.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "idl/diagnostics.h"
#include "idl/model.h"

namespace idl {

struct Token {
  enum class Kind {
    kIdent,   // identifiers and keywords alike: the parser decides by context
    kString,  // text holds the decoded value, escapes resolved
    kInt,     // text holds the literal as written, e.g. "-12"
    kFloat,   // text holds the literal as written, e.g. "1.5e3"
    kPunct,   // text holds the punctuation, e.g. ";", "->", "["
    kDoc,     // one `///` line; text is the rest of the line minus one leading space
    kEnd,     // end of input; always the last token
  };
  Kind kind = Kind::kEnd;
  std::string text;
  SourceLocation location;  // where the token starts
  int end_column = 0;       // the column just past its last character, on the same line
};

// Lexes `source`, naming `file` in every location. Never fails: bad characters are reported
// in `diagnostics` and skipped. The result always ends with one kEnd token.
std::vector<Token> Lex(std::string_view source, const std::string& file, Diagnostics& diagnostics);

// How a token is named in "expected X, got Y" messages, e.g. "';'", "identifier 'foo'",
// "string \"x\"", "end of file".
std::string Describe(const Token& token);

}  // namespace idl

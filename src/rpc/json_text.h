// JSON text <-> nlohmann::json, with the reference's reading and printing rules.
//
// Reading keeps the FIRST occurrence of a duplicated object key (the reference reader looks
// keys up in an association list, so the first one wins) and bounds nesting depth so that
// hostile input cannot exhaust the stack. Printing is compact and escapes like yojson: only
// '"', '\\' and control characters; non-ASCII UTF-8 raw; '/' not escaped; floats always carry
// a '.' or an exponent ("1.0", "1e+20").
//
// Thread-safe: plain functions without shared state.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace rpc {

using Json = nlohmann::json;

// The deepest nesting of arrays and objects ParseJson accepts.
inline constexpr int kMaxJsonDepth = 512;

// Thrown by ParseJson for text that is not one JSON value; what() says why and where.
class JsonSyntaxError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Parses `text` as exactly one JSON value (surrounding whitespace allowed).
// Throws JsonSyntaxError on bad syntax, trailing garbage or nesting deeper than kMaxJsonDepth.
Json ParseJson(std::string_view text);

// Prints `value` compactly (no spaces). Invalid UTF-8 inside strings is replaced by U+FFFD
// rather than failing; non-finite floats print as null (JSON has no spelling for them).
std::string Serialize(const Json& value);

}  // namespace rpc

// JSON as the message-switch writes it (spec §1.4): a lenient reader that keeps string bytes as
// they are (the switch copies bytes >= 0x80 raw, without UTF-8 validation, so a strict parser
// would reject some payloads), and a printer that reproduces Yojson's compact layout, which the
// CLI's outputs (diagnostics params, traced payloads) are compared against byte for byte.
// Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace msclient {

// Objects keep their keys in input order, as Yojson does.
using Json = nlohmann::ordered_json;

// Parses one JSON value (surrounding whitespace allowed). Numbers without '.', 'e' or 'E' become
// integers, others floats; NaN/Infinity/-Infinity are accepted. Throws std::runtime_error
// naming the offset and what was expected.
Json ParseJson(std::string_view text);
// True if ParseJson would succeed.
bool IsJson(std::string_view text);

// Compact text in Yojson's style: no spaces, floats always with '.' or an exponent, strings
// escaped as in QuoteJsonString.
std::string PrintJson(const Json& value);
// A JSON string literal, Yojson escapes: \" \\ \b \f \n \r \t, other bytes < 0x20 and 0x7F as
// \u00xx (lower-case hex), everything else (including bytes >= 0x80) copied.
std::string QuoteJsonString(std::string_view s);
// A float in Yojson's style: %.16g, or %.17g if that does not round-trip, plus ".0" if the
// result looks like an integer.
std::string PrintJsonFloat(double d);

}  // namespace msclient

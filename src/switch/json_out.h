// JSON text exactly as the reference switch writes it (rpclib over Yojson, compact).
//
// The switch builds its JSON replies by appending to a string, because the shapes are fixed and
// the hot paths (send results, transfer batches) must not allocate a tree. These helpers hold the
// two details that make the output byte-compatible: Yojson's string escaping (short escapes,
// lower-case \u00xx for other control bytes and 0x7F, '/' and bytes >= 0x80 copied raw) and its
// float format (%.16g, %.17g when needed to round-trip, ".0" added to integral values).
// See docs/protocol.md. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace msw {

// Appends `s` as a JSON string literal (with quotes).
void AppendJsonString(std::string* out, std::string_view s);

// Appends a float as Yojson prints it: 30.0, 1712345678.123456, 1e+30, NaN, Infinity.
void AppendJsonFloat(std::string* out, double v);

// Appends a decimal integer.
void AppendJsonInt(std::string* out, int64_t v);

// Serialises a parsed JSON value compactly in the Yojson style. Every string and every object key
// of `truncate` bytes or more is cut to `truncate` bytes followed by "…" (the trace ring's
// compaction). Pass SIZE_MAX to disable truncation.
void AppendCompactJson(std::string* out, const nlohmann::ordered_json& value,
                       std::size_t truncate = SIZE_MAX);

// The trace ring's rule for one raw string: kept if shorter than `truncate` bytes, otherwise its
// first `truncate` bytes plus "…". The cut is byte-based.
std::string TruncateForTrace(std::string_view s, std::size_t truncate);

}  // namespace msw

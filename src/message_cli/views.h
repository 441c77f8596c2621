// The text message-cli prints for switch data: the diagnostics report (spec §4.2), `tail` rows
// (§5.2) and `mscgen` charts (§5.3). Pure functions of the JSON the switch returns, so the exact
// layouts are unit-tested byte for byte. Throw std::runtime_error on JSON of the wrong shape.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "switch_client/json_text.h"

namespace mcli {

// OCaml's String.escaped: \" \\ \n \t \r \b, other bytes outside ' '..'~' as \ddd (decimal).
std::string OcamlEscaped(std::string_view s);

// Mtime's span printer for spans under a second: "0ns", "12.3μs", "666ms" (three significant
// digits, rounded up).
std::string SubSecondSpan(int64_t ns);

// "2 mins and 5 seconds ago", "1 day, 3 hours, 2 mins and 1 second ago", "666ms ago".
// A negative span counts as 0.
std::string TimeAgo(int64_t ns);

// The diagnostics report for the JSON of GET /. `verbose` stops cutting payloads at 70 bytes.
std::string RenderDiagnostics(const msclient::Json& diagnostics, bool verbose);

// One trace event, as decoded from GET /trace.
struct TraceEvent {
  int64_t index = 0;
  double time = 0;  // Unix seconds
  std::optional<std::string> input;
  std::string queue;
  std::optional<std::string> output;
  bool is_ack = false;
  std::string id_queue;  // the message id
  int64_t id_seq = 0;
  bool is_request = true;  // for a message
  std::string payload;     // for a message
  std::optional<int64_t> processing_time_ns;
};

// Decodes {"events":[[index, event], ...]}.
std::vector<TraceEvent> ParseTrace(const msclient::Json& trace);

// One `tail` row (with its trailing space, without the newline). `first_time` is the time of the
// first event this run has seen. processing_time is shown in milliseconds.
std::string TailRow(const TraceEvent& event, double first_time);

// True if MscChart draws an arrow for `event` (sends, deliveries of requests, replies sent).
bool DrawsArrow(const TraceEvent& event);

// The mscgen chart text for `events` (ending in "}\n").
std::string MscChart(const std::vector<TraceEvent>& events);

}  // namespace mcli

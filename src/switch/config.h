// The daemon's settings: defaults, the config file, and the command line (which wins).
//
// The config file is the reference's s-expression, for example
//   ((path /var/run/message-switch/sock)(pidfile())(statedir (/var/run/message-switch/state)))
// A value is an atom, `()` for "none", or `(atom)` for "some atom". Unlike the reference, which
// honoured only `path`, every known key is honoured (see docs/switch.md); unknown keys such as
// the reference's `configfile` are ignored.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

namespace msw {

struct SwitchConfig {
  std::string path = "/var/run/message-switch/sock";
  std::optional<std::string> pidfile;
  std::optional<std::string> statedir;
  bool fsync = false;
  std::optional<std::string> group;
  std::size_t trace_entries = 16;
  std::size_t trace_truncate = 256;
  std::size_t trace_max_bytes = 4u << 20;
  std::size_t max_body_bytes = 16u << 20;
  std::size_t max_queue_messages = 500000;
  std::size_t max_connections = 1024;
};

// Applies the settings in `text` (a config file's contents) to `*config`. Returns false with a
// message naming the problem on a syntax error or a bad value.
bool ParseConfigFile(const std::string& text, SwitchConfig* config, std::string* error);

}  // namespace msw

// Options of the daemon: built-in defaults, then the command line, then the config file and the
// files of the config directory in sorted order; later sources win, so the config file overrides
// the command line as in the reference (spec storage-script.md §1.1-§1.3).
//
// Config-file syntax: one `key = value` per line, `#` starts a comment anywhere, blanks around
// key and value are trimmed, a value in matching quotes is unquoted, unknown keys are ignored,
// a malformed value is an error naming the file, line and key.
//
// Not thread-safe; built once by main() and then read-only.
#ifndef STORAGE_SCRIPT_CONFIG_H_
#define STORAGE_SCRIPT_CONFIG_H_

#include <chrono>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace storage {

struct Options {
  std::string root = "/var/lib/xapi/storage-scripts";
  std::string state = "/var/run/nonpersistent/xapi-storage-script/state.db";
  bool self_test_only = false;
  bool concurrent = true;
  std::string switch_path = "/var/run/message-switch/sock";
  std::string config = "/etc/xapi-storage-script.conf";
  std::string config_dir = "/etc/xapi-storage-script.conf.d";
  // Tracing: wrap scripts with `python3 -m observer` when dbg carries a traceparent.
  bool observer = false;
  // Seconds a script may run before its process group is killed. Per plugin and per method
  // overrides come from `script-timeout/<plugin>` and `script-timeout/<plugin>/<Method>` keys.
  double script_timeout = 1800;
  std::map<std::string, double> timeout_overrides;  // "<plugin>" or "<plugin>/<Method>" -> s
  int max_running = 64;             // scripts running at once, all plugins together
  int max_running_per_plugin = 32;  // and per volume plugin

  // The timeout for `method` (a SMAPIv3 wire name) run for `plugin`: the most specific override.
  std::chrono::milliseconds TimeoutFor(const std::string& plugin, const std::string& method) const;
};

// Result of parsing the command line: either options to run with, or text to print and an exit
// code (for --help and for errors).
struct ParsedOptions {
  Options options;
  bool exit_now = false;
  int exit_code = 0;
  std::string message;  // help text (exit 0) or error text (exit 2)
};

// Parses argv, then reads the config file and the config directory named by the result.
// A missing config file or directory is not an error; an unreadable or malformed one is.
ParsedOptions LoadOptions(int argc, const char* const* argv);

// Applies one `key`/`value` pair to `options`. Returns an error message naming the key, or ""
// on success. Unknown keys are ignored (the reference does the same).
std::string ApplyOption(Options& options, const std::string& key, const std::string& value);

// Parses config-file text into (key, value) pairs in file order. Lines that are neither blank,
// comment, nor `key = value` produce an error "<origin>:<line>: expected key = value: <line>".
std::vector<std::pair<std::string, std::string>> ParseConfigText(const std::string& text,
                                                                 const std::string& origin,
                                                                 std::string* error);

std::string HelpText();

}  // namespace storage

#endif  // STORAGE_SCRIPT_CONFIG_H_

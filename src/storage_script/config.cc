#include "storage_script/config.h"

#include <dirent.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

namespace storage {

namespace {

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

std::string ParseBool(const std::string& key, const std::string& value, bool* out) {
  if (value == "true") { *out = true; return ""; }
  if (value == "false") { *out = false; return ""; }
  return "option " + key + ": expected true or false, got '" + value + "'";
}

std::string ParseSeconds(const std::string& key, const std::string& value, double* out) {
  try {
    size_t used = 0;
    double v = std::stod(value, &used);
    if (used != value.size() || !std::isfinite(v) || v <= 0) throw std::invalid_argument(value);
    *out = v;
    return "";
  } catch (const std::exception&) {
    return "option " + key + ": expected a positive number of seconds, got '" + value + "'";
  }
}

std::string ParseCount(const std::string& key, const std::string& value, int* out) {
  try {
    size_t used = 0;
    long v = std::stol(value, &used);
    if (used != value.size() || v < 1 || v > 100000) throw std::invalid_argument(value);
    *out = static_cast<int>(v);
    return "";
  } catch (const std::exception&) {
    return "option " + key + ": expected a whole number from 1 to 100000, got '" + value + "'";
  }
}

bool ReadFile(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  *out = ss.str();
  return true;
}

std::string ApplyFile(Options& options, const std::string& path) {
  std::string text;
  if (!ReadFile(path, &text)) return "";  // a missing file just means no settings
  std::string error;
  auto pairs = ParseConfigText(text, path, &error);
  if (!error.empty()) return error;
  for (const auto& [k, v] : pairs) {
    std::string e = ApplyOption(options, k, v);
    if (!e.empty()) return path + ": " + e;
  }
  return "";
}

const char* const kIgnoredKeys[] = {"use-switch", "search-path", "pidfile", "log",
                                    "disable-logging-for", "loglevel", "inventory", "timeslice"};

}  // namespace

std::chrono::milliseconds Options::TimeoutFor(const std::string& plugin,
                                              const std::string& method) const {
  double seconds = script_timeout;
  if (auto it = timeout_overrides.find(plugin + "/" + method); it != timeout_overrides.end()) {
    seconds = it->second;
  } else if (auto it2 = timeout_overrides.find(plugin); it2 != timeout_overrides.end()) {
    seconds = it2->second;
  }
  return std::chrono::milliseconds(static_cast<long long>(seconds * 1000));
}

std::string ApplyOption(Options& o, const std::string& key, const std::string& value) {
  if (key == "root") { o.root = value; return ""; }
  if (key == "state") { o.state = value; return ""; }
  if (key == "self-test-only") return ParseBool(key, value, &o.self_test_only);
  if (key == "concurrent") return ParseBool(key, value, &o.concurrent);
  if (key == "observer") return ParseBool(key, value, &o.observer);
  if (key == "switch-path") { o.switch_path = value; return ""; }
  if (key == "config") { o.config = value; return ""; }
  if (key == "config-dir") { o.config_dir = value; return ""; }
  if (key == "script-timeout") return ParseSeconds(key, value, &o.script_timeout);
  if (key.rfind("script-timeout/", 0) == 0) {
    std::string target = key.substr(std::string("script-timeout/").size());
    if (target.empty()) return "option " + key + ": missing plugin name";
    double s = 0;
    std::string e = ParseSeconds(key, value, &s);
    if (e.empty()) o.timeout_overrides[target] = s;
    return e;
  }
  if (key == "max-running") return ParseCount(key, value, &o.max_running);
  if (key == "max-running-per-plugin") return ParseCount(key, value, &o.max_running_per_plugin);
  return "";  // inherited helper options and unknown keys are accepted and ignored
}

std::vector<std::pair<std::string, std::string>> ParseConfigText(const std::string& text,
                                                                 const std::string& origin,
                                                                 std::string* error) {
  std::vector<std::pair<std::string, std::string>> out;
  std::istringstream in(text);
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    std::string content = line.substr(0, line.find('#'));
    content = Trim(content);
    if (content.empty()) continue;
    size_t eq = content.find('=');
    std::string key = eq == std::string::npos ? "" : Trim(content.substr(0, eq));
    if (key.empty()) {
      *error = origin + ":" + std::to_string(number) + ": expected key = value: " + line;
      return {};
    }
    std::string value = Trim(content.substr(eq + 1));
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
        value.back() == value.front()) {
      value = value.substr(1, value.size() - 2);
    }
    out.emplace_back(key, value);
  }
  return out;
}

std::string HelpText() {
  return R"(Usage: xapi-storage-script [--key=value ...]

Serves SMAPIv3 storage plugins to xapi: one message-switch queue per volume plugin found under
<root>/volume, datapath plugins under <root>/datapath, each call run as a plugin script.

Options (also settable as `key = value` in the config file, which overrides the command line):
  --root=DIR            directory whose sub-directories contain sets of per-operation scripts,
                        one sub-directory per queue name (default /var/lib/xapi/storage-scripts)
  --state=FILE          file containing attached SR information, should be deleted on host boot
                        (default /var/run/nonpersistent/xapi-storage-script/state.db)
  --self-test-only=BOOL Do only a self-test and exit (default false)
  --concurrent=BOOL     Issue SMAPIv3 calls concurrently (default true)
  --switch-path=PATH    Unix socket of the message switch (default /var/run/message-switch/sock)
  --config=FILE         config file (default /etc/xapi-storage-script.conf)
  --config-dir=DIR      directory of config fragments (default /etc/xapi-storage-script.conf.d)
  --script-timeout=S    seconds a script may run before its process group is killed (default
                        1800); config keys script-timeout/<plugin> and
                        script-timeout/<plugin>/<Method> override it
  --max-running=N       scripts running at once, all plugins together (default 64)
  --max-running-per-plugin=N
                        scripts running at once for one volume plugin (default 32)
  --observer=BOOL       run scripts under `python3 -m observer` when dbg carries a trace context
                        (default false)
  --help                show this text
Accepted and ignored, for compatibility: use-switch, search-path, pidfile, log,
disable-logging-for, loglevel, inventory, timeslice.
)";
}

ParsedOptions LoadOptions(int argc, const char* const* argv) {
  ParsedOptions r;
  auto fail = [&r](const std::string& message) {
    r.exit_now = true;
    r.exit_code = 2;
    r.message = message + "\nTry 'xapi-storage-script --help'.";
    return r;
  };
  static const char* const kKnown[] = {"root", "state", "self-test-only", "concurrent",
                                       "switch-path", "config", "config-dir", "script-timeout",
                                       "max-running", "max-running-per-plugin", "observer"};
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h" || arg.rfind("--help=", 0) == 0) {
      r.exit_now = true;
      r.message = HelpText();
      return r;
    }
    if (arg.rfind("--", 0) != 0) return fail("unexpected argument '" + arg + "'");
    std::string key = arg.substr(2), value;
    size_t eq = key.find('=');
    if (eq != std::string::npos) {
      value = key.substr(eq + 1);
      key = key.substr(0, eq);
    } else {
      if (i + 1 >= argc) return fail("option --" + key + " needs a value");
      value = argv[++i];
    }
    bool known = std::find(std::begin(kKnown), std::end(kKnown), key) != std::end(kKnown) ||
                 std::find(std::begin(kIgnoredKeys), std::end(kIgnoredKeys), key) !=
                     std::end(kIgnoredKeys) ||
                 key.rfind("script-timeout/", 0) == 0;
    if (!known) return fail("unknown option --" + key);
    std::string e = ApplyOption(r.options, key, value);
    if (!e.empty()) return fail(e);
  }
  // The config file is read after the command line and wins over it, as in the reference.
  if (std::string e = ApplyFile(r.options, r.options.config); !e.empty()) return fail(e);
  if (DIR* d = opendir(r.options.config_dir.c_str())) {
    std::vector<std::string> names;
    while (dirent* ent = readdir(d)) {
      std::string n = ent->d_name;
      if (n != "." && n != "..") names.push_back(n);
    }
    closedir(d);
    std::sort(names.begin(), names.end());
    for (const auto& n : names) {
      if (std::string e = ApplyFile(r.options, r.options.config_dir + "/" + n); !e.empty()) {
        return fail(e);
      }
    }
  }
  return r;
}

}  // namespace storage

// ScriptRunner: runs one SMAPIv3 call as a plugin script (spec storage-script.md §4).
//
// Lookup (§4.1): `<dir>/<method>` must be a regular file (symlinks followed) and executable; on
// any miss the directory is re-read into a lowercase-name cache (smallest on-disk spelling wins
// on collisions) and the lookup retried once. Invocation (§4.2): argv [path, "--json"], stdin the
// compact params object without a newline, environment inherited intact plus TRACEPARENT when
// dbg carries a trace context. Outcome (§4.3): exit 0 with one JSON value of the right shape is
// success; everything else becomes the exact SMAPIv2 error of the reference, plus
// SCRIPT_TIMEOUT and Cancelled for what the reference lacks.
//
// Log lines are those of the reference (§1.5): `[INFO] {"method":...,"params":[...],"id":N}`
// before each run and `[INFO] <path>[<pid>] succeeded: <stdout>` after.
//
// Thread-safe: any number of calls may run at once.
#ifndef STORAGE_SCRIPT_SCRIPT_RUNNER_H_
#define STORAGE_SCRIPT_SCRIPT_RUNNER_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>

#include "storage_script/errors.h"
#include "storage_script/log.h"
#include "storage_script/process.h"

namespace storage {

struct ScriptCall {
  std::string dir;     // the plugin directory
  std::string method;  // SMAPIv3 wire name, e.g. "SR.attach"
  Json params;         // the named-parameter object sent on stdin
  std::chrono::milliseconds timeout{0};  // 0: none
  const CancelToken* cancel = nullptr;   // optional, not owned
  // Applied to the parsed stdout before its shape is checked (the PVS 3.0 shims of §5.2).
  std::function<void(Json&)> patch_result;
  // PVS 3.0 plugins: a missing script counts as a no-op returning null (§4.5).
  bool missing_is_noop = false;
};

// Extracts the W3C traceparent from a dbg string (smapiv2.md §4), or "" when there is none.
std::string TraceparentOfDbg(const std::string& dbg);

class ScriptRunner {
 public:
  // `log` must outlive the runner. `observer`: wrap traced calls with `python3 -m observer`.
  ScriptRunner(Logger& log, bool observer) : log_(log), observer_(observer) {}

  // Turns the observer wrapper on or off (the Observer queue of spec §1.6). Thread-safe.
  void set_observer(bool on) { observer_ = on; }
  bool observer() const { return observer_; }

  // Runs the script and returns its checked result, or throws StorageError.
  Json Call(const ScriptCall& call);

  // Resolves the on-disk path of `method` in `dir`, or throws StorageError SCRIPT_MISSING /
  // SCRIPT_NOT_EXECUTABLE (logged as the reference does when `log_errors`).
  std::string Find(const std::string& dir, const std::string& method, bool log_errors = true);

  // True when Find would succeed (capability detection, §5.3); logs nothing.
  bool Exists(const std::string& dir, const std::string& method);

  // The process-wide JSON-RPC id counter shown in the call log lines.
  int64_t NextId() { return ++next_id_; }

 private:
  enum class Lookup { kOk, kMissing, kNotExecutable };
  Lookup Check(const std::string& path, std::string* why);
  std::string CachedName(const std::string& dir, const std::string& method);
  bool Rebuild(const std::string& dir);

  Logger& log_;
  std::atomic<bool> observer_;
  std::atomic<int64_t> next_id_{0};
  std::mutex mu_;
  std::map<std::string, std::map<std::string, std::string>> cache_;  // dir -> lower -> name
};

}  // namespace storage

#endif  // STORAGE_SCRIPT_SCRIPT_RUNNER_H_

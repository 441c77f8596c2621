// Child processes of the plugin: running a helper to completion (qemu-img), starting
// qemu-storage-daemon detached, and stopping a daemon by PID after checking it is ours.
#ifndef SMAPI_PLUGINS_QDISK_PROCESS_H_
#define SMAPI_PLUGINS_QDISK_PROCESS_H_

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace qdisk {

struct RunResult {
  int exit_code = -1;  // -1 when killed by a signal or by the deadline
  std::string output;  // stdout and stderr together
};

// Runs argv[0] (searched in PATH) with stdin from /dev/null and waits at most `timeout`;
// a child still running then is killed. Throws std::runtime_error if it cannot start.
RunResult Run(const std::vector<std::string>& argv, std::chrono::milliseconds timeout);

// Starts argv detached from our stdio (stdin /dev/null, stdout+stderr appended to `log_path`)
// and returns its PID. All our descriptors are close-on-exec, so the daemon never holds the
// caller's pipes or locks. Throws std::runtime_error if it cannot start.
pid_t Spawn(const std::vector<std::string>& argv, const std::string& log_path);

// Waits at most `timeout` for our child `pid` to exit. Returns its exit code, or -1 if it was
// killed by a signal; throws std::runtime_error on timeout (the child is then killed).
int WaitChild(pid_t pid, std::chrono::milliseconds timeout);

// True if `pid` is alive (not a zombie) and its command line contains every one of `marks`:
// the check that a PID read from a state file still names the daemon we started.
bool IsOurProcess(pid_t pid, const std::vector<std::string>& marks);

// Stops `pid` if IsOurProcess(pid, marks): SIGTERM, then SIGKILL after `grace`, and waits for
// it to be gone (at most `grace` more). Returns false if it was not ours or already gone.
// Throws std::runtime_error if it survives SIGKILL.
bool StopProcess(pid_t pid, const std::vector<std::string>& marks,
                 std::chrono::milliseconds grace);

}  // namespace qdisk

#endif  // SMAPI_PLUGINS_QDISK_PROCESS_H_

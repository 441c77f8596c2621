// Running one child process to completion: stdin written then closed, stdout and stderr captured
// in full, a deadline after which the child's whole process group is killed, and cancellation
// from another thread.
//
// The child runs in its own process group (so a timeout or cancel kills the script and anything
// it started), with the default SIGPIPE disposition and an empty signal mask. The caller's
// environment is passed intact, with `extra_env` entries replacing or adding variables.
//
// "Done" means stdout and stderr reached EOF and the child was reaped. Thread-safe: each call is
// independent; a CancelToken may be cancelled from any thread.
#ifndef STORAGE_SCRIPT_PROCESS_H_
#define STORAGE_SCRIPT_PROCESS_H_

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <string>
#include <vector>

namespace storage {

// A one-shot cancellation flag that a poll loop can wait on (an eventfd).
class CancelToken {
 public:
  CancelToken();
  ~CancelToken();
  CancelToken(const CancelToken&) = delete;
  CancelToken& operator=(const CancelToken&) = delete;

  void Cancel();
  bool cancelled() const { return cancelled_.load(); }
  int fd() const { return fd_; }

 private:
  int fd_;
  std::atomic<bool> cancelled_{false};
};

struct ProcessResult {
  pid_t pid = -1;
  std::string spawn_error;  // non-empty when the child could not be started; nothing else is set
  bool exited = false;      // exited normally with exit_code
  int exit_code = 0;
  int signal = 0;           // the signal that ended it, when !exited
  bool timed_out = false;   // killed because the deadline passed
  bool cancelled = false;   // killed because the token was cancelled
  std::string out, err;
};

struct ProcessSpec {
  std::string program;                  // path executed
  std::vector<std::string> argv;        // argv[0] included
  std::vector<std::string> extra_env;   // "NAME=value" entries added to the inherited environment
  std::string input;                    // written to stdin, then stdin is closed
  std::chrono::milliseconds timeout{0};  // 0 means no deadline
  const CancelToken* cancel = nullptr;   // optional; not owned
};

ProcessResult RunProcess(const ProcessSpec& spec);

// "SIGKILL", "SIGTERM", ... or "SIG<number>" for others.
std::string SignalName(int signal);

}  // namespace storage

#endif  // STORAGE_SCRIPT_PROCESS_H_

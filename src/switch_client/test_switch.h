// A real message-switch child process for tests and benchmarks (not part of the library).
// It runs on a socket in a fresh temporary directory, which is removed afterwards. Only the
// process it started is ever signalled, by its pid.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace msclient {

class TestSwitch {
 public:
  struct Options {
    std::string binary;  // path of message-switch
    bool statedir = false;
    std::vector<std::string> extra_args;
  };
  // Starts the switch and waits (up to 10 s) until it accepts connections. Throws
  // std::runtime_error with the reason (and the log's location) otherwise.
  explicit TestSwitch(Options options);
  // Stops the switch (SIGTERM, then SIGKILL after 5 s) and removes the directory.
  ~TestSwitch();

  const std::string& socket() const { return socket_; }
  const std::string& dir() const { return dir_; }
  pid_t pid() const { return pid_; }

  // kill -9, and wait for it.
  void Kill();
  // Starts it again with the same socket and state directory.
  void Restart();
  // Resident set size in bytes, or -1.
  int64_t RssBytes() const;

  // The message-switch binary: $SMAPI_BIN_DIR/message-switch, else next to this executable.
  static std::string FindBinary();

 private:
  void Spawn();
  void WaitReady(std::chrono::seconds timeout);

  Options options_;
  std::string dir_;
  std::string socket_;
  pid_t pid_ = -1;
};

}  // namespace msclient

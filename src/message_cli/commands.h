// message-cli's subcommands (docs/message-cli.md). Each returns the process exit status and
// throws msclient::SwitchError for switch failures, which main() prints as one line.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "switch_client/client.h"

namespace mcli {

// Options every subcommand takes.
struct Common {
  std::string path = "/var/run/message-switch/sock";
  int verbose = 0;
  bool debug = false;
  double timeout_seconds = 30.0;  // connecting, and waiting for any answer

  msclient::ConnectOptions Connect() const;
  std::chrono::milliseconds timeout() const;
};

// Exit status for errors, as the reference's command-line library gives.
constexpr int kExitError = 124;

int List(const Common& c, const std::string& prefix, bool all);
int Diagnostics(const Common& c, bool json);
int Tail(const Common& c, bool follow);
int Mscgen(const Common& c, std::optional<int> last, const std::string& svg_file);
int Call(const Common& c, const std::string& queue, const std::optional<std::string>& body,
         const std::optional<std::string>& file);
int Serve(const Common& c, const std::string& queue, const std::string& program,
          double program_timeout_seconds);
int Ack(const Common& c, const std::string& queue, int64_t id);
int Destroy(const Common& c, const std::string& queue);
int Shutdown(const Common& c);
int Clear(const Common& c, const std::string& queue);
int Delete(const Common& c, const std::string& queue, int64_t id);
int Cancel(const Common& c, const std::string& queue, int64_t id);
int Reply(const Common& c, const std::string& queue, int64_t id, const std::string& body);
int Bugtool(const Common& c, const std::string& out_dir);

}  // namespace mcli

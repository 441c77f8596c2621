// Runs `serve --program`'s program for one request: the request body on its stdin, its stdout
// (to EOF) as the reply. The program is executed directly (no shell) with message-cli's own
// environment, in its own process group, which is killed if it runs past the timeout.
// Thread-safe: each call is independent.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace mcli {

struct ProgramResult {
  bool ok = false;     // exited with status 0 within the time
  std::string output;  // stdout, with one trailing newline removed
  std::string error;   // why it failed, if !ok
};

// REQUIRES: argv non-empty; argv[0] is the program's path.
ProgramResult RunProgram(const std::vector<std::string>& argv, const std::string& input,
                         std::chrono::milliseconds timeout);

}  // namespace mcli

// Logger: the daemon's own log lines, in the reference format `[LEVEL] message` (spec
// storage-script.md §1.5). Every level goes to one stream (stderr in the daemon); Debug lines are
// dropped unless enabled, as the reference fixes its level at Info.
//
// Thread-safe: each line is written whole under a mutex, so lines from concurrent calls never
// interleave.
#ifndef STORAGE_SCRIPT_LOG_H_
#define STORAGE_SCRIPT_LOG_H_

#include <cstdio>
#include <mutex>
#include <string>

namespace storage {

class Logger {
 public:
  // `out` is not owned and must outlive the logger.
  explicit Logger(std::FILE* out, bool debug = false) : out_(out), debug_(debug) {}

  void Debug(const std::string& message) { if (debug_) Write("DEBUG", message); }
  void Info(const std::string& message) { Write("INFO", message); }
  void Warning(const std::string& message) { Write("WARNING", message); }
  void Error(const std::string& message) { Write("ERROR", message); }

 private:
  void Write(const char* level, const std::string& message);

  std::FILE* const out_;
  const bool debug_;
  std::mutex mu_;
};

}  // namespace storage

#endif  // STORAGE_SCRIPT_LOG_H_

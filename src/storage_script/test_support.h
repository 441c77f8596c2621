// Helpers shared by the storage_script unit tests: a temporary directory removed afterwards,
// file and script writers. Test-only; not part of the library.
#ifndef STORAGE_SCRIPT_TEST_SUPPORT_H_
#define STORAGE_SCRIPT_TEST_SUPPORT_H_

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace storage::testing {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = std::filesystem::temp_directory_path() / "storage-script-XXXXXX";
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

inline void WriteFile(const std::string& path, const std::string& text, mode_t mode = 0644) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
  chmod(path.c_str(), mode);
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A shell script with the given body.
inline void WriteScript(const std::string& path, const std::string& body) {
  WriteFile(path, "#!/bin/sh\n" + body + "\n", 0755);
}

// A recording plugin script. Installed under any SMAPIv3 method name in a plugin directory, it
// appends "<name> <stdin>" to <dir>/calls.log, runs <dir>/before/<name> when present (to sleep,
// to kill itself...), prints <dir>/out/<name> (or null when absent) and exits with the status in
// <dir>/rc/<name> (0 when absent).
inline constexpr const char* kRecorderScript = R"sh(#!/bin/sh
name=$(basename "$0")
dir=$(dirname "$0")
input=$(cat)
printf '%s %s\n' "$name" "$input" >> "$dir/calls.log"
if [ -f "$dir/before/$name" ]; then . "$dir/before/$name"; fi
if [ -f "$dir/out/$name" ]; then cat "$dir/out/$name"; else echo null; fi
if [ -f "$dir/rc/$name" ]; then exit "$(cat "$dir/rc/$name")"; fi
exit 0
)sh";

// A recording plugin directory (see kRecorderScript).
class Recorder {
 public:
  explicit Recorder(std::string dir) : dir_(std::move(dir)) {
    std::filesystem::create_directories(dir_);
  }
  const std::string& dir() const { return dir_; }
  // Installs the recorder under each name.
  Recorder& Scripts(std::initializer_list<std::string> names) {
    for (const auto& n : names) WriteFile(dir_ + "/" + n, kRecorderScript, 0755);
    return *this;
  }
  // What `name` prints (JSON text) and its exit status.
  Recorder& Out(const std::string& name, const std::string& json, int rc = 0) {
    WriteFile(dir_ + "/out/" + name, json + "\n");
    if (rc) WriteFile(dir_ + "/rc/" + name, std::to_string(rc));
    return *this;
  }
  Recorder& Before(const std::string& name, const std::string& shell) {
    WriteFile(dir_ + "/before/" + name, shell + "\n");
    return *this;
  }
  // The calls so far, one "<name> <stdin>" per element.
  std::vector<std::string> Calls() const {
    std::vector<std::string> out;
    std::istringstream in(ReadFile(dir_ + "/calls.log"));
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
  }
  void ClearCalls() const { std::filesystem::remove(dir_ + "/calls.log"); }

 private:
  std::string dir_;
};

}  // namespace storage::testing

#endif  // STORAGE_SCRIPT_TEST_SUPPORT_H_

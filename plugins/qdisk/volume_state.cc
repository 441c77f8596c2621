#include "volume_state.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <thread>

#include "sha256.h"

namespace qdisk {

namespace fs = std::filesystem;

VolumeUri VolumeUri::Parse(const std::string& uri) {
  const std::string scheme = "qdisk://";
  if (uri.rfind(scheme, 0) != 0) {
    throw std::invalid_argument("not a qdisk URI (expected qdisk://<sr path>/<key>): " + uri);
  }
  std::string path = uri.substr(scheme.size());
  size_t slash = path.rfind('/');
  if (path.empty() || path[0] != '/' || slash == std::string::npos || slash + 1 == path.size()) {
    throw std::invalid_argument(
        "qdisk URI needs an absolute SR path and a key (qdisk://<sr path>/<key>): " + uri);
  }
  VolumeUri v;
  v.uri = uri;
  v.sr_path = slash == 0 ? "/" : path.substr(0, slash);
  v.key = path.substr(slash + 1);
  return v;
}

std::string RunRoot() {
  const char* env = std::getenv("QDISK_RUN_DIR");
  return env && *env ? env : "/run/qdisk";
}

std::string VolumeRunDir(const std::string& uri) {
  return RunRoot() + "/" + Sha256Hex(uri).substr(0, 16);
}

nlohmann::json VolumeState::ToJson() const {
  nlohmann::json j = extra;
  j["uri"] = uri;
  j["opened"] = opened;
  j["persistent"] = persistent;
  j["overlay"] = overlay;
  j["pid"] = pid;
  j["domains"] = domains;
  j["active"] = active;
  j["top_node"] = top_node;
  j["top_image"] = top_image;
  j["exported"] = exported;
  j["export_writable"] = export_writable;
  j["relay_pid"] = relay_pid;
  return j;
}

VolumeState VolumeState::FromJson(const nlohmann::json& j) {
  VolumeState s;
  s.uri = j.value("uri", "");
  s.opened = j.value("opened", false);
  s.persistent = j.value("persistent", true);
  s.overlay = j.value("overlay", "");
  s.pid = j.value("pid", 0);
  s.domains = j.value("domains", std::vector<std::string>{});
  s.active = j.value("active", std::map<std::string, std::string>{});
  s.top_node = j.value("top_node", "");
  s.top_image = j.value("top_image", "");
  s.exported = j.value("exported", false);
  s.export_writable = j.value("export_writable", false);
  s.relay_pid = j.value("relay_pid", 0);
  s.extra = j;
  for (const char* k : {"uri", "opened", "persistent", "overlay", "pid", "domains", "active",
                        "top_node", "top_image", "exported", "export_writable", "relay_pid"}) {
    s.extra.erase(k);
  }
  return s;
}

bool VolumeState::IsAttached(const std::string& domain) const {
  for (const std::string& d : domains) {
    if (d == domain) return true;
  }
  return false;
}

VolumeLock::VolumeLock(const std::string& dir, std::chrono::milliseconds timeout) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw std::runtime_error("cannot create runtime directory " + dir + ": " + ec.message());
  std::string path = dir + "/lock";
  // O_CLOEXEC: a daemon started while we hold the lock must not inherit (and keep) it.
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) throw std::runtime_error("cannot open " + path + ": " + std::strerror(errno));
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK && errno != EINTR) {
      int err = errno;
      ::close(fd_);
      throw std::runtime_error("cannot lock " + path + ": " + std::strerror(err));
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      ::close(fd_);
      throw std::runtime_error("timed out after " + std::to_string(timeout.count()) +
                               " ms waiting for the lock " + path);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

VolumeLock::~VolumeLock() {
  if (fd_ >= 0) ::close(fd_);  // closing releases the flock
}

VolumeState ReadState(const std::string& dir) {
  std::string path = dir + "/state.json";
  std::ifstream in(path);
  if (!in) return VolumeState{};
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    throw std::runtime_error("corrupt state file " + path + " (not a JSON object)");
  }
  try {
    return VolumeState::FromJson(j);
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error("corrupt state file " + path + ": " + e.what());
  }
}

void WriteFileAtomically(const std::string& path, const std::string& text) {
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error("cannot write " + tmp + ": " + std::strerror(errno));
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      throw std::runtime_error("cannot write " + tmp + ": " + std::strerror(err));
    }
    done += static_cast<size_t>(n);
  }
  // No fsync: the runtime directory does not outlive a reboot (it is under /run), and the
  // rename alone keeps readers and a crashed writer from ever seeing a partial file. Skipping
  // it keeps activate/deactivate off the disk's flush latency.
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    throw std::runtime_error("cannot rename " + tmp + " to " + path + ": " + std::strerror(err));
  }
}

void WriteState(const std::string& dir, const VolumeState& state) {
  WriteFileAtomically(dir + "/state.json", state.ToJson().dump(2) + "\n");
}

}  // namespace qdisk

// The per-volume runtime state shared with the qcow2 volume plugin (docs/qdisk-plugin.md,
// "Runtime directory"): where it lives, how it is locked, and state.json.
//
//   ${QDISK_RUN_DIR:-/run/qdisk}/<first 16 hex digits of sha256(uri)>/
//     lock        flock(LOCK_EX) by whoever changes the state (both plugins)
//     state.json  written atomically (temporary file + rename)
//     qmp.sock    QMP of the volume's qemu-storage-daemon, nbd.sock its NBD server
#ifndef SMAPI_PLUGINS_QDISK_VOLUME_STATE_H_
#define SMAPI_PLUGINS_QDISK_VOLUME_STATE_H_

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace qdisk {

// A volume URI `qdisk://<absolute sr path>/<key>`, split. Throws std::invalid_argument naming
// the URI when it has another scheme, a relative path or no key.
struct VolumeUri {
  std::string uri;
  std::string sr_path;
  std::string key;

  static VolumeUri Parse(const std::string& uri);
  // `<sr path>/<key>.current`: the symlink to the volume's current top image.
  std::string current_link() const { return sr_path + "/" + key + ".current"; }
};

// The root of all runtime directories: $QDISK_RUN_DIR, else /run/qdisk.
std::string RunRoot();

// The runtime directory of the volume named by `uri`.
std::string VolumeRunDir(const std::string& uri);

// What state.json holds. Unknown keys written by the volume plugin are kept on rewrite.
struct VolumeState {
  std::string uri;
  bool opened = false;
  bool persistent = true;
  std::string overlay;                         // throw-away overlay of a non-persistent open
  int pid = 0;                                 // qemu-storage-daemon, 0 when none runs
  std::vector<std::string> domains;            // attached domains
  std::map<std::string, std::string> active;   // active domain -> "rw" or "ro"
  std::string top_node;                        // qsd node of the top image
  std::string top_image;                       // path of the top image
  bool exported = false;                       // the NBD export exists
  bool export_writable = false;
  int relay_pid = 0;                           // the import_activate relay, 0 when none
  nlohmann::json extra = nlohmann::json::object();  // keys we do not own

  nlohmann::json ToJson() const;
  static VolumeState FromJson(const nlohmann::json& j);
  bool IsAttached(const std::string& domain) const;
};

// An exclusive flock on `<dir>/lock`, held for the object's lifetime. The directory is made
// if missing. Throws std::runtime_error when the lock is not obtained within `timeout`.
class VolumeLock {
 public:
  VolumeLock(const std::string& dir, std::chrono::milliseconds timeout);
  ~VolumeLock();
  VolumeLock(const VolumeLock&) = delete;
  VolumeLock& operator=(const VolumeLock&) = delete;

 private:
  int fd_ = -1;
};

// Reads `<dir>/state.json`; a missing file gives the default state. Throws
// std::runtime_error naming the file when it is not valid JSON.
VolumeState ReadState(const std::string& dir);

// Writes `<dir>/state.json` atomically (write a temporary file, rename).
void WriteState(const std::string& dir, const VolumeState& state);

// Writes `text` to `path` atomically. Throws std::runtime_error on failure.
void WriteFileAtomically(const std::string& path, const std::string& text);

}  // namespace qdisk

#endif  // SMAPI_PLUGINS_QDISK_VOLUME_STATE_H_

// The qdisk datapath: volumes served by qemu-storage-daemon (qsd) as NBD exports on Unix
// sockets, and Data operations run as qsd block jobs. docs/qdisk-plugin.md has the design.
//
// One qsd per attached volume, started at the first attach and stopped at the last detach (or
// at close), its PID recorded in the volume's state.json and checked against /proc before any
// signal. Every method takes the volume's lock for its whole duration, so concurrent calls on
// one volume are serialised; calls on different volumes run in parallel. Every method is
// idempotent per `domain`, and attach/activate are reference-counted across domains.
//
// Errors are thrown as qdisk::Error; its `kind` names the class of failure and goes first in
// the script failure report's params.
#ifndef SMAPI_PLUGINS_QDISK_DATAPATH_H_
#define SMAPI_PLUGINS_QDISK_DATAPATH_H_

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace qdisk {

class Error : public std::runtime_error {
 public:
  Error(std::string kind, const std::string& what)
      : std::runtime_error(what), kind_(std::move(kind)) {}
  const std::string& kind() const { return kind_; }

 private:
  std::string kind_;
};

struct Options {
  std::string qsd_binary = "qemu-storage-daemon";
  std::string qemu_img_binary = "qemu-img";
  std::string self_exe;  // this program, started again as the import relay and copy worker
  std::chrono::milliseconds start_timeout{10000};
  std::chrono::milliseconds qmp_timeout{10000};
  std::chrono::milliseconds lock_timeout{30000};
  std::chrono::milliseconds stop_grace{3000};
};

// What Datapath.attach hands back: the NBD URI (qemu form) and the XenDisk parameters.
struct Attachment {
  std::string nbd_uri;       // nbd:unix:<socket>:exportname=<key>
  std::string xendisk_params;
  std::string backend_type;  // "qdisk"
};

struct Blocklist {
  int64_t blocksize = 0;
  std::vector<std::pair<int64_t, int64_t>> ranges;  // (start, length) in blocks
};

struct OperationStatus {
  bool failed = false;
  bool complete = false;
  bool has_progress = false;
  double progress = 0;
};

struct Operation {
  std::string kind;  // "CopyV1" or "MirrorV1"
  std::string id;
};

class Datapath {
 public:
  explicit Datapath(Options options) : options_(std::move(options)) {}

  void Open(const std::string& uri, bool persistent);
  Attachment Attach(const std::string& uri, const std::string& domain);
  void Activate(const std::string& uri, const std::string& domain, bool read_only);
  std::string ImportActivate(const std::string& uri, const std::string& domain);
  void Deactivate(const std::string& uri, const std::string& domain);
  void Detach(const std::string& uri, const std::string& domain);
  void Close(const std::string& uri);

  Operation Copy(const std::string& uri, const std::string& domain, const std::string& remote,
                 const Blocklist& blocklist);
  Operation Mirror(const std::string& uri, const std::string& domain, const std::string& remote);
  OperationStatus Stat(const std::string& operation);
  void Cancel(const std::string& operation);
  void Destroy(const std::string& operation);
  std::vector<Operation> Ls();

 private:
  // Starts a qsd block job (Data.mirror) from the volume's top node to `remote`.
  Operation StartJob(const std::string& kind, const std::string& uri, const std::string& remote);

  Options options_;
};

// The blockdev-add options of an NBD client node for `remote`, one of
//   nbd:unix:<socket>:exportname=<name>      (qemu form, as Datapath.attach returns)
//   nbd+unix:///<export>?socket=<socket>     (the form xapi's outbound mirror passes)
//   nbd://<host>[:<port>]/<export>
// Throws Error("Invalid_remote", ...) naming the URI otherwise. Exposed for tests.
std::string NbdNodeOptionsJson(const std::string& remote);

// Serves import_activate: accepts connections on `listen_path`, takes each file descriptor
// passed by SCM_RIGHTS and relays bytes between it and the NBD server at `nbd_path`, so the
// sender's peer talks fixed-newstyle NBD to the export. Runs until killed.
int RunImportRelay(const std::string& listen_path, const std::string& nbd_path);

}  // namespace qdisk

#endif  // SMAPI_PLUGINS_QDISK_DATAPATH_H_

#include "datapath.h"

#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <thread>

#include <nlohmann/json.hpp>

#include "copy_worker.h"
#include "process.h"
#include "qmp.h"
#include "volume_state.h"

namespace qdisk {

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

// Names inside the volume's qsd. The volume plugin may put a new top node in place (live
// snapshot or revert); it records it in state.json, so everything below reads `top_node` from
// the state rather than assuming these.
constexpr const char* kFileNode = "qdisk-file";
constexpr const char* kTopNode = "qdisk-top";
constexpr const char* kExportId = "qdisk-export";

std::string QmpPath(const std::string& dir) { return dir + "/qmp.sock"; }
std::string NbdPath(const std::string& dir) { return dir + "/nbd.sock"; }
std::string ImportPath(const std::string& dir) { return dir + "/import.sock"; }

// The command-line words that identify our daemons in /proc/<pid>/cmdline.
std::vector<std::string> QsdMarks(const std::string& dir) {
  return {"qemu-storage-daemon", QmpPath(dir)};
}
std::vector<std::string> RelayMarks(const std::string& dir) {
  return {"--import-relay", ImportPath(dir)};
}
std::vector<std::string> WorkerMarks(const std::string& record_path) {
  return {"--copy-worker", record_path};
}

VolumeUri ParseUri(const std::string& uri) {
  try {
    return VolumeUri::Parse(uri);
  } catch (const std::invalid_argument& e) {
    throw Error("Invalid_uri", e.what());
  }
}

bool QsdAlive(const std::string& dir, const VolumeState& s) {
  return s.pid > 0 && IsOurProcess(s.pid, QsdMarks(dir));
}

// The image `.current` points to, as an absolute path with every symlink resolved.
std::string CurrentImage(const VolumeUri& v) {
  std::error_code ec;
  fs::path target = fs::canonical(v.current_link(), ec);
  if (ec) {
    throw Error("Volume_does_not_exist",
                "volume image not found: " + v.current_link() + " (" + ec.message() + ")");
  }
  return target.string();
}

std::string RandomId(const std::string& prefix) {
  std::random_device rd;
  std::uniform_int_distribution<uint64_t> dist;
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(dist(rd)));
  return prefix + buf;
}

// Stops the relay and the daemon of `dir` (only if they are ours) and forgets them.
void StopDaemons(const std::string& dir, VolumeState& s, std::chrono::milliseconds grace) {
  if (s.relay_pid > 0) StopProcess(s.relay_pid, RelayMarks(dir), grace);
  s.relay_pid = 0;
  if (s.pid > 0) StopProcess(s.pid, QsdMarks(dir), grace);
  s.pid = 0;
  s.exported = false;
  s.export_writable = false;
  s.active.clear();
  for (const std::string& f : {QmpPath(dir), NbdPath(dir), ImportPath(dir), dir + "/qsd.pid"}) {
    ::unlink(f.c_str());
  }
}

// Starts qsd for `dir` serving `image`, with the NBD server listening on nbd.sock; fills
// s.pid, s.top_node and s.top_image. On any failure the daemon is stopped before the throw.
void StartQsd(const Options& o, const std::string& dir, const std::string& image,
              VolumeState& s) {
  for (const std::string& f : {QmpPath(dir), NbdPath(dir), dir + "/qsd.pid"}) {
    ::unlink(f.c_str());
  }
  // --daemonize: the started process exits once the daemon is initialised and its QMP socket
  // listens, so its exit is the readiness signal; the daemon itself runs in a new session,
  // away from our caller's process group and pipes.
  std::vector<std::string> argv = {
      o.qsd_binary,
      "--chardev", "socket,path=" + QmpPath(dir) + ",server=on,wait=off,id=qdisk-qmp",
      "--monitor", "chardev=qdisk-qmp",
      "--pidfile", dir + "/qsd.pid",
      "--daemonize"};
  pid_t starter = Spawn(argv, dir + "/qsd.log");
  auto read_pid = [&dir] {
    std::ifstream pidfile(dir + "/qsd.pid");
    int pid = 0;
    pidfile >> pid;
    return pid;
  };
  int rc;
  try {
    rc = WaitChild(starter, o.start_timeout);
  } catch (const std::exception& e) {
    // The starter hung after the daemon forked: the daemon must not outlive this failure.
    s.pid = read_pid();
    StopDaemons(dir, s, o.stop_grace);
    throw Error("Qsd_failed", std::string("qemu-storage-daemon did not start: ") + e.what());
  }
  int pid = read_pid();
  if (rc != 0 || pid <= 0) {
    s.pid = pid;
    StopDaemons(dir, s, o.stop_grace);
    std::ifstream log(dir + "/qsd.log");
    std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
    throw Error("Qsd_failed", "qemu-storage-daemon failed to start (exit " + std::to_string(rc) +
                                  "): " + text);
  }
  s.pid = pid;
  try {
    QmpClient qmp(QmpPath(dir), o.qmp_timeout);
    // cache=none (O_DIRECT with Linux native AIO), as a VM disk is served: guest data is not
    // cached twice (guest and host page cache), a guest flush reaches the disk, and it is the
    // fastest mode measured here (docs/performance/qdisk.md). A filesystem without O_DIRECT
    // (tmpfs, e.g. a non-persistent overlay under /run) gets the page cache instead.
    auto add_top = [&](bool direct) {
      json file = {{"driver", "file"}, {"node-name", kFileNode}, {"filename", image}};
      if (direct) {
        file["cache"] = {{"direct", true}};
        file["aio"] = "native";
      }
      qmp.Execute("blockdev-add", {{"driver", "qcow2"},
                                   {"node-name", kTopNode},
                                   {"discard", "unmap"},
                                   {"file", file}});
    };
    try {
      add_top(true);
    } catch (const QmpError& e) {
      if (e.error_class().empty()) throw;  // the connection, not the option
      add_top(false);
    }
    qmp.Execute("nbd-server-start",
                {{"addr", {{"type", "unix"}, {"data", {{"path", NbdPath(dir)}}}}}});
  } catch (const QmpError& e) {
    StopDaemons(dir, s, o.stop_grace);
    throw Error("Qsd_failed", std::string("cannot open ") + image +
                                  " in qemu-storage-daemon: " + e.what());
  }
  s.top_node = kTopNode;
  s.top_image = image;
}

Error QsdGone(const std::string& uri, const VolumeState& s) {
  return Error("Qsd_not_running",
               "the qemu-storage-daemon serving " + uri + " (pid " + std::to_string(s.pid) +
                   ") is not running; detach and attach the volume again");
}

// Removes the NBD export and waits for it to be gone (block-export-del is asynchronous).
void RemoveExport(QmpClient& qmp, std::chrono::milliseconds timeout) {
  try {
    qmp.Execute("block-export-del", {{"id", kExportId}, {"mode", "hard"}});
  } catch (const QmpError& e) {
    if (e.error_class().empty()) throw;  // connection trouble; an absent export is fine
  }
  Clock::time_point deadline = Clock::now() + timeout;
  for (;;) {
    bool present = false;
    for (const json& e : qmp.Execute("query-block-exports")) {
      if (e.value("id", "") == kExportId) present = true;
    }
    if (!present) return;
    if (Clock::now() >= deadline) {
      throw Error("Qsd_failed", "the NBD export did not go away within " +
                                    std::to_string(timeout.count()) + " ms");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

// ---- Data operations: one file per operation under <run root>/operations/ ----

std::string OperationsDir() { return RunRoot() + "/operations"; }

std::string OperationPath(const std::string& id) {
  // Operation ids are ours ("copy-<hex>", "mirror-<hex>"); refuse anything that could escape
  // the directory.
  if (id.empty() || id.find('/') != std::string::npos || id[0] == '.') {
    throw Error("Unknown_operation", "not an operation of this plugin: " + id);
  }
  return OperationsDir() + "/" + id + ".json";
}

json ReadOperation(const std::string& id) {
  std::ifstream in(OperationPath(id));
  if (!in) throw Error("Unknown_operation", "no such operation: " + id);
  json j = json::parse(in, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    throw Error("Unknown_operation", "corrupt operation record: " + OperationPath(id));
  }
  return j;
}

// The job of operation `op` as query-jobs reports it, or null if qsd has no such job.
json FindJob(QmpClient& qmp, const std::string& id) {
  for (const json& j : qmp.Execute("query-jobs")) {
    if (j.value("id", "") == id) return j;
  }
  return nullptr;
}

}  // namespace

std::string NbdNodeOptionsJson(const std::string& remote) {
  json server;
  std::string export_name;
  auto bad = [&](const std::string& why) {
    return Error("Invalid_remote", "unsupported NBD destination " + remote + ": " + why);
  };
  if (remote.rfind("nbd:unix:", 0) == 0) {
    std::string rest = remote.substr(9);
    size_t colon = rest.rfind(":exportname=");
    if (colon == std::string::npos) throw bad("missing :exportname=");
    server = {{"type", "unix"}, {"path", rest.substr(0, colon)}};
    export_name = rest.substr(colon + 12);
  } else if (remote.rfind("nbd+unix://", 0) == 0) {
    std::string rest = remote.substr(11);
    size_t q = rest.find("?socket=");
    if (q == std::string::npos) throw bad("missing ?socket=");
    std::string path = rest.substr(0, q);
    export_name = path.empty() ? "" : path.substr(path[0] == '/' ? 1 : 0);
    std::string socket = rest.substr(q + 8);
    size_t amp = socket.find('&');
    if (amp != std::string::npos) socket.resize(amp);
    server = {{"type", "unix"}, {"path", socket}};
  } else if (remote.rfind("nbd://", 0) == 0) {
    std::string rest = remote.substr(6);
    size_t slash = rest.find('/');
    std::string hostport = rest.substr(0, slash);
    export_name = slash == std::string::npos ? "" : rest.substr(slash + 1);
    size_t at = hostport.rfind('@');  // credentials are not supported by qsd's NBD client
    if (at != std::string::npos) throw bad("credentials in the URI are not supported");
    std::string host = hostport, port = "10809";
    size_t colon = hostport.rfind(':');
    if (colon != std::string::npos) {
      host = hostport.substr(0, colon);
      port = hostport.substr(colon + 1);
    }
    if (host.empty()) throw bad("no host");
    server = {{"type", "inet"}, {"host", host}, {"port", port}};
  } else {
    throw bad("expected nbd:unix:<socket>:exportname=<name>, nbd+unix:///<export>?socket=<path>"
              " or nbd://<host>[:<port>]/<export>");
  }
  if (server.contains("path") && server["path"].get<std::string>().empty()) {
    throw bad("empty socket path");
  }
  return json{{"driver", "nbd"}, {"server", server}, {"export", export_name}}.dump();
}

void Datapath::Open(const std::string& uri, bool persistent) {
  VolumeUri v = ParseUri(uri);
  std::string dir = VolumeRunDir(uri);
  VolumeLock lock(dir, options_.lock_timeout);
  VolumeState s = ReadState(dir);
  if (s.opened && s.persistent == persistent) return;
  if (QsdAlive(dir, s)) {
    throw Error("Volume_in_use", "cannot open " + uri + (persistent ? " persistent" :
                " non-persistent") + ": it is attached; detach and close it first");
  }
  std::string image = CurrentImage(v);
  s.uri = uri;
  s.opened = true;
  s.persistent = persistent;
  if (!s.overlay.empty()) ::unlink(s.overlay.c_str());
  s.overlay.clear();
  if (!persistent) {
    // The throw-away overlay: reads fall through to the volume's image, writes stay here
    // and disappear with the file at close.
    std::string overlay = dir + "/nonpersistent.qcow2";
    RunResult r = Run({options_.qemu_img_binary, "create", "-q", "-f", "qcow2", "-F", "qcow2",
                       "-b", image, overlay},
                      options_.start_timeout);
    if (r.exit_code != 0) {
      throw Error("Qemu_img_failed", "cannot create the non-persistent overlay of " + image +
                                         ": " + r.output);
    }
    s.overlay = overlay;
  }
  WriteState(dir, s);
}

Attachment Datapath::Attach(const std::string& uri, const std::string& domain) {
  VolumeUri v = ParseUri(uri);
  std::string dir = VolumeRunDir(uri);
  VolumeLock lock(dir, options_.lock_timeout);
  VolumeState s = ReadState(dir);
  s.uri = uri;
  if (!QsdAlive(dir, s)) {
    if (s.pid > 0) {
      // The daemon died under attached domains: its exports and jobs are gone; start afresh.
      StopDaemons(dir, s, options_.stop_grace);
    }
    std::string image = !s.persistent && !s.overlay.empty() ? s.overlay : CurrentImage(v);
    StartQsd(options_, dir, image, s);
  }
  if (!s.IsAttached(domain)) s.domains.push_back(domain);
  try {
    WriteState(dir, s);
  } catch (...) {
    if (s.domains.size() == 1) StopDaemons(dir, s, options_.stop_grace);
    throw;
  }
  Attachment a;
  a.nbd_uri = "nbd:unix:" + NbdPath(dir) + ":exportname=" + v.key;
  a.xendisk_params = a.nbd_uri;
  a.backend_type = "qdisk";
  return a;
}

void Datapath::Activate(const std::string& uri, const std::string& domain, bool read_only) {
  VolumeUri v = ParseUri(uri);
  std::string dir = VolumeRunDir(uri);
  VolumeLock lock(dir, options_.lock_timeout);
  VolumeState s = ReadState(dir);
  if (!s.IsAttached(domain)) {
    throw Error("Not_attached", uri + " is not attached for domain " + domain +
                                    "; call Datapath.attach first");
  }
  std::string mode = read_only ? "ro" : "rw";
  auto it = s.active.find(domain);
  if (it != s.active.end() && it->second == mode && s.exported && QsdAlive(dir, s)) return;
  if (!QsdAlive(dir, s)) throw QsdGone(uri, s);
  for (const auto& [d, m] : s.active) {
    if (d != domain && m != mode) {
      throw Error("Activation_conflict",
                  uri + " is active " + (m == "rw" ? "read-write" : "read-only") +
                      " for domain " + d + "; it cannot be active " +
                      (read_only ? "read-only" : "read-write") + " at the same time");
    }
  }
  QmpClient qmp(QmpPath(dir), options_.qmp_timeout);
  try {
    if (s.exported && s.export_writable != !read_only) {
      RemoveExport(qmp, options_.qmp_timeout);
      s.exported = false;
    }
    if (!s.exported) {
      qmp.Execute("block-export-add", {{"type", "nbd"},
                                       {"id", kExportId},
                                       {"node-name", s.top_node},
                                       {"name", v.key},
                                       {"writable", !read_only}});
      s.exported = true;
      s.export_writable = !read_only;
    }
  } catch (const QmpError& e) {
    throw Error("Qsd_failed", "cannot export " + uri + ": " + e.what());
  }
  s.active[domain] = mode;
  WriteState(dir, s);
}

std::string Datapath::ImportActivate(const std::string& uri, const std::string& domain) {
  Activate(uri, domain, false);
  std::string dir = VolumeRunDir(uri);
  VolumeLock lock(dir, options_.lock_timeout);
  VolumeState s = ReadState(dir);
  if (s.relay_pid > 0 && IsOurProcess(s.relay_pid, RelayMarks(dir))) return ImportPath(dir);
  ::unlink(ImportPath(dir).c_str());
  pid_t pid = Spawn({options_.self_exe, "--import-relay", ImportPath(dir), NbdPath(dir)},
                    dir + "/relay.log");
  // Ready when the socket exists (the relay binds and listens before anything else).
  Clock::time_point deadline = Clock::now() + options_.start_timeout;
  struct stat st;
  while (::stat(ImportPath(dir).c_str(), &st) != 0) {
    int status;
    if (::waitpid(pid, &status, WNOHANG) == pid || Clock::now() >= deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
      throw Error("Relay_failed", "the import relay for " + uri + " did not start; see " + dir +
                                      "/relay.log");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  s.relay_pid = pid;
  WriteState(dir, s);
  return ImportPath(dir);
}

void Datapath::Deactivate(const std::string& uri, const std::string& domain) {
  ParseUri(uri);
  std::string dir = VolumeRunDir(uri);
  VolumeLock lock(dir, options_.lock_timeout);
  VolumeState s = ReadState(dir);
  if (s.active.erase(domain) == 0) return;
  if (s.active.empty()) {
    if (s.relay_pid > 0) StopProcess(s.relay_pid, RelayMarks(dir), options_.stop_grace);
    s.relay_pid = 0;
    if (s.exported && QsdAlive(dir, s)) {
      try {
        QmpClient qmp(QmpPath(dir), options_.qmp_timeout);
        RemoveExport(qmp, options_.qmp_timeout);
      } catch (const QmpError& e) {
        WriteState(dir, s);
        throw Error("Qsd_failed", "cannot remove the NBD export of " + uri + ": " + e.what());
      }
    }
    // A dead daemon has no export left to remove: deactivation succeeds.
    s.exported = false;
    s.export_writable = false;
  }
  WriteState(dir, s);
}

void Datapath::Detach(const std::string& uri, const std::string& domain) {
  ParseUri(uri);
  std::string dir = VolumeRunDir(uri);
  VolumeLock lock(dir, options_.lock_timeout);
  VolumeState s = ReadState(dir);
  std::vector<std::string> rest;
  for (const std::string& d : s.domains) {
    if (d != domain) rest.push_back(d);
  }
  s.domains = rest;
  s.active.erase(domain);
  if (s.domains.empty()) StopDaemons(dir, s, options_.stop_grace);
  if (fs::exists(dir + "/state.json") || !s.domains.empty()) WriteState(dir, s);
}

void Datapath::Close(const std::string& uri) {
  ParseUri(uri);
  std::string dir = VolumeRunDir(uri);
  VolumeLock lock(dir, options_.lock_timeout);
  VolumeState s = ReadState(dir);
  // Close is final: whatever is still attached is torn down, so no daemon outlives it.
  StopDaemons(dir, s, options_.stop_grace);
  if (!s.overlay.empty()) ::unlink(s.overlay.c_str());
  for (const char* f : {"/state.json", "/qsd.log", "/relay.log"}) {
    ::unlink((dir + f).c_str());
  }
}

Operation Datapath::StartJob(const std::string& kind, const std::string& uri,
                             const std::string& remote) {
  ParseUri(uri);
  json target = json::parse(NbdNodeOptionsJson(remote));
  std::string dir = VolumeRunDir(uri);
  VolumeLock lock(dir, options_.lock_timeout);
  VolumeState s = ReadState(dir);
  if (!QsdAlive(dir, s)) {
    throw Error("Not_attached", uri + " is not attached on this host; attach it before " +
                                    (kind == "CopyV1" ? "Data.copy" : "Data.mirror"));
  }
  std::string id = RandomId(kind == "CopyV1" ? "copy-" : "mirror-");
  std::string node = "target-" + id;
  target["node-name"] = node;
  QmpClient qmp(QmpPath(dir), options_.qmp_timeout);
  try {
    qmp.Execute("blockdev-add", target);
  } catch (const QmpError& e) {
    throw Error("Remote_unreachable", "cannot open the NBD destination " + remote + ": " +
                                          e.what());
  }
  try {
    // write-blocking: once in sync, a guest write completes only when the destination has
    // it too, which is what a storage migration needs.
    qmp.Execute("blockdev-mirror", {{"job-id", id}, {"device", s.top_node}, {"target", node},
                                    {"sync", "full"}, {"copy-mode", "write-blocking"},
                                    {"auto-dismiss", false}});
  } catch (const QmpError& e) {
    try {
      qmp.Execute("blockdev-del", {{"node-name", node}});
    } catch (const QmpError&) {
    }
    throw Error("Qsd_failed", "cannot start the " + kind + " job of " + uri + ": " + e.what());
  }
  fs::create_directories(OperationsDir());
  json record = {{"id", id}, {"kind", kind}, {"uri", uri}, {"remote", remote},
                 {"target_node", node}};
  WriteFileAtomically(OperationPath(id), record.dump() + "\n");
  return Operation{kind, id};
}

// Data.copy: qsd cannot copy an arbitrary block list (a bitmap cannot be filled from QMP), so
// a worker process does it over NBD: it reads the listed ranges from a read-only export of the
// volume's top node made for this operation and writes them to the remote export.
Operation Datapath::Copy(const std::string& uri, const std::string&, const std::string& remote,
                         const Blocklist& blocklist) {
  ParseUri(uri);
  NbdNodeOptionsJson(remote);  // validates the destination
  if (blocklist.blocksize <= 0) {
    throw Error("Invalid_blocklist", "blocklist blocksize must be positive, got " +
                                         std::to_string(blocklist.blocksize));
  }
  json ranges = json::array();
  for (const auto& [start, length] : blocklist.ranges) {
    if (start < 0 || length < 0) {
      throw Error("Invalid_blocklist", "blocklist range (" + std::to_string(start) + ", " +
                                           std::to_string(length) + ") is negative");
    }
    // Byte offsets must fit in 63 bits.
    if (length > (INT64_MAX / blocklist.blocksize) - start) {
      throw Error("Invalid_blocklist", "blocklist range (" + std::to_string(start) + ", " +
                                           std::to_string(length) + ") overflows");
    }
    ranges.push_back({start, length});
  }
  std::string dir = VolumeRunDir(uri);
  VolumeLock lock(dir, options_.lock_timeout);
  VolumeState s = ReadState(dir);
  if (!QsdAlive(dir, s)) {
    throw Error("Not_attached", uri + " is not attached on this host; attach it before Data.copy");
  }
  std::string id = RandomId("copy-");
  QmpClient qmp(QmpPath(dir), options_.qmp_timeout);
  try {
    qmp.Execute("block-export-add", {{"type", "nbd"}, {"id", id}, {"node-name", s.top_node},
                                     {"name", id}, {"writable", false}});
  } catch (const QmpError& e) {
    throw Error("Qsd_failed", "cannot export " + uri + " for the copy: " + e.what());
  }
  fs::create_directories(OperationsDir());
  std::string record_path = OperationPath(id);
  json record = {{"id", id}, {"kind", "CopyV1"}, {"uri", uri}, {"remote", remote},
                 {"source_socket", NbdPath(dir)}, {"source_export", id},
                 {"blocksize", blocklist.blocksize}, {"ranges", ranges}, {"worker_pid", 0}};
  try {
    WriteFileAtomically(record_path, record.dump() + "\n");
    uint64_t total = 0;
    for (const auto& [start, length] : blocklist.ranges) {
      total += static_cast<uint64_t>(length) * static_cast<uint64_t>(blocklist.blocksize);
    }
    WriteProgress(record_path, "running", 0, total);
    pid_t pid = Spawn({options_.self_exe, "--copy-worker", record_path},
                      OperationsDir() + "/" + id + ".log");
    record["worker_pid"] = pid;
    WriteFileAtomically(record_path, record.dump() + "\n");
  } catch (const std::exception& e) {
    try {
      qmp.Execute("block-export-del", {{"id", id}, {"mode", "hard"}});
    } catch (const QmpError&) {
    }
    ::unlink(record_path.c_str());
    ::unlink(ProgressPath(record_path).c_str());
    throw Error("Internal_error", "cannot start the copy worker: " + std::string(e.what()));
  }
  return Operation{"CopyV1", id};
}

Operation Datapath::Mirror(const std::string& uri, const std::string&,
                           const std::string& remote) {
  return StartJob("MirrorV1", uri, remote);
}

OperationStatus Datapath::Stat(const std::string& operation) {
  json op = ReadOperation(operation);
  OperationStatus st;
  if (op.value("kind", "") == "CopyV1") {
    std::string record_path = OperationPath(operation);
    json p = ReadProgress(record_path);
    if (p.value("state", "") == "running" &&
        !IsOurProcess(op.value("worker_pid", 0), WorkerMarks(record_path))) {
      p = ReadProgress(record_path);  // it may have finished just now
      if (p.value("state", "") == "running") p["state"] = "failed";  // it died
    }
    std::string state = p.value("state", "failed");
    uint64_t done = p.value("done", uint64_t{0});
    uint64_t total = p.value("total", uint64_t{0});
    st.complete = state != "running";
    st.failed = state == "failed";
    if (!st.failed) {
      st.has_progress = true;
      st.progress = state == "complete" || total == 0
                        ? 1.0
                        : static_cast<double>(done) / static_cast<double>(total);
    }
    return st;
  }
  std::string uri = op.value("uri", "");
  std::string dir = VolumeRunDir(uri);
  VolumeState s = ReadState(dir);
  if (op.value("finished", false)) {
    st.complete = true;
    st.failed = op.value("failed", true);
    return st;
  }
  if (!QsdAlive(dir, s)) {
    st.complete = st.failed = true;  // the daemon, and its job, are gone
    return st;
  }
  QmpClient qmp(QmpPath(dir), options_.qmp_timeout);
  json job = FindJob(qmp, operation);
  if (job.is_null()) {
    st.complete = st.failed = true;
    return st;
  }
  std::string status = job.value("status", "");
  int64_t done = job.value("current-progress", int64_t{0});
  int64_t total = job.value("total-progress", int64_t{0});
  st.has_progress = true;
  st.progress = total > 0 ? static_cast<double>(done) / static_cast<double>(total) : 0.0;
  if (status == "concluded" || status == "null") {
    st.complete = true;
    st.failed = job.contains("error");
    if (!st.failed) st.progress = 1.0;
  } else if (status == "ready") {
    st.complete = true;  // a mirror in sync: every write now reaches the destination
    st.progress = 1.0;
  } else if (status == "aborting") {
    st.complete = st.failed = true;
  }
  return st;
}

void Datapath::Cancel(const std::string& operation) {
  json op = ReadOperation(operation);
  if (op.value("kind", "") == "CopyV1") {
    std::string record_path = OperationPath(operation);
    StopProcess(op.value("worker_pid", 0), WorkerMarks(record_path), options_.stop_grace);
    json p = ReadProgress(record_path);
    if (p.value("state", "") == "running") {
      WriteProgress(record_path, "failed", p.value("done", uint64_t{0}),
                    p.value("total", uint64_t{0}), "cancelled by Data.cancel");
    }
    return;
  }
  std::string dir = VolumeRunDir(op.value("uri", ""));
  VolumeLock lock(dir, options_.lock_timeout);  // it changes the daemon's state
  VolumeState s = ReadState(dir);
  if (!QsdAlive(dir, s)) return;  // nothing left to cancel
  QmpClient qmp(QmpPath(dir), options_.qmp_timeout);
  try {
    qmp.Execute("job-cancel", {{"id", operation}});
  } catch (const QmpError& e) {
    if (e.error_class().empty()) throw Error("Qsd_failed", e.what());
    // Already concluded or gone: cancel is a no-op then.
  }
}

void Datapath::Destroy(const std::string& operation) {
  json op = ReadOperation(operation);
  std::string dir = VolumeRunDir(op.value("uri", ""));
  if (op.value("kind", "") == "CopyV1") {
    std::string record_path = OperationPath(operation);
    if (IsOurProcess(op.value("worker_pid", 0), WorkerMarks(record_path)) &&
        ReadProgress(record_path).value("state", "") == "running") {
      throw Error("Operation_running", "operation " + operation +
                                           " is still running; cancel it or wait for it to "
                                           "complete");
    }
    // A worker that wrote its final state is about to exit; make sure it is gone.
    StopProcess(op.value("worker_pid", 0), WorkerMarks(record_path), options_.stop_grace);
    VolumeLock lock(dir, options_.lock_timeout);
    VolumeState s = ReadState(dir);
    if (QsdAlive(dir, s)) {
      try {
        QmpClient qmp(QmpPath(dir), options_.qmp_timeout);
        qmp.Execute("block-export-del", {{"id", operation}, {"mode", "hard"}});
      } catch (const QmpError&) {
        // already gone
      }
    }
    ::unlink(ProgressPath(record_path).c_str());
    ::unlink((OperationsDir() + "/" + operation + ".log").c_str());
    ::unlink(record_path.c_str());
    return;
  }
  VolumeLock lock(dir, options_.lock_timeout);
  VolumeState s = ReadState(dir);
  if (QsdAlive(dir, s)) {
    QmpClient qmp(QmpPath(dir), options_.qmp_timeout);
    json job = FindJob(qmp, operation);
    if (!job.is_null()) {
      std::string status = job.value("status", "");
      if (status == "ready") {
        // A mirror in sync runs until told otherwise: destroying it stops it.
        qmp.Execute("job-cancel", {{"id", operation}});
        Clock::time_point deadline = Clock::now() + options_.qmp_timeout;
        while (status != "concluded" && status != "null") {
          if (Clock::now() >= deadline) {
            throw Error("Qsd_failed", "mirror " + operation + " did not stop in time");
          }
          std::this_thread::sleep_for(std::chrono::milliseconds(2));
          json now = FindJob(qmp, operation);
          status = now.is_null() ? "null" : now.value("status", "");
        }
      } else if (status != "concluded" && status != "null") {
        throw Error("Operation_running", "operation " + operation + " is still running (" +
                                             status + "); cancel it or wait for it to complete");
      }
      try {
        qmp.Execute("job-dismiss", {{"id", operation}});
      } catch (const QmpError&) {
      }
    }
    try {
      qmp.Execute("blockdev-del", {{"node-name", op.value("target_node", "")}});
    } catch (const QmpError&) {
    }
  }
  ::unlink(OperationPath(operation).c_str());
}

std::vector<Operation> Datapath::Ls() {
  std::vector<Operation> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(OperationsDir(), ec)) {
    if (entry.path().extension() != ".json") continue;
    try {
      json op = ReadOperation(entry.path().stem().string());
      out.push_back(Operation{op.value("kind", ""), op.value("id", "")});
    } catch (const Error&) {
      // a record being written right now; it will show up next time
    }
  }
  return out;
}

// ---- import relay ----

namespace {

// Copies bytes both ways between `a` and `b` until either side closes, then closes both.
void Relay(int a, int b) {
  char buf[1 << 16];
  pollfd fds[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
  bool open = true;
  while (open) {
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2 && open; ++i) {
      if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n <= 0) {
        open = false;
        break;
      }
      int out = fds[1 - i].fd;
      for (ssize_t off = 0; off < n;) {
        ssize_t w = ::send(out, buf + off, static_cast<size_t>(n - off), MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
          open = false;
          break;
        }
        off += w;
      }
    }
  }
  ::close(a);
  ::close(b);
}

int ConnectUnix(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

int RunImportRelay(const std::string& listen_path, const std::string& nbd_path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (listen_path.size() >= sizeof addr.sun_path) {
    std::fprintf(stderr, "qdisk import relay: socket path too long: %s\n", listen_path.c_str());
    return 1;
  }
  std::strncpy(addr.sun_path, listen_path.c_str(), sizeof addr.sun_path - 1);
  int lfd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  // Bind to a temporary name and rename: the socket appears only once it listens.
  std::string tmp = listen_path + ".tmp";
  sockaddr_un taddr = addr;
  std::strncpy(taddr.sun_path, tmp.c_str(), sizeof taddr.sun_path - 1);
  ::unlink(tmp.c_str());
  if (lfd < 0 || ::bind(lfd, reinterpret_cast<sockaddr*>(&taddr), sizeof taddr) != 0 ||
      ::listen(lfd, 16) != 0 || ::rename(tmp.c_str(), listen_path.c_str()) != 0) {
    std::fprintf(stderr, "qdisk import relay: cannot listen on %s: %s\n", listen_path.c_str(),
                 std::strerror(errno));
    return 1;
  }
  for (;;) {
    int conn = ::accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
    if (conn < 0) {
      if (errno == EINTR) continue;
      std::fprintf(stderr, "qdisk import relay: accept: %s\n", std::strerror(errno));
      return 1;
    }
    // Each message may carry descriptors; every one becomes a relayed NBD connection.
    for (;;) {
      char data[256];
      iovec iov{data, sizeof data};
      alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 16)];
      msghdr msg{};
      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;
      msg.msg_control = control;
      msg.msg_controllen = sizeof control;
      ssize_t n = ::recvmsg(conn, &msg, MSG_CMSG_CLOEXEC);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
        size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < count; ++i) {
          int client;
          std::memcpy(&client, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
          int server = ConnectUnix(nbd_path);
          if (server < 0) {
            std::fprintf(stderr, "qdisk import relay: cannot connect to %s: %s\n",
                         nbd_path.c_str(), std::strerror(errno));
            ::close(client);
            continue;
          }
          std::thread(Relay, client, server).detach();
        }
      }
    }
    ::close(conn);
  }
}

}  // namespace qdisk

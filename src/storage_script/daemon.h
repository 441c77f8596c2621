// Daemon: the running service. Wires the plugin watcher (discovery), one message-switch Server
// per volume plugin queue, the scheduler (limits and per-volume ordering) and the VolumeService
// translation together (spec storage-script.md §1.7, §2, §4.7).
//
// Request path: the queue's Server hands a request over on its own thread; we note it as in
// flight and give it to the scheduler, keyed by (plugin, SR, volume); a worker runs the
// translation (scripts included) and replies through the Server, which acks the request. A
// cancel from the switch kills the running script (a waiting call never starts) and the caller gets
// ["Cancelled",...]. A removed plugin's server drains: it takes no new requests (they stay
// queued in the switch) and stops once its running calls are answered. The Observer queue
// (observer.h) turns the scripts' tracing wrapper on and off.
//
// Thread-safety: Start/Stop from main(); everything else runs on the watcher, server and worker
// threads, sharing state under mu_.
#ifndef STORAGE_SCRIPT_DAEMON_H_
#define STORAGE_SCRIPT_DAEMON_H_

#include <map>
#include <memory>
#include <mutex>
#include <condition_variable>
#include <string>
#include <thread>
#include <vector>

#include "storage_script/attached_srs.h"
#include "storage_script/config.h"
#include "storage_script/datapaths.h"
#include "storage_script/log.h"
#include "storage_script/plugin_watcher.h"
#include "storage_script/scheduler.h"
#include "storage_script/script_runner.h"

namespace msclient {
class HandlerServer;
}

namespace storage {

class Daemon {
 public:
  // `options` and `log` must outlive the daemon.
  Daemon(const Options& options, Logger& log);
  ~Daemon();

  // Loads the state file, scans the plugins, serves their queues. Returns false with `error`
  // set when the daemon cannot run (e.g. inotify unavailable).
  bool Start(std::string* error);
  // Stops serving: no new requests, running scripts killed, pending calls dropped.
  void Stop();

 private:
  struct Plugin;
  PluginWatcher::AddResult AddVolume(const std::string& name, const std::string& dir);
  void RemoveVolume(const std::string& name);
  // The drainer thread: stops the servers of removed plugins once their calls are answered.
  void Drain();

  const Options& options_;
  Logger& log_;
  ScriptRunner runner_;
  AttachedSrs srs_;
  Datapaths datapaths_;
  Scheduler scheduler_;
  std::unique_ptr<PluginWatcher> watcher_;
  std::unique_ptr<msclient::HandlerServer> observer_server_;

  std::mutex mu_;
  std::map<std::string, std::shared_ptr<Plugin>> plugins_;  // guarded by mu_
  std::vector<std::shared_ptr<Plugin>> draining_;           // guarded by mu_
  bool stopping_ = false;                                   // guarded by mu_
  std::condition_variable drain_cv_;
  std::thread drainer_;
};

}  // namespace storage

#endif  // STORAGE_SCRIPT_DAEMON_H_

// PluginWatcher: finds plugins under <root>/volume and <root>/datapath and follows changes with
// inotify (spec storage-script.md §2.2, with the fixes of §8 Q3, Q16 and the directory-recreation
// hole of §2.3).
//
// Loop shape: wait for inotify events (or a retry request, or the periodic tick); drain every
// event that is ready plus those arriving within a short batching window; turn the batch into at
// most one rescan per kind plus a set of changed entries; act; repeat.
//
// * A rescan lists the directory, adds entries not yet known and removes entries gone.
// * A volume plugin the daemon refused (its Plugin.query failed) is retried when its
//   Plugin.query script appears or changes, so installing scripts into an empty directory serves
//   it then.
// * A datapath plugin is re-registered when its Plugin.query script changes, and unregistered
//   when its directory goes.
// * If <root>/volume or <root>/datapath is deleted, its plugins are removed; when it is
//   recreated (seen through a watch on <root>, and by a periodic check), it is watched again and
//   rescanned.
//
// The callbacks run on the watcher's thread, one at a time. Thread-safety: Start/Stop from the
// owner's thread; RequestRetry from any thread.
#ifndef STORAGE_SCRIPT_PLUGIN_WATCHER_H_
#define STORAGE_SCRIPT_PLUGIN_WATCHER_H_

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "storage_script/log.h"

namespace storage {

class PluginWatcher {
 public:
  enum class AddResult {
    kServed,    // serving
    kRejected,  // not now; retried when its directory changes
    kRetry,     // a transient failure (e.g. switch unreachable): retried periodically
  };
  struct Callbacks {
    std::function<AddResult(const std::string& name, const std::string& dir)> add_volume;
    std::function<void(const std::string& name)> remove_volume;
    std::function<void(const std::string& name, const std::string& dir)> add_datapath;
    std::function<void(const std::string& name)> remove_datapath;
  };

  PluginWatcher(std::string root, Callbacks callbacks, Logger& log);
  ~PluginWatcher();
  PluginWatcher(const PluginWatcher&) = delete;
  PluginWatcher& operator=(const PluginWatcher&) = delete;

  // Sets up the watches, does the initial scan synchronously (so plugins present at start-up
  // are served when Start returns), then follows changes on a thread. Returns false with
  // `error` set if inotify cannot be used at all.
  bool Start(std::string* error);
  void Stop();

  // Asks the loop to try adding volume plugin `name` again (e.g. its server lost the switch).
  void RequestRetry(const std::string& name);

 private:
  struct Kind;
  void Loop();
  void WatchTop();
  void Rescan(Kind& kind);
  void AddEntry(Kind& kind, const std::string& name);
  void RemoveEntry(Kind& kind, const std::string& name);
  void WatchEntry(Kind& kind, const std::string& name);

  const std::string root_;
  const Callbacks cb_;
  Logger& log_;
  int inotify_fd_ = -1;
  int wake_fd_ = -1;
  int root_wd_ = -1;
  std::atomic<bool> stop_{false};
  std::thread thread_;

  struct Kind {
    const char* subdir;  // "volume" or "datapath"
    bool volume;
    int wd = -1;  // watch on <root>/<subdir>, -1 when it is missing
    bool reported_missing = false;  // logged once per disappearance
    // name -> served (volume) / registered-or-tried (datapath)
    std::map<std::string, AddResult> entries;
    std::map<int, std::string> entry_wds;  // watch on each entry's directory
  };
  Kind volume_{"volume", true, -1, false, {}, {}};
  Kind datapath_{"datapath", false, -1, false, {}, {}};

  std::mutex retry_mu_;
  std::set<std::string> retry_;  // guarded by retry_mu_
};

}  // namespace storage

#endif  // STORAGE_SCRIPT_PLUGIN_WATCHER_H_

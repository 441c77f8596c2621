#include "storage_script/plugin_watcher.h"

#include <dirent.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <vector>

namespace storage {

namespace {

constexpr uint32_t kTopMask = IN_CLOSE_WRITE | IN_CREATE | IN_DELETE | IN_DELETE_SELF |
                              IN_MODIFY | IN_MOVED_FROM | IN_MOVED_TO | IN_MOVE_SELF |
                              IN_ONLYDIR;
constexpr uint32_t kEntryMask = IN_CLOSE_WRITE | IN_CREATE | IN_DELETE | IN_MOVED_FROM |
                                IN_MOVED_TO | IN_ATTRIB | IN_ONLYDIR;
constexpr uint32_t kRootMask = IN_CREATE | IN_MOVED_TO | IN_ONLYDIR;
// Events arriving this soon after the first one are handled in the same batch.
constexpr int kBatchWindowMs = 20;
// How often transient failures are retried and missing directories looked for.
constexpr int kTickMs = 2000;

bool ListDir(const std::string& dir, std::set<std::string>* names) {
  DIR* d = opendir(dir.c_str());
  if (!d) return false;
  while (dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names->insert(n);
  }
  closedir(d);
  return true;
}

// "Plugin.query", "Plugin.Query", ... (any case).
bool IsPluginScript(const std::string& name) {
  static const std::string kPrefix = "plugin.";
  if (name.size() < kPrefix.size()) return false;
  for (size_t i = 0; i < kPrefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(name[i])) != kPrefix[i]) return false;
  }
  return true;
}

}  // namespace

PluginWatcher::PluginWatcher(std::string root, Callbacks callbacks, Logger& log)
    : root_(std::move(root)), cb_(std::move(callbacks)), log_(log) {}

PluginWatcher::~PluginWatcher() {
  Stop();
  if (inotify_fd_ >= 0) close(inotify_fd_);
  if (wake_fd_ >= 0) close(wake_fd_);
}

bool PluginWatcher::Start(std::string* error) {
  inotify_fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (inotify_fd_ < 0 || wake_fd_ < 0) {
    *error = std::string("inotify: ") + std::strerror(errno);
    return false;
  }
  root_wd_ = inotify_add_watch(inotify_fd_, root_.c_str(), kRootMask);
  // Datapaths first, so volume calls arriving right after start-up find them.
  WatchTop();
  Rescan(datapath_);
  Rescan(volume_);
  thread_ = std::thread([this] { Loop(); });
  return true;
}

void PluginWatcher::Stop() {
  if (!thread_.joinable()) return;
  stop_ = true;
  uint64_t one = 1;
  ssize_t n = write(wake_fd_, &one, sizeof one);
  (void)n;
  thread_.join();
}

void PluginWatcher::RequestRetry(const std::string& name) {
  {
    std::lock_guard<std::mutex> lock(retry_mu_);
    retry_.insert(name);
  }
  uint64_t one = 1;
  ssize_t n = write(wake_fd_, &one, sizeof one);
  (void)n;
}

void PluginWatcher::WatchTop() {
  for (Kind* k : {&datapath_, &volume_}) {
    if (k->wd >= 0) continue;
    std::string dir = root_ + "/" + k->subdir;
    k->wd = inotify_add_watch(inotify_fd_, dir.c_str(), kTopMask);
    if (k->wd < 0 && !k->reported_missing) {
      log_.Error("Cannot watch " + dir + ": " + std::strerror(errno) +
                 "; it will be watched when it appears");
    }
    k->reported_missing = k->wd < 0;
  }
}

void PluginWatcher::WatchEntry(Kind& kind, const std::string& name) {
  std::string dir = root_ + "/" + kind.subdir + "/" + name;
  int wd = inotify_add_watch(inotify_fd_, dir.c_str(), kEntryMask);
  if (wd >= 0) kind.entry_wds[wd] = name;
}

void PluginWatcher::AddEntry(Kind& kind, const std::string& name) {
  std::string dir = root_ + "/" + kind.subdir + "/" + name;
  bool known = kind.entries.count(name) > 0;
  if (!known) WatchEntry(kind, name);
  if (kind.volume) {
    if (known && kind.entries[name] == AddResult::kServed) return;
    kind.entries[name] = cb_.add_volume(name, dir);
  } else {
    cb_.add_datapath(name, dir);
    kind.entries[name] = AddResult::kServed;
  }
}

void PluginWatcher::RemoveEntry(Kind& kind, const std::string& name) {
  auto it = kind.entries.find(name);
  if (it == kind.entries.end()) return;
  bool served = it->second == AddResult::kServed;
  kind.entries.erase(it);
  for (auto w = kind.entry_wds.begin(); w != kind.entry_wds.end();) {
    if (w->second == name) {
      inotify_rm_watch(inotify_fd_, w->first);
      w = kind.entry_wds.erase(w);
    } else {
      ++w;
    }
  }
  if (kind.volume) {
    if (served) cb_.remove_volume(name);
  } else {
    cb_.remove_datapath(name);
  }
}

void PluginWatcher::Rescan(Kind& kind) {
  std::set<std::string> names;
  if (kind.wd < 0 || !ListDir(root_ + "/" + kind.subdir, &names)) names.clear();
  std::vector<std::string> gone;
  for (const auto& [name, state] : kind.entries) {
    if (!names.count(name)) gone.push_back(name);
  }
  for (const auto& name : names) {
    if (!kind.entries.count(name)) AddEntry(kind, name);
  }
  for (const auto& name : gone) RemoveEntry(kind, name);
}

void PluginWatcher::Loop() {
  std::vector<char> buf(64 * 1024);
  while (!stop_) {
    pollfd fds[2] = {{inotify_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    int ready = poll(fds, 2, kTickMs);
    if (stop_) return;
    if (ready < 0 && errno != EINTR) {
      log_.Error(std::string("plugin watcher poll failed: ") + std::strerror(errno));
      poll(nullptr, 0, kTickMs);
      continue;
    }
    uint64_t drained;
    while (read(wake_fd_, &drained, sizeof drained) > 0) {
    }

    bool rescan[2] = {false, false};  // volume, datapath
    std::set<std::string> changed[2];  // entries to re-add (volume) or re-query (datapath)
    std::set<std::string> modified_volume;  // files directly in volume/ that were written
    bool got_events = false;
    for (;;) {
      ssize_t n = read(inotify_fd_, buf.data(), buf.size());
      if (n <= 0) {
        // Nothing more right now: wait a short window for the rest of a burst (one mv or
        // rm -r produces several events), then stop draining.
        if (!got_events) break;
        pollfd p{inotify_fd_, POLLIN, 0};
        if (poll(&p, 1, kBatchWindowMs) <= 0) break;
        continue;
      }
      got_events = true;
      for (char* ptr = buf.data(); ptr < buf.data() + n;) {
        auto* ev = reinterpret_cast<inotify_event*>(ptr);
        ptr += sizeof(inotify_event) + ev->len;
        std::string name = ev->len ? ev->name : "";
        if (ev->mask & IN_Q_OVERFLOW) {
          rescan[0] = rescan[1] = true;
          continue;
        }
        if (ev->wd == root_wd_) {
          if (name == "volume" || name == "datapath") rescan[name == "volume" ? 0 : 1] = true;
          continue;
        }
        Kind* kinds[2] = {&volume_, &datapath_};
        for (int k = 0; k < 2; ++k) {
          Kind& kind = *kinds[k];
          if (ev->wd == kind.wd) {
            if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) {
              // The directory itself went away (a moved directory keeps its watch, which would
              // then follow it elsewhere): drop the watch; the directory is watched again when
              // something of that name reappears.
              if (!(ev->mask & IN_IGNORED)) inotify_rm_watch(inotify_fd_, kind.wd);
              kind.wd = -1;
              rescan[k] = true;
            } else if (ev->mask & (IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO)) {
              rescan[k] = true;
            } else if ((ev->mask & (IN_CLOSE_WRITE | IN_MODIFY)) && !name.empty()) {
              if (kind.volume) modified_volume.insert(name);
              else changed[k].insert(name);
            }
          } else if (auto it = kind.entry_wds.find(ev->wd); it != kind.entry_wds.end()) {
            if (ev->mask & IN_IGNORED) {
              kind.entry_wds.erase(it);
              continue;
            }
            // Only Plugin.query decides registration; other scripts are looked up per call.
            // Ignoring the rest also keeps a plugin that writes files into its own directory
            // (a log, say) from re-triggering its own query forever.
            if (!IsPluginScript(name)) continue;
            changed[k].insert(it->second);
          }
        }
      }
    }
    {
      std::lock_guard<std::mutex> lock(retry_mu_);
      for (const auto& n : retry_) {
        // The plugin's server gave up on the switch: serve it afresh.
        auto it = volume_.entries.find(n);
        if (it != volume_.entries.end()) it->second = AddResult::kRetry;
      }
      retry_.clear();
    }
    // Periodic: look for missing top directories, retry transient failures.
    if (volume_.wd < 0 || datapath_.wd < 0) {
      bool had[2] = {volume_.wd >= 0, datapath_.wd >= 0};
      WatchTop();
      if (!had[0] && volume_.wd >= 0) rescan[0] = true;
      if (!had[1] && datapath_.wd >= 0) rescan[1] = true;
    }
    for (const auto& [name, state] : volume_.entries) {
      if (state == AddResult::kRetry) changed[0].insert(name);
    }

    if (rescan[1]) Rescan(datapath_);
    for (const auto& name : changed[1]) {
      if (datapath_.entries.count(name)) AddEntry(datapath_, name);
    }
    if (rescan[0]) Rescan(volume_);
    for (const auto& name : modified_volume) {
      // A file written directly in volume/: reload that entry.
      RemoveEntry(volume_, name);
      std::set<std::string> names;
      ListDir(root_ + "/volume", &names);
      if (names.count(name)) AddEntry(volume_, name);
    }
    for (const auto& name : changed[0]) {
      auto it = volume_.entries.find(name);
      if (it != volume_.entries.end() && it->second != AddResult::kServed) AddEntry(volume_, name);
    }
  }
}

}  // namespace storage

// Datapaths: the registry of datapath plugins, keyed by the URI scheme they serve (the plugin's
// directory name, spec storage-script.md §2.1, §2.4), and URI choice for a volume (§2.5).
//
// A plugin is registered only when its Plugin.query (dbg "register") succeeds and its
// required_api_version is "3.0" or "5.0"; anything but "5.0" logs a deprecation warning.
//
// Thread-safe: a mutex guards the table; lookups return copies.
#ifndef STORAGE_SCRIPT_DATAPATHS_H_
#define STORAGE_SCRIPT_DATAPATHS_H_

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "storage_script/errors.h"
#include "storage_script/log.h"
#include "storage_script/script_runner.h"

namespace storage {

struct DatapathPlugin {
  std::string name;  // = the URI scheme
  std::string dir;
  Json query;        // the Plugin.query result
  // Exact name or NAME/N (the reference only matched the exact name).
  bool HasFeature(const std::string& feature) const;
};

// The datapath chosen for a volume: the plugin, and the URI to pass to its scripts.
struct ChosenDatapath {
  DatapathPlugin plugin;
  std::string uri;
};

class Datapaths {
 public:
  Datapaths(ScriptRunner& runner, Logger& log) : runner_(runner), log_(log) {}

  // Queries the plugin in `dir` and registers it under `name` on success (replacing any entry);
  // on failure logs why, unregisters `name`, and returns false.
  bool Register(const std::string& name, const std::string& dir,
                std::chrono::milliseconds timeout);
  void Unregister(const std::string& name);
  std::optional<DatapathPlugin> Find(const std::string& scheme) const;
  std::vector<std::string> Names() const;

  // §2.5: the first URI of `uris` whose scheme has a registered plugin; with `persistent` false
  // the URIs whose plugin has NONPERSISTENT come first. Throws MISSING_URI when none is usable.
  ChosenDatapath Choose(const Json& uris, bool persistent = true) const;

 private:
  ScriptRunner& runner_;
  Logger& log_;
  mutable std::mutex mu_;
  std::map<std::string, DatapathPlugin> plugins_;  // guarded by mu_
};

// The scheme of `uri` ("raw+file" of "raw+file:///x"), or "" when it has none.
std::string UriScheme(const std::string& uri);

}  // namespace storage

#endif  // STORAGE_SCRIPT_DATAPATHS_H_

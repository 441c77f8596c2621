#include "storage_script/script_runner.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "storage_script/v3_results.h"

namespace storage {

namespace {

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

const char* ErrnoName(int e) {
  switch (e) {
    case EACCES: return "EACCES";
    case ENOENT: return "ENOENT";
    case EPERM: return "EPERM";
    case EROFS: return "EROFS";
    case ENOTDIR: return "ENOTDIR";
    case ELOOP: return "ELOOP";
    default: return "EUNKNOWNERR";
  }
}

// Decodes a script's error report (idl.md §4.4): keys matched case-insensitively, extra keys
// ignored, every field required, lines integers. Returns false when it is not a valid report.
bool ParseErrorReport(const Json& v, std::string* code, std::vector<std::string>* params,
                      Json* backtrace) {
  auto get = [](const Json& obj, const std::string& key) -> const Json* {
    for (auto it = obj.begin(); it != obj.end(); ++it) {
      if (Lower(it.key()) == key) return &*it;
    }
    return nullptr;
  };
  if (!v.is_object()) return false;
  const Json* c = get(v, "code");
  const Json* p = get(v, "params");
  const Json* b = get(v, "backtrace");
  if (!c || !p || !b || !c->is_string() || !p->is_array() || !b->is_object()) return false;
  for (const auto& x : *p) {
    if (!x.is_string()) return false;
  }
  const Json* err = get(*b, "error");
  const Json* files = get(*b, "files");
  const Json* lines = get(*b, "lines");
  if (!err || !files || !lines || !err->is_string() || !files->is_array() || !lines->is_array()) {
    return false;
  }
  for (const auto& f : *files) {
    if (!f.is_string()) return false;
  }
  for (const auto& l : *lines) {
    if (!l.is_number_integer()) return false;
  }
  *code = c->get<std::string>();
  *params = p->get<std::vector<std::string>>();
  *backtrace = Json{{"error", *err}, {"files", *files}, {"lines", *lines}};
  return true;
}

}  // namespace

std::string TraceparentOfDbg(const std::string& dbg) {
  size_t nl = dbg.find('\n');
  if (nl == std::string::npos || dbg.find('\n', nl + 1) != std::string::npos) return "";
  std::string context = dbg.substr(nl + 1);
  std::string tp;
  Json parsed = Json::parse(context, nullptr, false);
  if (parsed.is_discarded()) {
    tp = context;
  } else if (parsed.is_object() && parsed.contains("traceparent") &&
             parsed["traceparent"].is_string()) {
    tp = parsed["traceparent"].get<std::string>();
  } else {
    return "";
  }
  // Usable: four '-'-separated parts, the first "00".
  if (std::count(tp.begin(), tp.end(), '-') != 3 || tp.rfind("00-", 0) != 0) return "";
  return tp;
}

ScriptRunner::Lookup ScriptRunner::Check(const std::string& path, std::string* why) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return Lookup::kMissing;
  if (access(path.c_str(), X_OK) != 0) {
    *why = std::string("Unix.Unix_error(Unix.") + ErrnoName(errno) + ", \"access\", \"" + path +
           "\")";
    return Lookup::kNotExecutable;
  }
  return Lookup::kOk;
}

std::string ScriptRunner::CachedName(const std::string& dir, const std::string& method) {
  std::lock_guard<std::mutex> lock(mu_);
  auto d = cache_.find(dir);
  if (d == cache_.end()) return method;
  auto n = d->second.find(Lower(method));
  return n == d->second.end() ? method : n->second;
}

bool ScriptRunner::Rebuild(const std::string& dir) {
  DIR* d = opendir(dir.c_str());
  if (!d) {
    std::lock_guard<std::mutex> lock(mu_);
    cache_.erase(dir);
    return false;
  }
  std::map<std::string, std::string> names;
  while (dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n == "." || n == "..") continue;
    auto [it, inserted] = names.emplace(Lower(n), n);
    if (!inserted && n < it->second) it->second = n;  // smallest spelling wins
  }
  closedir(d);
  std::lock_guard<std::mutex> lock(mu_);
  cache_[dir] = std::move(names);
  return true;
}

std::string ScriptRunner::Find(const std::string& dir, const std::string& method,
                               bool log_errors) {
  std::string path = dir + "/" + CachedName(dir, method);
  std::string why;
  Lookup result = Check(path, &why);
  if (result != Lookup::kOk) {
    Rebuild(dir);
    path = dir + "/" + CachedName(dir, method);
    result = Check(path, &why);
  }
  switch (result) {
    case Lookup::kOk:
      return path;
    case Lookup::kMissing:
      if (log_errors) log_.Error(path + " is not a file");
      throw StorageError::Backend(
          "SCRIPT_MISSING", {path, "Check whether the file exists and has correct permissions"});
    case Lookup::kNotExecutable:
      if (log_errors) log_.Error(path + " is not executable");
      throw StorageError::Backend("SCRIPT_NOT_EXECUTABLE", {path, why});
  }
  return path;
}

bool ScriptRunner::Exists(const std::string& dir, const std::string& method) {
  try {
    Find(dir, method, false);
    return true;
  } catch (const StorageError&) {
    return false;
  }
}

Json ScriptRunner::Call(const ScriptCall& call) {
  log_.Info(Json{{"method", call.method}, {"params", Json::array({call.params})},
                 {"id", NextId()}}.dump());
  std::string path;
  try {
    path = Find(call.dir, call.method);
  } catch (const StorageError&) {
    if (!call.missing_is_noop) throw;
    log_.Warning("Deprecated: script '" + call.dir + "/" + call.method +
                 "' is missing, treating as no-op. Update your plugin!");
    return nullptr;
  }

  ProcessSpec spec;
  std::string dbg = call.params.contains("dbg") && call.params["dbg"].is_string()
                        ? call.params["dbg"].get<std::string>()
                        : "";
  std::string traceparent = TraceparentOfDbg(dbg);
  if (!traceparent.empty()) spec.extra_env.push_back("TRACEPARENT=" + traceparent);
  if (observer_ && !traceparent.empty()) {
    spec.program = "/usr/bin/python3";
    spec.argv = {"/usr/bin/python3", "-m", "observer", path, "--json"};
    spec.extra_env.push_back("OBSERVER_CONFIG_DIR=/etc/xensource/observer/smapi/enabled");
    spec.extra_env.push_back("PYTHONPATH=" + call.dir);
  } else {
    spec.program = path;
    spec.argv = {path, "--json"};
  }
  spec.input = call.params.dump();
  spec.timeout = call.timeout;
  spec.cancel = call.cancel;
  log_.Debug("Running " + path + " --json");
  ProcessResult r = RunProcess(spec);

  const std::string who = path + "[" + std::to_string(r.pid) + "]";
  if (!r.spawn_error.empty()) {
    log_.Error(path + " could not be started: " + r.spawn_error);
    throw StorageError::Backend("SCRIPT_FAILED", {"Unexpected exception:" + r.spawn_error});
  }
  if (r.timed_out) {
    double seconds = static_cast<double>(call.timeout.count()) / 1000.0;
    std::string limit = std::to_string(seconds);
    limit.erase(limit.find_last_not_of('0') + 1);
    if (limit.back() == '.') limit.pop_back();
    log_.Error(who + " timed out after " + limit + " s; its process group was killed");
    throw StorageError::Backend("SCRIPT_TIMEOUT",
                                {path, "timed out after " + limit + " s and was killed"});
  }
  if (r.cancelled) {
    log_.Error(who + " was cancelled; its process group was killed");
    throw StorageError::Tagged("Cancelled", path);
  }
  if (!r.exited) {
    log_.Error(who + " caught a signal and failed");
    throw StorageError::Backend("SCRIPT_FAILED",
                                {path, "signalled", SignalName(r.signal), r.out, r.out});
  }
  if (r.exit_code != 0) {
    Json report = Json::parse(r.out, nullptr, false);
    std::string code;
    std::vector<std::string> params;
    Json backtrace;
    if (report.is_discarded() || !ParseErrorReport(report, &code, &params, &backtrace)) {
      log_.Error(who + " failed and printed bad error json: " + r.out);
      log_.Error(who + " failed, stderr: " + r.err);
      throw StorageError::Backend("SCRIPT_FAILED",
                                  {path, "non-zero exit and bad json on stdout",
                                   std::to_string(r.exit_code), r.out, r.out});
    }
    if (params.size() == 2 && params[0] == "Activated_on_another_host") {
      throw StorageError::Tagged("Activated_on_another_host", params[1]);
    }
    Json payload = Json::array({backtrace.dump()});
    for (const auto& p : params) payload.push_back(p);
    throw StorageError::Tagged("Backend_error_with_backtrace", Json::array({code, payload}));
  }
  Json result = Json::parse(r.out, nullptr, false);
  if (result.is_discarded()) {
    log_.Error(who + " succeeded but printed bad json: " + r.out);
    throw StorageError::Backend("SCRIPT_FAILED", {path, "bad json on stdout", r.out});
  }
  log_.Info(who + " succeeded: " + r.out);
  if (call.patch_result) call.patch_result(result);
  if (std::string problem = CheckV3Result(call.method, result); !problem.empty()) {
    throw StorageError::Backend("SCRIPT_FAILED", {"Unexpected exception:" + problem});
  }
  return result;
}

}  // namespace storage

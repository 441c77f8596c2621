#include "storage_script/datapaths.h"

#include <algorithm>
#include <cctype>

namespace storage {

bool DatapathPlugin::HasFeature(const std::string& feature) const {
  if (!query.contains("features") || !query["features"].is_array()) return false;
  for (const auto& f : query["features"]) {
    if (!f.is_string()) continue;
    const std::string s = f.get<std::string>();
    if (s == feature || s.rfind(feature + "/", 0) == 0) return true;
  }
  return false;
}

std::string UriScheme(const std::string& uri) {
  size_t colon = uri.find(':');
  if (colon == std::string::npos || colon == 0) return "";
  if (!std::isalpha(static_cast<unsigned char>(uri[0]))) return "";
  for (size_t i = 1; i < colon; ++i) {
    char c = uri[i];
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '-' && c != '.') {
      return "";
    }
  }
  return uri.substr(0, colon);
}

bool Datapaths::Register(const std::string& name, const std::string& dir,
                         std::chrono::milliseconds timeout) {
  try {
    ScriptCall call;
    call.dir = dir;
    call.method = "Plugin.query";
    call.params = Json{{"dbg", "register"}};
    call.timeout = timeout;
    Json query = runner_.Call(call);
    std::string version = query["required_api_version"].get<std::string>();
    if (version != "3.0" && version != "5.0") {
      throw StorageError::Tagged("No_storage_plugin_for_sr",
                                 name + " requires unknown SMAPI API version " + version +
                                     ", supported: 3.0,5.0");
    }
    if (version != "5.0") {
      log_.Warning("Using deprecated SMAPIv3 API version " + version +
                   ", latest is 5.0. Update your " + name + " plugin!");
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      plugins_[name] = DatapathPlugin{name, dir, std::move(query)};
    }
    log_.Info("Registered datapath plugin " + name);
    return true;
  } catch (const StorageError& e) {
    log_.Info("Failed to register datapath plugin " + name + ": " + e.value().dump());
  }
  Unregister(name);
  return false;
}

void Datapaths::Unregister(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  plugins_.erase(name);
}

std::optional<DatapathPlugin> Datapaths::Find(const std::string& scheme) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = plugins_.find(scheme);
  if (it == plugins_.end()) return std::nullopt;
  return it->second;
}

std::vector<std::string> Datapaths::Names() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> out;
  for (const auto& [n, p] : plugins_) out.push_back(n);
  return out;
}

ChosenDatapath Datapaths::Choose(const Json& uris, bool persistent) const {
  std::vector<ChosenDatapath> usable;
  if (uris.is_array()) {
    for (const auto& u : uris) {
      if (!u.is_string()) continue;
      std::string uri = u.get<std::string>();
      std::string scheme = UriScheme(uri);
      if (scheme.empty()) continue;
      if (auto p = Find(scheme)) usable.push_back({*p, uri});
    }
  }
  if (!persistent) {
    std::stable_partition(usable.begin(), usable.end(), [](const ChosenDatapath& c) {
      return c.plugin.HasFeature("NONPERSISTENT");
    });
  }
  if (usable.empty()) {
    throw StorageError::Backend("MISSING_URI", {"Please include a URI in the device-config"});
  }
  return usable.front();
}

}  // namespace storage

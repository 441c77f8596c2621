#include "storage_script/volume_service.h"

#include <poll.h>

#include <ctime>
#include <functional>
#include <set>

namespace storage {

namespace {

const std::set<std::string>& UnimplementedSet() {
  static const std::set<std::string> kSet = {
      "get_by_name", "VDI.get_by_name", "VDI.get_url", "VDI.attach", "VDI.attach2",
      "VDI.activate", "UPDATES.get", "SR.update_snapshot_info_src",
      "SR.update_snapshot_info_dest", "TASK.stat", "TASK.cancel", "TASK.destroy", "TASK.list",
      "DP.create", "DP.destroy", "DP.diagnostics", "DP.stat_vdi", "DATA.copy",
      "DATA.MIRROR.send_start", "DATA.MIRROR.receive_start", "DATA.MIRROR.receive_start2",
      "DATA.MIRROR.receive_start3", "DATA.MIRROR.receive_finalize",
      "DATA.MIRROR.receive_finalize2", "DATA.MIRROR.receive_finalize3",
      "DATA.MIRROR.receive_cancel", "DATA.MIRROR.receive_cancel2",
      "DATA.MIRROR.pre_deactivate_hook", "DATA.MIRROR.has_mirror_failed", "DATA.MIRROR.list",
      "DATA.MIRROR.stat", "Policy.get_backend_vm"};
  return kSet;
}

// Script params: given in IDL declaration order, sent in reverse as the reference does.
Json Args(std::initializer_list<std::pair<const char*, Json>> in_order) {
  Json out = Json::object();
  std::vector<std::pair<const char*, Json>> v(in_order);
  for (auto it = v.rbegin(); it != v.rend(); ++it) out[it->first] = it->second;
  return out;
}

std::string StrOr(const Json& obj, const char* key, const std::string& fallback) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : fallback;
}

// §3.2.3: a SMAPIv3 volume as a SMAPIv2 vdi_info.
Json VdiInfoOfVolume(const Json& v) {
  const Json& keys = v["keys"];
  Json sm_config = Json::object();
  Json tags = Json::array();
  for (auto it = keys.begin(); it != keys.end(); ++it) {
    const std::string& k = it.key();
    if (k.rfind("_sm_config_", 0) == 0) sm_config[k.substr(11)] = *it;
    if (k.rfind("tags", 0) == 0) tags.push_back(k.substr(4));
  }
  Json info = Json::object();
  info["vdi"] = v["key"];
  if (v.contains("uuid") && v["uuid"].is_string()) info["uuid"] = v["uuid"];
  info["content_id"] = StrOr(keys, "content_id", "");
  info["name_label"] = v["name"];
  info["name_description"] = v["description"];
  info["ty"] = StrOr(keys, "vdi-type", "");
  info["metadata_of_pool"] = "";
  // Anything but "true" reads as false (the reference failed the call, Q11).
  info["is_a_snapshot"] = StrOr(keys, "is_a_snapshot", "false") == "true";
  info["snapshot_time"] = StrOr(keys, "snapshot_time", "19700101T00:00:00Z");
  info["snapshot_of"] = StrOr(keys, "snapshot_of", "");
  info["read_only"] = !v["read_write"].get<bool>();
  info["cbt_enabled"] = v.contains("cbt_enabled") && v["cbt_enabled"].is_boolean()
                            ? v["cbt_enabled"].get<bool>()
                            : false;
  info["virtual_size"] = v["virtual_size"];
  info["physical_utilisation"] = v["physical_utilisation"];
  info["persistent"] = true;
  info["sharable"] = v["sharable"];
  info["sm_config"] = sm_config;
  info["tags"] = tags;
  return info;
}

// SMAPIv3 health ["Healthy",""] -> SMAPIv2 "Healthy".
std::string HealthName(const Json& health) {
  if (health.is_string()) return health.get<std::string>();
  return health[0].get<std::string>();
}

Json SrInfoOfStat(const Json& s) {
  Json info = Json::object();
  if (s.contains("uuid") && s["uuid"].is_string()) info["sr_uuid"] = s["uuid"];
  info["name_label"] = s["name"];
  info["name_description"] = s["description"];
  info["total_space"] = s["total_space"];
  info["free_space"] = s["free_space"];
  info["clustered"] = s["clustered"];
  info["health"] = HealthName(s["health"]);
  return info;
}

// §3.2.4: the dom0 domain string is unique per datapath.
std::string DomainOf(const std::string& vm, const std::string& dp) {
  if (vm != "0") return vm;
  std::string d = "u0-" + dp;
  for (char& c : d) {
    if (c == '/' || c == '-') c = '_';
  }
  return d;
}

// YYYYMMDDTHH:MM:SSZ in UTC.
std::string NowUtc() {
  std::time_t t = std::time(nullptr);
  std::tm tm;
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H:%M:%SZ", &tm);
  return buf;
}

// Percent-decoding for datasource uids.
std::string PercentDecode(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

// The uid of an xeno+shm datasource URI: its path, percent-decoded, without the leading '/'.
std::string DatasourceUid(const std::string& uri) {
  std::string rest = uri.substr(uri.find(':') + 1);
  if (rest.rfind("//", 0) == 0) {
    size_t slash = rest.find('/', 2);
    rest = slash == std::string::npos ? "" : rest.substr(slash);
  }
  rest = rest.substr(0, rest.find_first_of("?#"));
  rest = PercentDecode(rest);
  if (!rest.empty() && rest[0] == '/') rest.erase(0, 1);
  return rest;
}

std::string ProbeResultText(const Json& r) { return r.dump(); }

}  // namespace

bool IsUnimplemented(const std::string& method) { return UnimplementedSet().count(method) > 0; }

std::string OrderingKey(const Json& params) {
  if (!params.is_object()) return "\n";
  std::string sr = StrOr(params, "sr", "");
  std::string vdi;
  for (const char* k : {"vdi", "vdi2", "vdi_from", "location"}) {
    if (vdi.empty()) vdi = StrOr(params, k, "");
  }
  if (vdi.empty() && params.contains("vdi_info") && params["vdi_info"].is_object()) {
    vdi = StrOr(params["vdi_info"], "vdi", "");
  }
  if (vdi.empty() && params.contains("snapshot_info") && params["snapshot_info"].is_object()) {
    vdi = StrOr(params["snapshot_info"], "snapshot_of", "");
  }
  return sr + "\n" + vdi;
}

// One SMAPIv2 call in progress: argument access with clear errors, and the translation steps.
class VolumeService::Call {
 public:
  Call(VolumeService& s, const std::string& method, const Json& params, const CallContext& ctx)
      : s_(s), method_(method), p_(params), ctx_(ctx) {
    std::lock_guard<std::mutex> lock(s_.mu_);
    pvs_ = s_.api_version_ == "3.0";
  }

  // ---- arguments ----
  const Json& Arg(const char* name) {
    auto it = p_.find(name);
    if (it == p_.end()) {
      throw StorageError::Internal(method_ + ": Expecting named argument '" + name + "'");
    }
    return *it;
  }
  [[noreturn]] void BadType(const char* name, const char* expected) {
    throw StorageError::Internal(method_ + ": argument '" + name + "' must be " + expected +
                                 ", got " + p_[name].dump());
  }
  std::string Str(const char* name) {
    const Json& v = Arg(name);
    if (!v.is_string()) BadType(name, "a string");
    return v.get<std::string>();
  }
  bool Bool(const char* name) {
    const Json& v = Arg(name);
    if (!v.is_boolean()) BadType(name, "a boolean");
    return v.get<bool>();
  }
  int64_t Int(const char* name) {
    const Json& v = Arg(name);
    if (!v.is_number_integer()) BadType(name, "an integer");
    return v.get<int64_t>();
  }
  Json StrMap(const char* name) {
    const Json& v = Arg(name);
    if (!v.is_object()) BadType(name, "an object of strings");
    for (const auto& x : v) {
      if (!x.is_string()) BadType(name, "an object of strings");
    }
    return v;
  }
  // A vdi_info argument: `vdi` and `name_label` required; other fields default when absent or
  // ill-typed (smapiv2.md §0 rule 8).
  Json VdiInfo(const char* name) {
    const Json& v = Arg(name);
    if (!v.is_object() || !v.contains("vdi") || !v["vdi"].is_string() ||
        !v.contains("name_label") || !v["name_label"].is_string()) {
      BadType(name, "a vdi_info object with string fields \"vdi\" and \"name_label\"");
    }
    Json info = v;
    auto def = [&info](const char* k, Json d, bool (Json::*ok)() const noexcept) {
      if (!info.contains(k) || !(info[k].*ok)()) info[k] = std::move(d);
    };
    def("content_id", "", &Json::is_string);
    def("name_description", "", &Json::is_string);
    def("ty", "user", &Json::is_string);
    def("snapshot_of", "", &Json::is_string);
    def("virtual_size", 0, &Json::is_number_integer);
    def("sharable", false, &Json::is_boolean);
    if (!info.contains("tags") || !info["tags"].is_array()) info["tags"] = Json::array();
    return info;
  }
  std::string Dbg() {
    // DP.diagnostics has no dbg; every translated call has one.
    return Str("dbg");
  }

  // ---- scripts ----
  Json Run(const std::string& method, Json params, const std::string& dir = "",
           std::function<void(Json&)> patch = nullptr, bool missing_is_noop = false) {
    ScriptCall c;
    c.dir = dir.empty() ? s_.dir_ : dir;
    c.method = method;
    c.params = std::move(params);
    c.timeout = s_.deps_.options->TimeoutFor(s_.name_, method);
    c.cancel = ctx_.cancel;
    c.patch_result = std::move(patch);
    c.missing_is_noop = missing_is_noop;
    return s_.deps_.runner->Call(c);
  }
  // PVS shim: "sharable": false added to volume objects (§5.2 item 3).
  std::function<void(Json&)> VolumePatch(bool list) {
    if (!pvs_) return nullptr;
    return [list](Json& r) {
      auto add = [](Json& v) {
        if (v.is_object() && !v.contains("sharable")) v["sharable"] = false;
      };
      if (list && r.is_array()) {
        for (auto& v : r) add(v);
      } else {
        add(r);
      }
    };
  }
  Json VolumeStat(const std::string& dbg, const std::string& sr, const std::string& key) {
    return Run("Volume.stat", Args({{"dbg", dbg}, {"sr", sr}, {"key", key}}), "",
               VolumePatch(false));
  }
  void VolumeSet(const std::string& dbg, const std::string& sr, const std::string& key,
                 const std::string& k, const std::string& v) {
    Run("Volume.set", Args({{"dbg", dbg}, {"sr", sr}, {"key", key}, {"k", k}, {"v", v}}), "",
        nullptr, pvs_);
  }
  void VolumeUnset(const std::string& dbg, const std::string& sr, const std::string& key,
                   const std::string& k) {
    Run("Volume.unset", Args({{"dbg", dbg}, {"sr", sr}, {"key", key}, {"k", k}}), "", nullptr,
        pvs_);
  }

  // §3.2.1: the plugin's handle for an attached SR, or Sr_not_attached before any script runs.
  std::string Handle(const std::string& sr_uuid) {
    auto sr = s_.deps_.srs->Find(sr_uuid);
    if (!sr) throw StorageError::Tagged("Sr_not_attached", sr_uuid);
    return sr->handle;
  }

  // §3.2.5: stat the volume, following clone-on-boot to the transient's URIs.
  Json StatForDatapath(const std::string& dbg, const std::string& h, const std::string& vdi) {
    Json v = VolumeStat(dbg, h, vdi);
    if (v["keys"].contains("clone-on-boot") && v["keys"]["clone-on-boot"].is_string()) {
      v = VolumeStat(dbg, h, v["keys"]["clone-on-boot"].get<std::string>());
    }
    return v;
  }

  // attach3 / activate3 / ... : stat, redirect, choose, then one Datapath call.
  Json DatapathCall(const std::string& script, const std::string& domain) {
    std::string dbg = Dbg(), sr = Str("sr"), vdi = Str("vdi");
    std::string h = Handle(sr);
    Json v = StatForDatapath(dbg, h, vdi);
    ChosenDatapath dp = s_.deps_.datapaths->Choose(v["uri"]);
    return Run(script, Args({{"dbg", dbg}, {"uri", dp.uri}, {"domain", domain}}), dp.plugin.dir);
  }
  std::string Dom0Domain() { return DomainOf(Str("vm"), Str("dp")); }

  Json Dispatch();

 private:
  VolumeService& s_;
  const std::string& method_;
  const Json& p_;
  const CallContext& ctx_;
  bool pvs_ = false;

  Json QueryQuery();
  Json SrAttach();
  Json SrDetach();
  Json SrProbe();
  Json SrScan(bool with_stat);
  Json VdiCreate();
  Json VdiDestroy();
  Json VdiSnapshot();
  Json EpochBegin();
  Json EpochEnd();
  Json GetNbdServer();
};

Json VolumeService::Call::QueryQuery() {
  std::string dbg = Dbg();
  Json q = Run("Plugin.query", Args({{"dbg", dbg}}));
  std::string version = q["required_api_version"].get<std::string>();
  {
    std::lock_guard<std::mutex> lock(s_.mu_);
    s_.api_version_ = version;
  }
  // §5.3: the plugin's features (VDI_DESTROY renamed), one per script found (appended in
  // reverse probe order), the always-present ones, and VDI_RESET_ON_BOOT/2 when cloning works.
  Json features = Json::array();
  for (const auto& f : q["features"]) {
    features.push_back(f == "VDI_DESTROY" ? Json("VDI_DELETE") : f);
  }
  static const std::pair<const char*, const char*> kProbes[] = {
      {"SR.attach", "SR_ATTACH"},        {"SR.create", "SR_CREATE"},
      {"SR.destroy", "SR_DELETE"},       {"SR.detach", "SR_DETACH"},
      {"SR.ls", "SR_SCAN"},              {"SR.stat", "SR_UPDATE"},
      {"SR.probe", "SR_PROBE"},          {"Volume.create", "VDI_CREATE"},
      {"Volume.clone", "VDI_CLONE"},     {"Volume.snapshot", "VDI_SNAPSHOT"},
      {"Volume.resize", "VDI_RESIZE"},   {"Volume.destroy", "VDI_DELETE"},
      {"Volume.stat", "VDI_UPDATE"}};
  for (auto it = std::rbegin(kProbes); it != std::rend(kProbes); ++it) {
    if (s_.deps_.runner->Exists(s_.dir_, it->first)) features.push_back(it->second);
  }
  for (const char* f : {"VDI_ATTACH", "VDI_DETACH", "VDI_ACTIVATE", "VDI_DEACTIVATE",
                        "VDI_INTRODUCE"}) {
    features.push_back(f);
  }
  bool clone = false;
  for (const auto& f : features) clone |= f == "VDI_CLONE";
  if (clone) features.insert(features.begin(), "VDI_RESET_ON_BOOT/2");

  Json r = Json::object();
  r["driver"] = q["plugin"];
  for (const char* k : {"name", "description", "vendor", "copyright", "version",
                        "required_api_version"}) {
    r[k] = q[k];
  }
  r["features"] = features;
  r["configuration"] = q["configuration"];
  r["required_cluster_stack"] = q["required_cluster_stack"];
  r["supported_image_formats"] = Json::array();
  r["smapi_version"] = "SMAPIv3";
  return r;
}

Json VolumeService::Call::SrAttach() {
  std::string dbg = Dbg(), sr = Str("sr");
  Json config = StrMap("device_config");
  Json params = Args({{"dbg", dbg}, {"configuration", config}});
  if (pvs_) {
    if (!config.contains("uri")) {
      throw StorageError::Backend("MISSING_URI", {"Please include a URI in the device-config"});
    }
    Json with_uri = Json{{"uri", config["uri"]}};
    with_uri.update(params);
    params = with_uri;
  }
  std::string h = Run("SR.attach", params).get<std::string>();
  Json stat = Run("SR.stat", Args({{"dbg", dbg}, {"sr", h}}));
  AttachedSr entry{h, {}};
  for (const auto& ds : stat["datasources"]) {
    std::string uri = ds.get<std::string>();
    // TODO(feature): register xeno+shm datasources with xcp-rrdd; their uids are remembered so
    // a later SR.detach can deregister them.
    if (UriScheme(uri) == "xeno+shm") entry.uids.push_back(DatasourceUid(uri));
  }
  s_.deps_.srs->Put(sr, std::move(entry));
  return nullptr;
}

Json VolumeService::Call::SrDetach() {
  std::string dbg = Dbg(), sr = Str("sr");
  auto entry = s_.deps_.srs->Find(sr);
  if (!entry) return nullptr;  // idempotent: no script for an SR that is not attached
  Run("SR.detach", Args({{"dbg", dbg}, {"sr", entry->handle}}));
  s_.deps_.srs->Remove(sr);
  return nullptr;
}

Json VolumeService::Call::SrProbe() {
  std::string dbg = Dbg();
  Str("queue");
  Json config = StrMap("device_config");
  StrMap("sm_config");
  Json results = Run("SR.probe", Args({{"dbg", dbg}, {"configuration", config}}));
  std::vector<std::string> errors;
  Json out = Json::array();
  for (const auto& r : results) {
    bool has_uuid = r["configuration"].contains("sr_uuid");
    bool complete = r["complete"].get<bool>();
    bool has_sr = r.contains("sr") && !r["sr"].is_null();
    Json probe = Json::object();
    probe["configuration"] = r["configuration"];
    probe["complete"] = complete;
    if (!complete && has_uuid) {
      errors.push_back("A configuration with a uuid cannot be incomplete: " + ProbeResultText(r));
      continue;
    }
    if (has_sr && !has_uuid) {
      errors.push_back("A configuration is not attachable without a uuid: " +
                       ProbeResultText(r));
      continue;
    }
    if (has_sr) probe["sr"] = SrInfoOfStat(r["sr"]);
    probe["extra_info"] = r["extra_info"];
    out.push_back(probe);
  }
  if (errors.size() == 1) throw StorageError::Backend("SCRIPT_FAILED", {"SR.probe", errors[0]});
  if (!errors.empty()) {
    std::string combined = "(";
    for (size_t i = 0; i < errors.size(); ++i) {
      if (i) combined.append(" ");
      combined.append(Json(errors[i]).dump());
    }
    combined.append(")");
    throw StorageError::Backend("SCRIPT_FAILED", {"SR.probe", combined});
  }
  return Json::array({"Probe", out});
}

Json VolumeService::Call::SrScan(bool with_stat) {
  std::string dbg = Dbg(), sr = Str("sr");
  std::string h = Handle(sr);
  Json info;
  if (with_stat) {
    // §3.4.2: Unreachable is retried up to 3 times, 1 s apart; other unhealthy states fail now.
    for (int attempt = 0;; ++attempt) {
      Json stat = Run("SR.stat", Args({{"dbg", dbg}, {"sr", h}}));
      std::string health = HealthName(stat["health"]);
      if (health == "Healthy") {
        info = SrInfoOfStat(stat);
        break;
      }
      if (health != "Unreachable" || attempt == 3) {
        throw StorageError::Tagged("Sr_unhealthy", Json::array({sr, health}));
      }
      if (ctx_.cancel) {
        pollfd pfd{ctx_.cancel->fd(), POLLIN, 0};
        if (poll(&pfd, 1, 1000) > 0 || ctx_.cancel->cancelled()) {
          throw StorageError::Tagged("Cancelled", method_);
        }
      } else {
        poll(nullptr, 0, 1000);
      }
    }
  }
  Json volumes = Run("SR.ls", Args({{"dbg", dbg}, {"sr", h}}), "", VolumePatch(true));
  std::set<std::string> transients;
  for (const auto& v : volumes) {
    if (v["keys"].contains("clone-on-boot") && v["keys"]["clone-on-boot"].is_string()) {
      transients.insert(v["keys"]["clone-on-boot"].get<std::string>());
    }
  }
  Json vdis = Json::array();
  for (const auto& v : volumes) {
    if (!transients.count(v["key"].get<std::string>())) vdis.push_back(VdiInfoOfVolume(v));
  }
  if (!with_stat) return vdis;
  return Json::array({vdis, info});
}

Json VolumeService::Call::VdiCreate() {
  std::string dbg = Dbg(), sr = Str("sr");
  Json info = VdiInfo("vdi_info");
  std::string h = Handle(sr);
  Json v = Run("Volume.create",
               Args({{"dbg", dbg}, {"sr", h}, {"name", info["name_label"]},
                     {"description", info["name_description"]},
                     {"size", info["virtual_size"]}, {"sharable", info["sharable"]}}),
               "", VolumePatch(false));
  std::string ty = info["ty"].get<std::string>();
  if (!ty.empty()) {
    VolumeSet(dbg, h, v["key"].get<std::string>(), "vdi-type", ty);
    v["keys"]["vdi-type"] = ty;
  }
  return VdiInfoOfVolume(v);
}

Json VolumeService::Call::VdiDestroy() {
  std::string dbg = Dbg(), sr = Str("sr"), vdi = Str("vdi");
  std::string h = Handle(sr);
  Json v = VolumeStat(dbg, h, vdi);
  // The transient clone goes first, then the volume itself (the reference destroyed the
  // original twice and leaked the transient, Q4).
  if (v["keys"].contains("clone-on-boot") && v["keys"]["clone-on-boot"].is_string()) {
    Run("Volume.destroy", Args({{"dbg", dbg}, {"sr", h},
                                {"key", v["keys"]["clone-on-boot"].get<std::string>()}}));
  }
  Run("Volume.destroy", Args({{"dbg", dbg}, {"sr", h}, {"key", vdi}}));
  return nullptr;
}

Json VolumeService::Call::VdiSnapshot() {
  std::string dbg = Dbg(), sr = Str("sr");
  Json info = VdiInfo("vdi_info");
  std::string h = Handle(sr);
  std::string parent = info["vdi"].get<std::string>();
  Json snap = Run("Volume.snapshot", Args({{"dbg", dbg}, {"sr", h}, {"key", parent}}));
  std::string key = snap["key"].get<std::string>();
  std::string now = NowUtc();
  std::string content_id = info["content_id"].get<std::string>();
  std::string ty = info["ty"].get<std::string>();
  VolumeSet(dbg, h, key, "snapshot_time", now);
  VolumeSet(dbg, h, key, "is_a_snapshot", "true");
  VolumeSet(dbg, h, key, "snapshot_of", parent);
  VolumeSet(dbg, h, key, "content_id", content_id);
  VolumeSet(dbg, h, key, "vdi-type", ty);
  // As the reference: tag keys are written on the parent (Q5, kept for xapi's expectations).
  for (const auto& t : info["tags"]) {
    if (t.is_string()) VolumeSet(dbg, h, parent, "tags" + t.get<std::string>(), t);
  }
  Json out = VdiInfoOfVolume(snap);
  out["snapshot_time"] = now;
  out["is_a_snapshot"] = true;
  out["snapshot_of"] = parent;
  // The values just stored, not the stale ones of the snapshot result (Q5 second half).
  out["content_id"] = content_id;
  out["ty"] = ty;
  return out;
}

Json VolumeService::Call::EpochBegin() {
  std::string dbg = Dbg(), sr = Str("sr"), vdi = Str("vdi");
  Str("vm");
  bool persistent = Bool("persistent");
  std::string h = Handle(sr);
  Json v = VolumeStat(dbg, h, vdi);
  ChosenDatapath dp = s_.deps_.datapaths->Choose(v["uri"], persistent);
  {
    std::lock_guard<std::mutex> lock(s_.mu_);
    s_.epoch_scheme_[sr + "/" + vdi] = dp.plugin.name;
  }
  if (dp.plugin.HasFeature("NONPERSISTENT")) {
    Run("Datapath.open", Args({{"dbg", dbg}, {"uri", dp.uri}, {"persistent", persistent}}),
        dp.plugin.dir);
  } else if (!persistent) {
    if (v["keys"].contains("clone-on-boot")) {
      Run("Volume.destroy", Args({{"dbg", dbg}, {"sr", h}, {"key", v["keys"]["clone-on-boot"]}}));
    }
    Json clone = Run("Volume.clone", Args({{"dbg", dbg}, {"sr", h}, {"key", vdi}}));
    VolumeSet(dbg, h, vdi, "clone-on-boot", clone["key"].get<std::string>());
  }
  return nullptr;
}

Json VolumeService::Call::EpochEnd() {
  std::string dbg = Dbg(), sr = Str("sr"), vdi = Str("vdi");
  Str("vm");
  std::string h = Handle(sr);
  Json v = VolumeStat(dbg, h, vdi);
  // The datapath epoch_begin chose, when known (the reference re-chose with another order, Q9).
  std::string remembered;
  {
    std::lock_guard<std::mutex> lock(s_.mu_);
    auto it = s_.epoch_scheme_.find(sr + "/" + vdi);
    if (it != s_.epoch_scheme_.end()) {
      remembered = it->second;
      s_.epoch_scheme_.erase(it);
    }
  }
  ChosenDatapath dp;
  bool chosen = false;
  if (!remembered.empty()) {
    for (const auto& u : v["uri"]) {
      if (u.is_string() && UriScheme(u.get<std::string>()) == remembered) {
        if (auto p = s_.deps_.datapaths->Find(remembered)) {
          dp = ChosenDatapath{*p, u.get<std::string>()};
          chosen = true;
          break;
        }
      }
    }
  }
  if (!chosen) dp = s_.deps_.datapaths->Choose(v["uri"]);
  if (dp.plugin.HasFeature("NONPERSISTENT")) {
    Run("Datapath.close", Args({{"dbg", dbg}, {"uri", dp.uri}}), dp.plugin.dir);
  } else if (v["keys"].contains("clone-on-boot")) {
    Run("Volume.destroy", Args({{"dbg", dbg}, {"sr", h}, {"key", v["keys"]["clone-on-boot"]}}));
    VolumeUnset(dbg, h, vdi, "clone-on-boot");
  }
  return nullptr;
}

Json VolumeService::Call::GetNbdServer() {
  Str("dp");
  Json backend = DatapathCall("Datapath.attach", Str("vm"));
  for (const auto& impl : backend["implementations"]) {
    if (!impl.is_array() || impl[0] != "Nbd") continue;
    // nbd:unix:<socket>:exportname=<name>
    std::string uri = impl[1]["uri"].get<std::string>();
    std::vector<std::string> parts;
    size_t start = 0;
    for (size_t colon; (colon = uri.find(':', start)) != std::string::npos; start = colon + 1) {
      parts.push_back(uri.substr(start, colon - start));
    }
    parts.push_back(uri.substr(start));
    if (parts.size() != 4 || parts[0] != "nbd" || parts[1] != "unix" ||
        parts[3].rfind("exportname=", 0) != 0) {
      throw StorageError::Backend("SCRIPT_FAILED",
                                  {"Unexpected exception:cannot parse the NBD URI '" + uri +
                                   "': expected nbd:unix:<socket>:exportname=<name>"});
    }
    return parts[2];
  }
  throw StorageError::Backend("No nbd server found", {});
}

Json VolumeService::Call::Dispatch() {
  const std::string& m = method_;
  auto unit = [](auto&&) -> Json { return nullptr; };
  // Queries.
  if (m == "Query.query") return QueryQuery();
  if (m == "Query.diagnostics") return Run("Plugin.diagnostics", Args({{"dbg", Dbg()}}));
  // SRs.
  if (m == "SR.create") {
    std::string dbg = Dbg(), sr = Str("sr"), label = Str("name_label"),
                descr = Str("name_description");
    Json config = StrMap("device_config");
    Int("physical_size");
    Json params = Args({{"dbg", dbg}, {"uuid", sr}, {"configuration", config}, {"name", label},
                        {"description", descr}});
    std::function<void(Json&)> patch;
    if (pvs_) {
      if (!config.contains("uri")) {
        throw StorageError::Backend("MISSING_URI", {"Please include a URI in the device-config"});
      }
      Json with_uri = Json{{"uri", config["uri"]}};
      with_uri.update(params);
      params = with_uri;
      patch = [config](Json& r) {
        if (r.is_null()) r = config;
      };
    }
    return Run("SR.create", params, "", patch);
  }
  if (m == "SR.attach") return SrAttach();
  if (m == "SR.detach") return SrDetach();
  if (m == "SR.probe") return SrProbe();
  if (m == "SR.reset") {
    Dbg();
    Str("sr");
    return nullptr;
  }
  if (m == "SR.list") {
    Dbg();
    return s_.deps_.srs->List();
  }
  if (m == "SR.set_name_label" || m == "SR.set_name_description" || m == "SR.destroy" ||
      m == "SR.stat") {
    std::string dbg = Dbg(), sr = Str("sr");
    if (m == "SR.set_name_label") {
      std::string v = Str("new_name_label");
      return unit(Run("SR.set_name", Args({{"dbg", dbg}, {"sr", Handle(sr)}, {"new_name", v}})));
    }
    if (m == "SR.set_name_description") {
      std::string v = Str("new_name_description");
      return unit(Run("SR.set_description",
                      Args({{"dbg", dbg}, {"sr", Handle(sr)}, {"new_description", v}})));
    }
    if (m == "SR.destroy") {
      Run("SR.destroy", Args({{"dbg", dbg}, {"sr", Handle(sr)}}));
      s_.deps_.srs->Remove(sr);  // the reference kept destroyed SRs attached (Q8)
      return nullptr;
    }
    return SrInfoOfStat(Run("SR.stat", Args({{"dbg", dbg}, {"sr", Handle(sr)}})));
  }
  if (m == "SR.scan") return SrScan(false);
  if (m == "SR.scan2") return SrScan(true);
  // VDIs answered locally.
  if (m == "VDI.set_persistent") {
    Dbg(), Str("sr"), Str("vdi"), Bool("persistent");
    return nullptr;
  }
  if (m == "VDI.similar_content") {
    Dbg(), Str("sr"), Str("vdi");
    return Json::array();
  }
  if (m == "VDI.create") return VdiCreate();
  if (m == "VDI.destroy") return VdiDestroy();
  if (m == "VDI.snapshot") return VdiSnapshot();
  if (m == "VDI.clone") {
    std::string dbg = Dbg(), sr = Str("sr");
    Json info = VdiInfo("vdi_info");
    return VdiInfoOfVolume(
        Run("Volume.clone", Args({{"dbg", dbg}, {"sr", Handle(sr)}, {"key", info["vdi"]}})));
  }
  if (m == "VDI.revert") {
    std::string dbg = Dbg(), sr = Str("sr");
    Json info = VdiInfo("snapshot_info");
    return unit(Run("Volume.revert", Args({{"dbg", dbg}, {"sr", Handle(sr)},
                                           {"snapshot", info["vdi"]},
                                           {"key", info["snapshot_of"]}})));
  }
  if (m == "VDI.introduce") {
    std::string dbg = Dbg(), sr = Str("sr");
    Str("uuid");
    StrMap("sm_config");
    std::string location = Str("location");
    return VdiInfoOfVolume(VolumeStat(dbg, Handle(sr), location));
  }
  if (m == "VDI.epoch_begin") return EpochBegin();
  if (m == "VDI.epoch_end") return EpochEnd();
  if (m == "VDI.attach3" || m == "DP.attach_info") {
    if (m == "VDI.attach3") Bool("read_write");  // checked, then ignored as the reference does
    return DatapathCall("Datapath.attach", Dom0Domain());
  }
  if (m == "VDI.activate3") return unit(DatapathCall("Datapath.activate", Dom0Domain()));
  if (m == "VDI.activate_readonly") {
    return unit(DatapathCall("Datapath.activate_readonly", Dom0Domain()));
  }
  if (m == "VDI.deactivate") return unit(DatapathCall("Datapath.deactivate", Dom0Domain()));
  if (m == "VDI.detach") return unit(DatapathCall("Datapath.detach", Dom0Domain()));
  if (m == "DP.destroy2") {
    Bool("allow_leak");
    std::string domain = Dom0Domain();
    DatapathCall("Datapath.deactivate", domain);
    DatapathCall("Datapath.detach", domain);
    return nullptr;
  }
  if (m == "DATA.mirror") {
    std::string dbg = Dbg(), sr = Str("sr"), vdi = Str("vdi"), vm = Str("vm"), url = Str("url");
    s_.deps_.log->Info("image_format (" + Str("image_format") + ") is not currently used");
    std::string h = Handle(sr);
    Json v = StatForDatapath(dbg, h, vdi);
    ChosenDatapath dp = s_.deps_.datapaths->Choose(v["uri"]);
    return Run("Data.mirror",
               Args({{"dbg", dbg}, {"uri", dp.uri}, {"domain", vm}, {"remote", url}}),
               dp.plugin.dir);
  }
  if (m == "DATA.stat") {
    std::string dbg = Dbg(), sr = Str("sr"), vdi = Str("vdi");
    Str("vm");
    Json op = Arg("operation");
    std::string h = Handle(sr);
    Json v = StatForDatapath(dbg, h, vdi);
    ChosenDatapath dp = s_.deps_.datapaths->Choose(v["uri"]);
    return Run("Data.stat", Args({{"dbg", dbg}, {"operation", op}}), dp.plugin.dir);
  }
  if (m == "DATA.import_activate") {
    std::string dbg = Dbg(), sr = Str("sr"), vdi = Str("vdi"), vm = Str("vm");
    Str("dp");
    std::string h = Handle(sr);
    Json v = StatForDatapath(dbg, h, vdi);
    ChosenDatapath dp = s_.deps_.datapaths->Choose(v["uri"]);
    if (!dp.plugin.HasFeature("VDI_MIRROR_IN")) {
      throw StorageError::Unimplemented("VDI_MIRROR_IN");
    }
    return Run("Datapath.import_activate",
               Args({{"dbg", dbg}, {"uri", dp.uri}, {"domain", vm}}), dp.plugin.dir);
  }
  if (m == "DATA.get_nbd_server") return GetNbdServer();
  // VDI calls that are one Volume call on (sr handle, vdi).
  struct Simple {
    const char* v2;
    const char* v3;
    const char* arg;    // extra SMAPIv2 argument, or nullptr
    const char* v3arg;  // its SMAPIv3 name
  };
  static const Simple kSimple[] = {
      {"VDI.set_name_label", "Volume.set_name", "new_name_label", "new_name"},
      {"VDI.set_name_description", "Volume.set_description", "new_name_description",
       "new_description"},
      {"VDI.enable_cbt", "Volume.enable_cbt", nullptr, nullptr},
      {"VDI.disable_cbt", "Volume.disable_cbt", nullptr, nullptr},
  };
  for (const auto& s : kSimple) {
    if (m != s.v2) continue;
    std::string dbg = Dbg(), sr = Str("sr"), vdi = Str("vdi");
    if (s.arg) {
      std::string extra = Str(s.arg);
      return unit(Run(s.v3, Args({{"dbg", dbg}, {"sr", Handle(sr)}, {"key", vdi},
                                  {s.v3arg, extra}})));
    }
    return unit(Run(s.v3, Args({{"dbg", dbg}, {"sr", Handle(sr)}, {"key", vdi}})));
  }
  if (m == "VDI.resize") {
    std::string dbg = Dbg(), sr = Str("sr"), vdi = Str("vdi");
    int64_t size = Int("new_size");
    std::string h = Handle(sr);
    Run("Volume.resize", Args({{"dbg", dbg}, {"sr", h}, {"key", vdi}, {"new_size", size}}));
    return VolumeStat(dbg, h, vdi)["virtual_size"];
  }
  if (m == "VDI.stat") {
    std::string dbg = Dbg(), sr = Str("sr"), vdi = Str("vdi");
    return VdiInfoOfVolume(VolumeStat(dbg, Handle(sr), vdi));
  }
  if (m == "VDI.set_content_id") {
    std::string dbg = Dbg(), sr = Str("sr"), vdi = Str("vdi"), cid = Str("content_id");
    VolumeSet(dbg, Handle(sr), vdi, "content_id", cid);
    return nullptr;
  }
  if (m == "VDI.compose") {
    std::string dbg = Dbg(), sr = Str("sr"), parent = Str("vdi1"), child = Str("vdi2");
    return unit(Run("Volume.compose", Args({{"dbg", dbg}, {"sr", Handle(sr)}, {"key", child},
                                            {"key2", parent}})));
  }
  if (m == "VDI.add_to_sm_config") {
    std::string dbg = Dbg(), sr = Str("sr"), vdi = Str("vdi"), k = Str("key"), v = Str("value");
    VolumeSet(dbg, Handle(sr), vdi, "_sm_config_" + k, v);
    return nullptr;
  }
  if (m == "VDI.remove_from_sm_config") {
    std::string dbg = Dbg(), sr = Str("sr"), vdi = Str("vdi"), k = Str("key");
    VolumeUnset(dbg, Handle(sr), vdi, "_sm_config_" + k);
    return nullptr;
  }
  if (m == "VDI.add_tags") {
    std::string dbg = Dbg(), sr = Str("sr"), vdi = Str("vdi"), k = Str("key");
    VolumeSet(dbg, Handle(sr), vdi, "tags" + k, k);
    return nullptr;
  }
  if (m == "VDI.remove_tags") {
    std::string dbg = Dbg(), sr = Str("sr"), vdi = Str("vdi"), k = Str("key");
    VolumeUnset(dbg, Handle(sr), vdi, "tags" + k);
    return nullptr;
  }
  if (m == "VDI.data_destroy") {
    std::string dbg = Dbg(), sr = Str("sr"), vdi = Str("vdi");
    std::string h = Handle(sr);
    Run("Volume.data_destroy", Args({{"dbg", dbg}, {"sr", h}, {"key", vdi}}));
    VolumeSet(dbg, h, vdi, "vdi-type", "cbt_metadata");
    return nullptr;
  }
  if (m == "VDI.list_changed_blocks") {
    std::string dbg = Dbg(), sr = Str("sr"), from = Str("vdi_from"), to = Str("vdi_tp");
    Json r = Run("Volume.list_changed_blocks",
                 Args({{"dbg", dbg}, {"sr", Handle(sr)}, {"key", from}, {"key2", to},
                       {"offset", 0}, {"length", -1}}));
    return r["bitmap"];
  }
  if (IsUnimplemented(m)) throw StorageError::Unimplemented(m);
  throw StorageError::Internal("Unknown method '" + m + "'");
}

VolumeService::VolumeService(std::string name, std::string dir, ServiceDeps deps)
    : name_(std::move(name)), dir_(std::move(dir)), deps_(deps) {}

Json VolumeService::Handle(const std::string& method, const Json& params,
                           const CallContext& ctx) {
  if (IsUnimplemented(method)) throw StorageError::Unimplemented(method);
  if (!params.is_object()) {
    throw StorageError::Internal(method +
                                 ": All the call parameters should be named and should be in a "
                                 "RPC Dict");
  }
  Call call(*this, method, params, ctx);
  try {
    return call.Dispatch();
  } catch (const StorageError&) {
    throw;
  } catch (const std::exception& e) {
    // A script result of the checked shape should never get here; report rather than crash.
    throw StorageError::Backend("SCRIPT_FAILED", {std::string("Unexpected exception:") + e.what()});
  }
}

std::string VolumeService::HandleRequest(const std::string& body, const CallContext& ctx) {
  Json id = 0;
  Json response = Json::object();
  try {
    Json request = Json::parse(body, nullptr, false);
    if (request.is_discarded()) {
      throw StorageError::Internal("the request is not valid JSON");
    }
    if (!request.is_object()) throw StorageError::Internal("the request is not a JSON object");
    if (request.contains("id")) id = request["id"];
    if (!request.contains("method") || !request["method"].is_string()) {
      throw StorageError::Internal("the request has no string \"method\"");
    }
    std::string method = request["method"].get<std::string>();
    if (!request.contains("params") || !request["params"].is_array() ||
        request["params"].size() != 1 || !request["params"][0].is_object()) {
      if (IsUnimplemented(method)) throw StorageError::Unimplemented(method);
      throw StorageError::Internal(method +
                                   ": \"params\" must be an array holding one object of named "
                                   "arguments");
    }
    response["result"] = Handle(method, request["params"][0], ctx);
    response["error"] = nullptr;
  } catch (const StorageError& e) {
    response["result"] = nullptr;
    response["error"] = e.value();
  } catch (const std::exception& e) {
    response["result"] = nullptr;
    response["error"] = Json::array({"Internal_error", e.what()});
  }
  response["id"] = id;
  return response.dump();
}

}  // namespace storage

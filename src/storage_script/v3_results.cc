#include "storage_script/v3_results.h"

#include <functional>
#include <map>

namespace storage {

namespace {

// Each checker throws std::string describing the problem, with a path prefix.
using Check = std::function<void(const Json&, const std::string&)>;

std::string TypeName(const Json& v) {
  if (v.is_null()) return "null";
  if (v.is_boolean()) return "a boolean";
  if (v.is_number_integer()) return "an integer";
  if (v.is_number()) return "a number";
  if (v.is_string()) return "a string";
  if (v.is_array()) return "an array";
  return "an object";
}

[[noreturn]] void Fail(const std::string& where, const std::string& expected, const Json& v) {
  throw where + ": expected " + expected + ", got " + TypeName(v);
}

void String(const Json& v, const std::string& w) { if (!v.is_string()) Fail(w, "a string", v); }
void Bool(const Json& v, const std::string& w) { if (!v.is_boolean()) Fail(w, "a boolean", v); }
void Int(const Json& v, const std::string& w) {
  if (!v.is_number_integer()) Fail(w, "an integer", v);
}
void Float(const Json& v, const std::string& w) { if (!v.is_number()) Fail(w, "a number", v); }
void Any(const Json&, const std::string&) {}

Check ListOf(Check item) {
  return [item](const Json& v, const std::string& w) {
    if (!v.is_array()) Fail(w, "an array", v);
    for (size_t i = 0; i < v.size(); ++i) item(v[i], w + "[" + std::to_string(i) + "]");
  };
}

void StringMap(const Json& v, const std::string& w) {
  if (!v.is_object()) Fail(w, "an object of strings", v);
  for (const auto& [k, x] : v.items()) String(x, w + "." + k);
}

struct Field {
  const char* name;
  Check check;
  bool optional = false;
};

Check Record(std::vector<Field> fields) {
  return [fields](const Json& v, const std::string& w) {
    if (!v.is_object()) Fail(w, "an object", v);
    for (const auto& f : fields) {
      auto it = v.find(f.name);
      if (it == v.end() || (f.optional && it->is_null())) {
        if (f.optional) continue;
        throw w + ": field \"" + f.name + "\" is missing";
      }
      f.check(*it, w + ": field \"" + f.name + "\"");
    }
  };
}

// A variant: ["Ctor", payload] or a bare "Ctor" for constructors without payload.
Check Variant(std::map<std::string, Check> ctors) {
  return [ctors](const Json& v, const std::string& w) {
    std::string tag;
    const Json* payload = nullptr;
    if (v.is_string()) {
      tag = v.get<std::string>();
    } else if (v.is_array() && v.size() == 2 && v[0].is_string()) {
      tag = v[0].get<std::string>();
      payload = &v[1];
    } else {
      Fail(w, "a variant [\"Name\", payload]", v);
    }
    auto it = ctors.find(tag);
    if (it == ctors.end()) throw w + ": unknown constructor '" + tag + "'";
    if (it->second && !payload) throw w + ": constructor '" + tag + "' needs a payload";
    if (it->second) it->second(*payload, w + "." + tag);
  };
}

const Check kHealth = Variant({{"Healthy", String}, {"Recovering", String},
                               {"Unreachable", String}, {"Unavailable", String}});
const Check kSrStat = Record({{"sr", String},
                              {"name", String},
                              {"uuid", String, true},
                              {"description", String},
                              {"free_space", Int},
                              {"total_space", Int},
                              {"datasources", ListOf(String)},
                              {"clustered", Bool},
                              {"health", kHealth}});
const Check kVolume = Record({{"key", String},
                              {"uuid", String, true},
                              {"name", String},
                              {"description", String},
                              {"read_write", Bool},
                              {"sharable", Bool},
                              {"virtual_size", Int},
                              {"physical_utilisation", Int},
                              {"uri", ListOf(String)},
                              {"keys", StringMap},
                              {"volume_type", Any, true},
                              {"cbt_enabled", Any, true}});
const Check kQuery = Record({{"plugin", String},
                             {"name", String},
                             {"description", String},
                             {"vendor", String},
                             {"copyright", String},
                             {"version", String},
                             {"required_api_version", String},
                             {"features", ListOf(String)},
                             {"configuration", StringMap},
                             {"required_cluster_stack", ListOf(String)}});
const Check kProbe = Record({{"configuration", StringMap},
                             {"complete", Bool},
                             {"sr", kSrStat, true},
                             {"extra_info", StringMap}});
const Check kImplementation = Variant(
    {{"XenDisk", Record({{"params", String}, {"extra", StringMap}, {"backend_type", String}})},
     {"BlockDevice", Record({{"path", String}})},
     {"File", Record({{"path", String}})},
     {"Nbd", Record({{"uri", String}})}});
const Check kBackend = Record({{"implementations", ListOf(kImplementation)}});
const Check kOperation = Variant({{"CopyV1", String}, {"MirrorV1", String}});
const Check kStatus = Record({{"failed", Bool}, {"complete", Bool}, {"progress", Float, true}});
const Check kChangedBlocks = Record({{"granularity", Int}, {"bitmap", String}});

const std::map<std::string, Check>& Table() {
  static const std::map<std::string, Check> table = {
      {"Plugin.query", kQuery},
      {"Plugin.ls", ListOf(String)},
      {"Plugin.diagnostics", String},
      {"SR.probe", ListOf(kProbe)},
      {"SR.create", StringMap},
      {"SR.attach", String},
      {"SR.stat", kSrStat},
      {"SR.ls", ListOf(kVolume)},
      {"Volume.create", kVolume},
      {"Volume.snapshot", kVolume},
      {"Volume.clone", kVolume},
      {"Volume.stat", kVolume},
      {"Volume.list_changed_blocks", kChangedBlocks},
      {"Datapath.attach", kBackend},
      {"Datapath.import_activate", String},
      {"Data.mirror", kOperation},
      {"Data.stat", kStatus},
  };
  return table;
}

}  // namespace

std::string CheckV3Result(const std::string& method, const Json& value) {
  auto it = Table().find(method);
  if (it == Table().end()) return "";  // unit results and unknown methods
  try {
    it->second(value, method + " result");
  } catch (const std::string& problem) {
    return problem;
  }
  return "";
}

}  // namespace storage

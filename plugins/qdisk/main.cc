// qdisk-datapath: the qdisk datapath plugin, one executable for every method.
//
// xapi-storage-script runs `<plugin dir>/<Interface>.<method> --json` with the call's params
// object on stdin; each of those files is a symlink to this program, which dispatches on the
// basename of argv[0]. Success: the result as one JSON value on stdout, exit 0. Failure: the
// report {code, params, backtrace} on stdout, exit 1 (spec idl.md §4.3, §4.4).
//
// Also: `qdisk-datapath <Interface>.<method>` (the method as first argument, for use by hand)
// and `qdisk-datapath --import-relay <listen socket> <nbd socket>` (the relay behind
// Datapath.import_activate, started by the plugin itself).
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <functional>
#include <iostream>
#include <iterator>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "datapath.h"
#include "volume_state.h"

namespace {

using nlohmann::json;

constexpr const char* kUsage = R"(usage: qdisk-datapath [--json]            (run as <Interface>.<method>)
       qdisk-datapath <Interface>.<method> [--json]
       qdisk-datapath --import-relay <listen socket> <nbd socket>
       qdisk-datapath --help

The qdisk SMAPIv3 datapath plugin: serves qdisk://<sr path>/<key> volumes through
qemu-storage-daemon as NBD exports on Unix sockets. Reads the call's parameters as one JSON
object on stdin; prints the result as JSON on stdout (exit 0) or a failure report (exit 1).

Methods: Plugin.query Plugin.ls Plugin.diagnostics
         Datapath.open Datapath.attach Datapath.activate Datapath.activate_readonly
         Datapath.import_activate Datapath.deactivate Datapath.detach Datapath.close
         Data.copy Data.mirror Data.stat Data.cancel Data.destroy Data.ls

Environment:
  QDISK_RUN_DIR        runtime state root (default /run/qdisk)
  QDISK_QSD            qemu-storage-daemon binary (default qemu-storage-daemon in PATH)
  QDISK_QEMU_IMG       qemu-img binary (default qemu-img in PATH)
)";

// A failure whose report params are given verbatim.
struct ArgumentError : qdisk::Error {
  explicit ArgumentError(const std::string& what) : qdisk::Error("UnmarshalException", what) {}
};

std::string Str(const json& p, const char* name) {
  if (!p.contains(name)) throw ArgumentError(std::string("argument missing: ") + name);
  if (!p[name].is_string()) {
    throw ArgumentError(std::string("argument ") + name + " must be a string, got " +
                        p[name].dump());
  }
  return p[name].get<std::string>();
}

bool Bool(const json& p, const char* name) {
  if (!p.contains(name)) throw ArgumentError(std::string("argument missing: ") + name);
  if (!p[name].is_boolean()) {
    throw ArgumentError(std::string("argument ") + name + " must be a bool, got " +
                        p[name].dump());
  }
  return p[name].get<bool>();
}

// The operation handle: ["CopyV1", "<id>"] or ["MirrorV1", "<id>"].
std::string OperationId(const json& p) {
  if (!p.contains("operation")) throw ArgumentError("argument missing: operation");
  const json& op = p["operation"];
  if (!op.is_array() || op.size() != 2 || !op[0].is_string() || !op[1].is_string() ||
      (op[0] != "CopyV1" && op[0] != "MirrorV1")) {
    throw ArgumentError("argument operation must be [\"CopyV1\"|\"MirrorV1\", <id>], got " +
                        op.dump());
  }
  return op[1].get<std::string>();
}

qdisk::Blocklist Blocks(const json& p) {
  if (!p.contains("blocklist")) throw ArgumentError("argument missing: blocklist");
  const json& b = p["blocklist"];
  qdisk::Blocklist out;
  if (!b.is_object() || !b.contains("blocksize") || !b["blocksize"].is_number_integer() ||
      !b.contains("ranges") || !b["ranges"].is_array()) {
    throw ArgumentError("argument blocklist must be {\"blocksize\": int, \"ranges\": "
                        "[[start, length], ...]}, got " + b.dump());
  }
  out.blocksize = b["blocksize"].get<int64_t>();
  for (const json& r : b["ranges"]) {
    if (!r.is_array() || r.size() != 2 || !r[0].is_number_integer() ||
        !r[1].is_number_integer()) {
      throw ArgumentError("blocklist range must be [start, length], got " + r.dump());
    }
    out.ranges.emplace_back(r[0].get<int64_t>(), r[1].get<int64_t>());
  }
  return out;
}

json OperationJson(const qdisk::Operation& op) { return json::array({op.kind, op.id}); }

using Method = std::function<json(qdisk::Datapath&, const json&)>;

const std::map<std::string, Method>& Methods() {
  static const std::map<std::string, Method> kMethods = {
      {"Plugin.query",
       [](qdisk::Datapath&, const json&) -> json {
         return {{"plugin", "qdisk"},
                 {"name", "qdisk"},
                 {"description", "Serves qcow2 volumes through qemu-storage-daemon as NBD "
                                 "exports on Unix sockets"},
                 {"vendor", "SMAPIv3 C++ project"},
                 {"copyright", "(C) the SMAPIv3 C++ project authors"},
                 {"version", "1.0"},
                 {"required_api_version", "5.0"},
                 {"features", {"NONPERSISTENT", "VDI_MIRROR_IN"}},
                 {"configuration", json::object()},
                 {"required_cluster_stack", json::array()}};
       }},
      {"Plugin.ls", [](qdisk::Datapath&, const json&) -> json { return json::array(); }},
      {"Plugin.diagnostics",
       [](qdisk::Datapath& dp, const json&) -> json {
         std::string out = "qdisk datapath; runtime root " + qdisk::RunRoot() +
                           "\n";
         for (const qdisk::Operation& op : dp.Ls()) out += op.kind + " " + op.id + "\n";
         return out;
       }},
      {"Datapath.open",
       [](qdisk::Datapath& dp, const json& p) -> json {
         dp.Open(Str(p, "uri"), Bool(p, "persistent"));
         return nullptr;
       }},
      {"Datapath.attach",
       [](qdisk::Datapath& dp, const json& p) -> json {
         qdisk::Attachment a = dp.Attach(Str(p, "uri"), Str(p, "domain"));
         // Built step by step: a brace list of two-element arrays would become an object.
         json xendisk = {{"params", a.xendisk_params},
                         {"extra", json::object()},
                         {"backend_type", a.backend_type}};
         json nbd = {{"uri", a.nbd_uri}};
         json implementations = json::array();
         implementations.push_back(json::array({json("XenDisk"), xendisk}));
         implementations.push_back(json::array({json("Nbd"), nbd}));
         return json{{"implementations", implementations}};
       }},
      {"Datapath.activate",
       [](qdisk::Datapath& dp, const json& p) -> json {
         dp.Activate(Str(p, "uri"), Str(p, "domain"), false);
         return nullptr;
       }},
      {"Datapath.activate_readonly",
       [](qdisk::Datapath& dp, const json& p) -> json {
         dp.Activate(Str(p, "uri"), Str(p, "domain"), true);
         return nullptr;
       }},
      {"Datapath.import_activate",
       [](qdisk::Datapath& dp, const json& p) -> json {
         return dp.ImportActivate(Str(p, "uri"), Str(p, "domain"));
       }},
      {"Datapath.deactivate",
       [](qdisk::Datapath& dp, const json& p) -> json {
         dp.Deactivate(Str(p, "uri"), Str(p, "domain"));
         return nullptr;
       }},
      {"Datapath.detach",
       [](qdisk::Datapath& dp, const json& p) -> json {
         dp.Detach(Str(p, "uri"), Str(p, "domain"));
         return nullptr;
       }},
      {"Datapath.close",
       [](qdisk::Datapath& dp, const json& p) -> json {
         dp.Close(Str(p, "uri"));
         return nullptr;
       }},
      {"Data.copy",
       [](qdisk::Datapath& dp, const json& p) -> json {
         return OperationJson(
             dp.Copy(Str(p, "uri"), Str(p, "domain"), Str(p, "remote"), Blocks(p)));
       }},
      {"Data.mirror",
       [](qdisk::Datapath& dp, const json& p) -> json {
         return OperationJson(dp.Mirror(Str(p, "uri"), Str(p, "domain"), Str(p, "remote")));
       }},
      {"Data.stat",
       [](qdisk::Datapath& dp, const json& p) -> json {
         qdisk::OperationStatus s = dp.Stat(OperationId(p));
         json out = {{"failed", s.failed}, {"complete", s.complete}};
         if (s.has_progress) out["progress"] = s.progress;
         return out;
       }},
      {"Data.cancel",
       [](qdisk::Datapath& dp, const json& p) -> json {
         dp.Cancel(OperationId(p));
         return nullptr;
       }},
      {"Data.destroy",
       [](qdisk::Datapath& dp, const json& p) -> json {
         dp.Destroy(OperationId(p));
         return nullptr;
       }},
      {"Data.ls",
       [](qdisk::Datapath& dp, const json&) -> json {
         json out = json::array();
         for (const qdisk::Operation& op : dp.Ls()) out.push_back(OperationJson(op));
         return out;
       }},
  };
  return kMethods;
}

int Fail(const std::string& kind, const std::string& message) {
  json report = {{"code", "SR_BACKEND_FAILURE"},
                 {"params", {kind, message}},
                 {"backtrace", {{"error", message},
                                {"files", json::array()},
                                {"lines", json::array()}}}};
  std::cout << report.dump() << std::endl;
  std::cerr << "qdisk: " << kind << ": " << message << std::endl;
  return 1;
}

std::string SelfExe() {
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "qdisk-datapath";
  return std::string(buf, static_cast<size_t>(n));
}

std::string EnvOr(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

}  // namespace

int main(int argc, char** argv) {
  std::string method = argv[0];
  size_t slash = method.rfind('/');
  if (slash != std::string::npos) method = method.substr(slash + 1);
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      std::cout << kUsage;
      return 0;
    }
    if (a == "--import-relay") {
      if (argc != i + 3) {
        std::cerr << "qdisk-datapath: --import-relay needs <listen socket> <nbd socket>\n";
        return 2;
      }
      return qdisk::RunImportRelay(argv[i + 1], argv[i + 2]);
    }
    if (a == "--json") continue;
    if (a.find('.') != std::string::npos && a[0] != '-') {
      method = a;
      continue;
    }
    std::cerr << "qdisk-datapath: unknown argument " << a << "\n" << kUsage;
    return 2;
  }
  auto it = Methods().find(method);
  if (it == Methods().end()) {
    return Fail("Unimplemented", method);
  }
  std::string input((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  json params = json::parse(input, nullptr, false);
  if (params.is_discarded() || !params.is_object()) {
    return Fail("UnmarshalException", "stdin must hold the parameters as one JSON object, got: " +
                                          input.substr(0, 200));
  }
  qdisk::Options options;
  options.qsd_binary = EnvOr("QDISK_QSD", "qemu-storage-daemon");
  options.qemu_img_binary = EnvOr("QDISK_QEMU_IMG", "qemu-img");
  options.self_exe = SelfExe();
  qdisk::Datapath datapath(options);
  try {
    json result = it->second(datapath, params);
    std::cout << result.dump() << std::endl;
    return 0;
  } catch (const qdisk::Error& e) {
    return Fail(e.kind(), e.what());
  } catch (const std::exception& e) {
    return Fail("Internal_error", e.what());
  }
}

// qdisk-datapath: the qdisk datapath plugin, one executable for every method.
//
// xapi-storage-script runs `<plugin dir>/<Interface>.<method> --json` with the call's params
// object on stdin; each of those files is a symlink to this program, which dispatches on the
// basename of argv[0]. Success: the result as one JSON value on stdout, exit 0. Failure: the
// report {code, params, backtrace} on stdout, exit 1 (spec idl.md §4.3, §4.4).
//
// Also: `qdisk-datapath <Interface>.<method>` (the method as first argument, for use by hand)
// and `qdisk-datapath --import-relay <listen socket> <nbd socket>` (the relay behind
// Datapath.import_activate, started by the plugin itself), and `qdisk-datapath --copy-worker
// <operation record>` (the process behind Data.copy, also started by the plugin).
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <iostream>
#include <iterator>
#include <variant>
#include <string>

#include <nlohmann/json.hpp>

#include "copy_worker.h"
#include "datapath.h"
#include "qmp.h"
#include "rpc/codec.h"
#include "rpc/jsonrpc.h"
#include "smapi/smapiv3.h"
#include "volume_state.h"

namespace {

using nlohmann::json;

constexpr const char* kUsage = R"(usage: qdisk-datapath [--json]            (run as <Interface>.<method>)
       qdisk-datapath <Interface>.<method> [--json]
       qdisk-datapath --import-relay <listen socket> <nbd socket>
       qdisk-datapath --copy-worker <operation record>
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

// The plugin on the generated bindings: the dispatchers decode the params object and encode
// the result; these classes only translate between the IDL types and qdisk::Datapath.
class PluginImpl : public smapiv3::PluginHandler {
 public:
  explicit PluginImpl(qdisk::Datapath& dp) : dp_(dp) {}

  smapiv3::query_result query(const std::string&) override {
    smapiv3::query_result q;
    q.plugin = "qdisk";
    q.name = "qdisk";
    q.description = "Serves qcow2 volumes through qemu-storage-daemon as NBD exports on Unix sockets";
    q.vendor = "SMAPIv3 C++ project";
    q.copyright = "(C) the SMAPIv3 C++ project authors";
    q.version = "1.0";
    q.required_api_version = "5.0";
    // VDI_ACTIVATE_READONLY: activate_readonly serves a read-only export (idl.md §4.6).
    q.features = {"NONPERSISTENT", "VDI_MIRROR_IN", "VDI_ACTIVATE_READONLY"};
    return q;
  }

  smapiv3::srs ls(const std::string&) override { return {}; }

  std::string diagnostics(const std::string&) override {
    std::string out = "qdisk datapath; runtime root " + qdisk::RunRoot() + "\n";
    for (const qdisk::Operation& op : dp_.Ls()) out += op.kind + " " + op.id + "\n";
    return out;
  }

 private:
  qdisk::Datapath& dp_;
};

class DatapathImpl : public smapiv3::DatapathHandler {
 public:
  explicit DatapathImpl(qdisk::Datapath& dp) : dp_(dp) {}

  void open(const std::string&, const smapiv3::uri& uri, smapiv3::persistent persistent) override {
    dp_.Open(uri, persistent);
  }

  smapiv3::backend attach(const std::string&, const smapiv3::uri& uri,
                          const smapiv3::domain& domain) override {
    qdisk::Attachment a = dp_.Attach(uri, domain);
    smapiv3::backend b;
    // Positional (params, extra, backend_type): the member name of `params` is one the
    // generator may decorate to keep clear of its own identifiers.
    smapiv3::xendisk xen{a.xendisk_params, {}, a.backend_type};
    b.implementations.push_back({smapiv3::implementation::XenDisk{xen}});
    b.implementations.push_back({smapiv3::implementation::Nbd{smapiv3::nbd{a.nbd_uri}}});
    return b;
  }

  void activate(const std::string&, const smapiv3::uri& uri,
                const smapiv3::domain& domain) override {
    dp_.Activate(uri, domain, false);
  }

  void activate_readonly(const std::string&, const smapiv3::uri& uri,
                         const smapiv3::domain& domain) override {
    dp_.Activate(uri, domain, true);
  }

  smapiv3::sock_path import_activate(const std::string&, const smapiv3::uri& uri,
                                     const smapiv3::domain& domain) override {
    return dp_.ImportActivate(uri, domain);
  }

  void deactivate(const std::string&, const smapiv3::uri& uri,
                  const smapiv3::domain& domain) override {
    dp_.Deactivate(uri, domain);
  }

  void detach(const std::string&, const smapiv3::uri& uri,
              const smapiv3::domain& domain) override {
    dp_.Detach(uri, domain);
  }

  void close(const std::string&, const smapiv3::uri& uri) override { dp_.Close(uri); }

 private:
  qdisk::Datapath& dp_;
};

std::string OperationId(const smapiv3::operation& op) {
  return std::visit([](const auto& c) -> std::string { return c.value; }, op.value);
}

smapiv3::operation ToOperation(const qdisk::Operation& op) {
  if (op.kind == "CopyV1") return {smapiv3::operation::CopyV1{op.id}};
  return {smapiv3::operation::MirrorV1{op.id}};
}

class DataImpl : public smapiv3::DataHandler {
 public:
  explicit DataImpl(qdisk::Datapath& dp) : dp_(dp) {}

  smapiv3::operation copy(const std::string&, const smapiv3::uri& uri,
                          const smapiv3::domain& domain, const smapiv3::uri& remote,
                          const smapiv3::blocklist& blocklist) override {
    qdisk::Blocklist b;
    b.blocksize = blocklist.blocksize;
    for (const auto& [start, length] : blocklist.ranges) b.ranges.emplace_back(start, length);
    return ToOperation(dp_.Copy(uri, domain, remote, b));
  }

  smapiv3::operation mirror(const std::string&, const smapiv3::uri& uri,
                            const smapiv3::domain& domain, const smapiv3::uri& remote) override {
    return ToOperation(dp_.Mirror(uri, domain, remote));
  }

  smapiv3::status stat(const std::string&, const smapiv3::operation& operation) override {
    qdisk::OperationStatus s = dp_.Stat(OperationId(operation));
    smapiv3::status out;
    out.failed = s.failed;
    out.complete = s.complete;
    if (s.has_progress) out.progress = s.progress;
    return out;
  }

  void cancel(const std::string&, const smapiv3::operation& operation) override {
    dp_.Cancel(OperationId(operation));
  }

  void destroy(const std::string&, const smapiv3::operation& operation) override {
    dp_.Destroy(OperationId(operation));
  }

  smapiv3::operations ls(const std::string&) override {
    smapiv3::operations out;
    for (const qdisk::Operation& op : dp_.Ls()) out.push_back(ToOperation(op));
    return out;
  }

 private:
  qdisk::Datapath& dp_;
};

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
    if (a == "--copy-worker") {
      if (argc != i + 2) {
        std::cerr << "qdisk-datapath: --copy-worker needs <operation record>\n";
        return 2;
      }
      return qdisk::RunCopyWorker(argv[i + 1]);
    }
    if (a == "--json") continue;
    if (a.find('.') != std::string::npos && a[0] != '-') {
      method = a;
      continue;
    }
    std::cerr << "qdisk-datapath: unknown argument " << a << "\n" << kUsage;
    return 2;
  }
  if (method.find('.') == std::string::npos) {
    std::cerr << "qdisk-datapath: no method: run it as <Interface>.<method> (a link) or name "
                 "the method as the first argument\n"
              << kUsage;
    return 2;
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
  PluginImpl plugin(datapath);
  DatapathImpl datapath_handler(datapath);
  DataImpl data(datapath);
  smapiv3::Handlers handlers;
  handlers.Plugin = &plugin;
  handlers.Datapath = &datapath_handler;
  handlers.Data = &data;
  try {
    json result = smapiv3::Dispatch(handlers, method, params);
    std::cout << result.dump() << std::endl;
    return 0;
  } catch (const rpc::UnknownMethod&) {
    return Fail("Unimplemented", method);
  } catch (const rpc::DecodeError& e) {
    return Fail("UnmarshalException", method + ": " + e.what());
  } catch (const smapiv3::exnt_exception& e) {
    return Fail("Unimplemented", method);
  } catch (const qdisk::QmpError& e) {
    return Fail("Qsd_failed", std::string("qemu-storage-daemon: ") + e.what());
  } catch (const qdisk::Error& e) {
    return Fail(e.kind(), e.what());
  } catch (const std::exception& e) {
    return Fail("Internal_error", e.what());
  }
}

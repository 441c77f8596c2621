// VolumeService: the SMAPIv2 server of one volume plugin. Each SMAPIv2 call from xapi is
// translated into SMAPIv3 script calls in the plugin's directory (and in datapath plugins'
// directories), following the mapping of spec storage-script.md §3.4, the identifier rules of
// §3.2, the PVS 3.0 shims of §5.2 and the features of §5.3. Deviations from the reference are
// listed in docs/compatibility/storage-script.md.
//
// Thread-safe: calls may run concurrently; shared state (attached SRs, datapaths) is guarded by
// its owners, and the plugin's API version by a mutex here.
#ifndef STORAGE_SCRIPT_VOLUME_SERVICE_H_
#define STORAGE_SCRIPT_VOLUME_SERVICE_H_

#include <map>
#include <mutex>
#include <string>
#include <utility>

#include "storage_script/attached_srs.h"
#include "storage_script/config.h"
#include "storage_script/datapaths.h"
#include "storage_script/errors.h"
#include "storage_script/log.h"
#include "storage_script/process.h"
#include "storage_script/script_runner.h"

namespace storage {

// What a call may be interrupted by.
struct CallContext {
  const CancelToken* cancel = nullptr;  // optional, not owned
};

// The services one VolumeService needs; all must outlive it.
struct ServiceDeps {
  ScriptRunner* runner;
  AttachedSrs* srs;
  Datapaths* datapaths;
  Logger* log;
  const Options* options;
};

class VolumeService {
 public:
  // `name` is the queue name (the plugin directory's basename), `dir` its directory.
  VolumeService(std::string name, std::string dir, ServiceDeps deps);

  // Serves one SMAPIv2 call: `params` is the named-parameter object (params[0] of the request).
  // Returns the result value, or throws StorageError carrying the SMAPIv2 error. Unimplemented
  // methods give ["Unimplemented",<method>]; unknown methods and missing or ill-typed arguments
  // give ["Internal_error",<what was wrong>].
  Json Handle(const std::string& method, const Json& params, const CallContext& ctx);

  // Serves a whole JSON-RPC request text and returns the response text; never throws. Parse
  // errors and bad envelopes get an error response too.
  std::string HandleRequest(const std::string& body, const CallContext& ctx);

  const std::string& name() const { return name_; }
  const std::string& dir() const { return dir_; }

 private:
  class Call;  // one call's state and its translation steps (volume_service.cc)

  const std::string name_;
  const std::string dir_;
  const ServiceDeps deps_;
  std::mutex mu_;
  std::string api_version_;  // from the last Query.query; "3.0" enables the PVS shims
  // epoch_begin's datapath choice per "sr/vdi", so epoch_end uses the same one (fix of Q9).
  std::map<std::string, std::string> epoch_scheme_;
};

// The (SR, volume) a SMAPIv2 call works on, as "sr" + '\n' + "vdi" ("" parts when absent): calls
// with the same key run in arrival order.
std::string OrderingKey(const Json& params);

// The 32 SMAPIv2 methods the reference leaves unimplemented (§3.5).
bool IsUnimplemented(const std::string& method);

}  // namespace storage

#endif  // STORAGE_SCRIPT_VOLUME_SERVICE_H_

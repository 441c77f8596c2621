#include "storage_script/selftest.h"

#include "storage_script/attached_srs.h"
#include "storage_script/datapaths.h"
#include "storage_script/script_runner.h"
#include "storage_script/volume_service.h"

namespace storage {

int RunSelfTest(const Options& options, Logger& log) {
  const std::string name = "org.xen.xapi.storage.dummyv5";
  ScriptRunner runner(log, options.observer);
  AttachedSrs srs("", log);  // the self-test never touches the state file
  Datapaths datapaths(runner, log);
  VolumeService service(name, options.root + "/volume/" + name,
                        ServiceDeps{&runner, &srs, &datapaths, &log, &options});
  CallContext ctx;
  // Each SMAPIv2 call takes an id from the same counter as the script calls, as in the
  // reference, so the logged ids match its transcript.
  auto call = [&](const std::string& method, Json params) {
    runner.NextId();
    return service.Handle(method, params, ctx);
  };
  try {
    const std::string dbg = "debug", sr = "dummySR";
    Json query = call("Query.query", Json{{"dbg", dbg}});
    call("Query.diagnostics", Json{{"dbg", dbg}});
    Json device_config = call("SR.create", Json{{"dbg", dbg},
                                                {"sr", sr},
                                                {"name_label", "dummy name"},
                                                {"name_description", "dummy description"},
                                                {"device_config", {{"uri", "file:///dev/null"}}},
                                                {"physical_size", 0}});
    call("SR.detach", Json{{"dbg", dbg}, {"sr", sr}});
    call("SR.attach", Json{{"dbg", dbg}, {"sr", sr}, {"device_config", device_config}});
    Json vdi_info = {{"vdi", ""},
                     {"name_label", "vdi name"},
                     {"name_description", "vdi description"},
                     {"ty", "redolog"},
                     {"virtual_size", 0},
                     {"sharable", false}};
    Json vdi = call("VDI.create", Json{{"dbg", dbg}, {"sr", sr}, {"vdi_info", vdi_info}});
    std::string key = vdi["vdi"].get<std::string>();
    call("VDI.stat", Json{{"dbg", dbg}, {"sr", sr}, {"vdi", key}});
    call("VDI.destroy", Json{{"dbg", dbg}, {"sr", sr}, {"vdi", key}});
    call("SR.stat", Json{{"dbg", dbg}, {"sr", sr}});
    call("SR.scan", Json{{"dbg", dbg}, {"sr", sr}});
    bool probe = false;
    for (const auto& f : query["features"]) probe |= f == "SR_PROBE";
    if (probe) {
      call("SR.probe", Json{{"dbg", dbg},
                            {"queue", name},
                            {"device_config", device_config},
                            {"sm_config", Json::object()}});
    }
  } catch (const StorageError& e) {
    log.Error("test thread failed with " + e.value().dump());
    return 2;
  } catch (const std::exception& e) {
    log.Error("test thread failed with " + Json(e.what()).dump());
    return 2;
  }
  log.Info("test thread shutdown cleanly");
  return 0;
}

}  // namespace storage

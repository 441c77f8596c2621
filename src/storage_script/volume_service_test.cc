// Translation tests (spec storage-script.md §3-§5): a VolumeService over recording plugin
// scripts, checking which scripts run with which stdin, and what the SMAPIv2 caller gets.
#include "storage_script/volume_service.h"

#include <gtest/gtest.h>

#include "storage_script/test_support.h"

namespace storage {
namespace {

using testing::Recorder;

const char* const kVolumeScripts[] = {
    "Plugin.Query", "Plugin.diagnostics", "SR.attach", "SR.create", "SR.detach", "SR.destroy",
    "SR.ls", "SR.probe", "SR.stat", "SR.set_name", "SR.set_description", "Volume.create",
    "Volume.destroy", "Volume.set", "Volume.unset", "Volume.stat", "Volume.snapshot",
    "Volume.clone", "Volume.resize", "Volume.compose", "Volume.revert", "Volume.data_destroy",
    "Volume.list_changed_blocks", "Volume.enable_cbt", "Volume.disable_cbt", "Volume.set_name",
    "Volume.set_description"};

std::string Volume(const std::string& key, const std::string& uris, const std::string& keys) {
  return R"({"key":")" + key + R"(","uuid":")" + key +
         R"(","name":"n","description":"d","read_write":true,"sharable":false,)"
         R"("virtual_size":10,"physical_utilisation":5,"uri":)" + uris + R"(,"keys":)" + keys + "}";
}

std::string Stat(const std::string& health) {
  return R"({"sr":"H","name":"sr","description":"","free_space":1,"total_space":2,)"
         R"("datasources":[],"clustered":false,"health":[")" + health + R"(",""]})";
}

std::string Query(const std::string& version, const std::string& features) {
  return R"({"plugin":"rec","name":"n","description":"d","vendor":"v","copyright":"c",)"
         R"("version":"1","required_api_version":")" + version + R"(","features":)" + features +
         R"(,"configuration":{},"required_cluster_stack":[]})";
}

class VolumeServiceTest : public ::testing::Test {
 protected:
  VolumeServiceTest()
      : log_file_(std::tmpfile()),
        log_(log_file_),
        runner_(log_, false),
        srs_(root_.path() + "/state.db", log_),
        datapaths_(runner_, log_),
        plugin_(root_.path() + "/volume/org.xen.xapi.storage.rec"),
        file_dp_(root_.path() + "/datapath/file"),
        np_dp_(root_.path() + "/datapath/np") {
    options_.root = root_.path();
    options_.script_timeout = 20;
    for (const char* s : kVolumeScripts) plugin_.Scripts({s});
    plugin_.Out("Plugin.Query", Query("5.0", "[]"));
    plugin_.Out("SR.attach", R"("H")").Out("SR.stat", Stat("Healthy"));
    plugin_.Out("Volume.stat", Volume("k1", R"(["file:///img"])", "{}"));
    for (Recorder* dp : {&file_dp_, &np_dp_}) {
      dp->Scripts({"Plugin.Query", "Datapath.attach", "Datapath.activate", "Datapath.deactivate",
                   "Datapath.detach", "Datapath.open", "Datapath.close",
                   "Datapath.import_activate", "Data.mirror", "Data.stat"});
    }
    file_dp_.Out("Plugin.Query", Query("5.0", "[]"));
    np_dp_.Out("Plugin.Query", Query("5.0", R"(["NONPERSISTENT","VDI_MIRROR_IN/2"])"));
    EXPECT_TRUE(datapaths_.Register("file", file_dp_.dir(), std::chrono::seconds(20)));
    EXPECT_TRUE(datapaths_.Register("np", np_dp_.dir(), std::chrono::seconds(20)));
    service_ = std::make_unique<VolumeService>(
        "org.xen.xapi.storage.rec", plugin_.dir(),
        ServiceDeps{&runner_, &srs_, &datapaths_, &log_, &options_});
  }
  ~VolumeServiceTest() override { std::fclose(log_file_); }

  Json Call(const std::string& method, Json params) {
    if (!params.contains("dbg")) params["dbg"] = "d";
    return service_->Handle(method, params, ctx_);
  }
  std::string Error(const std::string& method, Json params) {
    try {
      Call(method, std::move(params));
    } catch (const StorageError& e) {
      return e.value().dump();
    }
    return "no error";
  }
  void Attach() {
    Call("SR.attach", Json{{"sr", "sr1"}, {"device_config", Json::object()}});
    plugin_.ClearCalls();
  }

  testing::TempDir root_;
  std::FILE* log_file_;
  Logger log_;
  Options options_;
  ScriptRunner runner_;
  AttachedSrs srs_;
  Datapaths datapaths_;
  Recorder plugin_, file_dp_, np_dp_;
  std::unique_ptr<VolumeService> service_;
  CallContext ctx_;
};

// S1: every call that needs an SR fails before any script runs when it is not attached.
TEST_F(VolumeServiceTest, S1_UnknownSrRunsNoScript) {
  const char* methods[] = {"SR.stat", "SR.scan", "SR.scan2", "SR.destroy", "VDI.stat",
                           "VDI.destroy", "VDI.attach3", "VDI.epoch_begin", "DP.destroy2"};
  for (const char* m : methods) {
    EXPECT_EQ(Error(m, Json{{"sr", "nope"}, {"vdi", "k"}, {"vm", "1"}, {"dp", "x"},
                            {"read_write", true}, {"persistent", true}, {"allow_leak", false}}),
              R"(["Sr_not_attached","nope"])")
        << m;
  }
  EXPECT_EQ(Call("SR.detach", Json{{"sr", "nope"}}), nullptr);
  EXPECT_EQ(Call("SR.reset", Json{{"sr", "nope"}}), nullptr);
  EXPECT_EQ(Call("VDI.set_persistent", Json{{"sr", "nope"}, {"vdi", "k"}, {"persistent", true}}),
            nullptr);
  EXPECT_EQ(Call("VDI.similar_content", Json{{"sr", "nope"}, {"vdi", "k"}}), Json::array());
  EXPECT_TRUE(plugin_.Calls().empty());
}

// S2, T7, T8: attach stores the handle and writes the state file; detach forgets it.
TEST_F(VolumeServiceTest, S2_AttachDetachAndStateFile) {
  Call("SR.attach", Json{{"sr", "sr1"}, {"device_config", {{"path", "/x"}}}});
  EXPECT_EQ(plugin_.Calls(), (std::vector<std::string>{
                                 R"(SR.attach {"configuration":{"path":"/x"},"dbg":"d"})",
                                 R"(SR.stat {"sr":"H","dbg":"d"})"}));
  EXPECT_EQ(testing::ReadFile(root_.path() + "/state.db"), "((sr1((sr H)(uids()))))");
  EXPECT_EQ(Call("SR.list", Json::object()), Json::array({"sr1"}));
  Call("SR.detach", Json{{"sr", "sr1"}});
  EXPECT_EQ(plugin_.Calls().back(), R"(SR.detach {"sr":"H","dbg":"d"})");
  EXPECT_EQ(testing::ReadFile(root_.path() + "/state.db"), "()");
}

TEST_F(VolumeServiceTest, SrCreateMapsNamesAndDestroyForgetsTheSr) {
  plugin_.Out("SR.create", R"({"uri":"u2"})");
  EXPECT_EQ(Call("SR.create", Json{{"sr", "u"}, {"name_label", "n"}, {"name_description", "d"},
                                   {"device_config", {{"uri", "u1"}}}, {"physical_size", 7}}),
            (Json{{"uri", "u2"}}));
  EXPECT_EQ(plugin_.Calls()[0],
            R"(SR.create {"description":"d","name":"n","configuration":{"uri":"u1"},"uuid":"u","dbg":"d"})");
  Attach();
  Call("SR.destroy", Json{{"sr", "sr1"}});
  EXPECT_EQ(plugin_.Calls().back(), R"(SR.destroy {"sr":"H","dbg":"d"})");
  EXPECT_EQ(Call("SR.list", Json::object()), Json::array());
}

// S3: transient clones are hidden from scans.
TEST_F(VolumeServiceTest, S3_ScanHidesCloneOnBootTransients) {
  Attach();
  plugin_.Out("SR.ls", "[" + Volume("a", "[]", R"({"clone-on-boot":"t"})") + "," +
                           Volume("t", "[]", "{}") + "," + Volume("b", "[]", "{}") + "]");
  Json vdis = Call("SR.scan", Json{{"sr", "sr1"}});
  ASSERT_EQ(vdis.size(), 2u);
  EXPECT_EQ(vdis[0]["vdi"], "a");
  EXPECT_EQ(vdis[1]["vdi"], "b");
}

// S4: Unreachable is retried (4 stats in all, about 3 s); Recovering fails at once.
TEST_F(VolumeServiceTest, S4_Scan2Health) {
  Attach();
  plugin_.Out("SR.ls", "[]");
  Json r = Call("SR.scan2", Json{{"sr", "sr1"}});
  EXPECT_EQ(r[0], Json::array());
  EXPECT_EQ(r[1]["health"], "Healthy");
  plugin_.ClearCalls();
  plugin_.Out("SR.stat", Stat("Recovering"));
  EXPECT_EQ(Error("SR.scan2", Json{{"sr", "sr1"}}), R"(["Sr_unhealthy",["sr1","Recovering"]])");
  EXPECT_EQ(plugin_.Calls().size(), 1u);
  plugin_.ClearCalls();
  plugin_.Out("SR.stat", Stat("Unreachable"));
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(Error("SR.scan2", Json{{"sr", "sr1"}}), R"(["Sr_unhealthy",["sr1","Unreachable"]])");
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(2900));
  EXPECT_EQ(plugin_.Calls().size(), 4u);
}

// S5: SR.probe validation, the five cases.
TEST_F(VolumeServiceTest, S5_ProbeValidation) {
  const std::string sr = Stat("Healthy");
  auto probe = [&](const std::string& results) {
    plugin_.Out("SR.probe", results);
    return Call("SR.probe", Json{{"queue", "q"}, {"device_config", Json::object()},
                                 {"sm_config", Json::object()}});
  };
  auto probe_error = [&](const std::string& results) {
    try {
      probe(results);
    } catch (const StorageError& e) {
      return e.value().dump();
    }
    return std::string("no error");
  };
  // 2, 4, 5: accepted.
  Json ok = probe(R"([{"configuration":{"sr_uuid":"u"},"complete":true,"sr":)" + sr +
                  R"(,"extra_info":{}},{"configuration":{},"complete":false,"extra_info":{}},)"
                  R"({"configuration":{},"complete":true,"extra_info":{"x":"y"}}])");
  EXPECT_EQ(plugin_.Calls()[0], R"(SR.probe {"configuration":{},"dbg":"d"})");
  ASSERT_EQ(ok[0], "Probe");
  ASSERT_EQ(ok[1].size(), 3u);
  EXPECT_EQ(ok[1][0]["sr"]["health"], "Healthy");
  EXPECT_FALSE(ok[1][1].contains("sr"));
  // 1: a uuid with complete=false.
  EXPECT_EQ(probe_error(R"([{"configuration":{"sr_uuid":"u"},"complete":false,"extra_info":{}}])"),
            R"(["Backend_error",["SCRIPT_FAILED",["SR.probe","A configuration with a uuid cannot be incomplete: {\"configuration\":{\"sr_uuid\":\"u\"},\"complete\":false,\"extra_info\":{}}"]]])");
  // 3: an sr without uuid.
  EXPECT_NE(probe_error(R"([{"configuration":{},"complete":true,"sr":)" + sr +
                        R"(,"extra_info":{}}])")
                .find("A configuration is not attachable without a uuid: "),
            std::string::npos);
}

// V1: snapshot metadata, in order, with tags on the parent.
TEST_F(VolumeServiceTest, V1_SnapshotWritesKeysInOrder) {
  Attach();
  plugin_.Out("Volume.snapshot", Volume("s1", "[]", "{}"));
  Json r = Call("VDI.snapshot", Json{{"sr", "sr1"}, {"vdi_info", {{"vdi", "k1"}, {"name_label", "n"},
                                                                  {"content_id", "c"}, {"ty", "user"},
                                                                  {"tags", {"t1"}}}}});
  auto calls = plugin_.Calls();
  ASSERT_EQ(calls.size(), 7u);
  EXPECT_EQ(calls[0], R"(Volume.snapshot {"key":"k1","sr":"H","dbg":"d"})");
  const char* keys[] = {"snapshot_time", "is_a_snapshot", "snapshot_of", "content_id", "vdi-type"};
  for (int i = 0; i < 5; ++i) {
    EXPECT_NE(calls[1 + i].find(std::string(R"("k":")") + keys[i] + R"(","key":"s1")"),
              std::string::npos)
        << calls[1 + i];
  }
  EXPECT_EQ(calls[6], R"(Volume.set {"v":"t1","k":"tagst1","key":"k1","sr":"H","dbg":"d"})");
  EXPECT_EQ(r["vdi"], "s1");
  EXPECT_EQ(r["is_a_snapshot"], true);
  EXPECT_EQ(r["snapshot_of"], "k1");
  EXPECT_EQ(r["content_id"], "c");
}

// V2, 3.2.3: sm_config and tags come back from keys; odd is_a_snapshot reads as false.
TEST_F(VolumeServiceTest, V2_KeysRoundTrip) {
  Attach();
  Call("VDI.add_to_sm_config", Json{{"sr", "sr1"}, {"vdi", "k1"}, {"key", "a"}, {"value", "b"}});
  Call("VDI.add_tags", Json{{"sr", "sr1"}, {"vdi", "k1"}, {"key", "t"}});
  Call("VDI.remove_tags", Json{{"sr", "sr1"}, {"vdi", "k1"}, {"key", "t"}});
  Call("VDI.remove_from_sm_config", Json{{"sr", "sr1"}, {"vdi", "k1"}, {"key", "a"}});
  EXPECT_EQ(plugin_.Calls(),
            (std::vector<std::string>{
                R"(Volume.set {"v":"b","k":"_sm_config_a","key":"k1","sr":"H","dbg":"d"})",
                R"(Volume.set {"v":"t","k":"tagst","key":"k1","sr":"H","dbg":"d"})",
                R"(Volume.unset {"k":"tagst","key":"k1","sr":"H","dbg":"d"})",
                R"(Volume.unset {"k":"_sm_config_a","key":"k1","sr":"H","dbg":"d"})"}));
  plugin_.Out("Volume.stat",
              Volume("k1", "[]", R"({"_sm_config_a":"b","tagsfoo":"x","is_a_snapshot":"yes",)"
                                 R"("vdi-type":"user","content_id":"c"})"));
  Json info = Call("VDI.stat", Json{{"sr", "sr1"}, {"vdi", "k1"}});
  EXPECT_EQ(info["sm_config"], (Json{{"a", "b"}}));
  EXPECT_EQ(info["tags"], Json::array({"foo"}));
  EXPECT_EQ(info["is_a_snapshot"], false);
  EXPECT_EQ(info["ty"], "user");
  EXPECT_EQ(info["read_only"], false);
  EXPECT_EQ(info["persistent"], true);
  EXPECT_EQ(info["snapshot_time"], "19700101T00:00:00Z");
}

// V3-V6.
TEST_F(VolumeServiceTest, V3toV6_CbtComposeRevertDataDestroy) {
  Attach();
  plugin_.Out("Volume.list_changed_blocks", R"({"granularity":65536,"bitmap":"AAE="})");
  EXPECT_EQ(Call("VDI.list_changed_blocks", Json{{"sr", "sr1"}, {"vdi_from", "a"}, {"vdi_tp", "b"}}),
            "AAE=");
  Call("VDI.compose", Json{{"sr", "sr1"}, {"vdi1", "parent"}, {"vdi2", "child"}});
  Call("VDI.revert", Json{{"sr", "sr1"}, {"snapshot_info", {{"vdi", "snap"}, {"name_label", "n"},
                                                            {"snapshot_of", "orig"}}}});
  Call("VDI.data_destroy", Json{{"sr", "sr1"}, {"vdi", "k"}});
  EXPECT_EQ(plugin_.Calls(),
            (std::vector<std::string>{
                R"(Volume.list_changed_blocks {"length":-1,"offset":0,"key2":"b","key":"a","sr":"H","dbg":"d"})",
                R"(Volume.compose {"key2":"parent","key":"child","sr":"H","dbg":"d"})",
                R"(Volume.revert {"key":"orig","snapshot":"snap","sr":"H","dbg":"d"})",
                R"(Volume.data_destroy {"key":"k","sr":"H","dbg":"d"})",
                R"(Volume.set {"v":"cbt_metadata","k":"vdi-type","key":"k","sr":"H","dbg":"d"})"}));
}

// P1, P5: dom0 domain string; destroy2 = deactivate then detach.
TEST_F(VolumeServiceTest, P1_P5_DatapathCalls) {
  Attach();
  file_dp_.Out("Datapath.attach", R"({"implementations":[["File",{"path":"/img"}]]})");
  Json backend = Call("VDI.attach3", Json{{"sr", "sr1"}, {"vdi", "k1"}, {"vm", "0"},
                                          {"dp", "vbd/0/xvda"}, {"read_write", true}});
  EXPECT_EQ(backend, Json::parse(R"({"implementations":[["File",{"path":"/img"}]]})"));
  Call("VDI.activate3", Json{{"sr", "sr1"}, {"vdi", "k1"}, {"vm", "5"}, {"dp", "vbd/5/xvda"}});
  Call("DP.destroy2", Json{{"sr", "sr1"}, {"vdi", "k1"}, {"vm", "0"}, {"dp", "1f0e-aa"},
                           {"allow_leak", false}});
  EXPECT_EQ(file_dp_.Calls(),
            (std::vector<std::string>{
                R"(Plugin.Query {"dbg":"register"})",
                R"(Datapath.attach {"domain":"u0_vbd_0_xvda","uri":"file:///img","dbg":"d"})",
                R"(Datapath.activate {"domain":"5","uri":"file:///img","dbg":"d"})",
                R"(Datapath.deactivate {"domain":"u0_1f0e_aa","uri":"file:///img","dbg":"d"})",
                R"(Datapath.detach {"domain":"u0_1f0e_aa","uri":"file:///img","dbg":"d"})"}));
}

// P2, D7: unknown schemes are skipped (case-sensitively); none usable gives MISSING_URI.
TEST_F(VolumeServiceTest, P2_UriChoice) {
  Attach();
  plugin_.Out("Volume.stat", Volume("k1", R"(["FILE:///a","nbd://x","file:///b"])", "{}"));
  Call("VDI.activate3", Json{{"sr", "sr1"}, {"vdi", "k1"}, {"vm", "5"}, {"dp", "d"}});
  EXPECT_EQ(file_dp_.Calls().back(), R"(Datapath.activate {"domain":"5","uri":"file:///b","dbg":"d"})");
  plugin_.Out("Volume.stat", Volume("k1", R"(["nbd://x","nothing"])", "{}"));
  EXPECT_EQ(Error("VDI.activate3", Json{{"sr", "sr1"}, {"vdi", "k1"}, {"vm", "5"}, {"dp", "d"}}),
            R"(["Backend_error",["MISSING_URI",["Please include a URI in the device-config"]]])");
}

// P3: clone-on-boot without NONPERSISTENT, and the redirect of later datapath calls.
TEST_F(VolumeServiceTest, P3_CloneOnBoot) {
  Attach();
  plugin_.Out("Volume.clone", Volume("c1", R"(["file:///clone"])", "{}"));
  Call("VDI.epoch_begin", Json{{"sr", "sr1"}, {"vdi", "k1"}, {"vm", "5"}, {"persistent", false}});
  EXPECT_EQ(plugin_.Calls(),
            (std::vector<std::string>{
                R"(Volume.stat {"key":"k1","sr":"H","dbg":"d"})",
                R"(Volume.clone {"key":"k1","sr":"H","dbg":"d"})",
                R"(Volume.set {"v":"c1","k":"clone-on-boot","key":"k1","sr":"H","dbg":"d"})"}));
  // Later datapath calls follow clone-on-boot to the clone's URI (a second stat).
  plugin_.ClearCalls();
  // The recorder answers every Volume.stat alike: a volume pointing at itself would loop, so
  // answer with the clone's URI and a clone-on-boot key once.
  plugin_.Out("Volume.stat", Volume("k1", R"(["file:///clone"])", R"({"clone-on-boot":"c1"})"));
  file_dp_.Out("Datapath.attach", R"({"implementations":[]})");
  Call("VDI.attach3", Json{{"sr", "sr1"}, {"vdi", "k1"}, {"vm", "5"}, {"dp", "d"},
                           {"read_write", true}});
  EXPECT_EQ(plugin_.Calls().size(), 2u);
  EXPECT_EQ(plugin_.Calls()[1], R"(Volume.stat {"key":"c1","sr":"H","dbg":"d"})");
  plugin_.ClearCalls();
  Call("VDI.epoch_end", Json{{"sr", "sr1"}, {"vdi", "k1"}, {"vm", "5"}});
  EXPECT_EQ(plugin_.Calls(),
            (std::vector<std::string>{
                R"(Volume.stat {"key":"k1","sr":"H","dbg":"d"})",
                R"(Volume.destroy {"key":"c1","sr":"H","dbg":"d"})",
                R"(Volume.unset {"k":"clone-on-boot","key":"k1","sr":"H","dbg":"d"})"}));
  // VDI.destroy removes the transient, then the volume (fix of Q4).
  plugin_.ClearCalls();
  Call("VDI.destroy", Json{{"sr", "sr1"}, {"vdi", "k1"}});
  EXPECT_EQ(plugin_.Calls(),
            (std::vector<std::string>{
                R"(Volume.stat {"key":"k1","sr":"H","dbg":"d"})",
                R"(Volume.destroy {"key":"c1","sr":"H","dbg":"d"})",
                R"(Volume.destroy {"key":"k1","sr":"H","dbg":"d"})"}));
}

// P4, P6, P7: NONPERSISTENT datapaths get open/close; import_activate needs VDI_MIRROR_IN;
// get_nbd_server parses the socket.
TEST_F(VolumeServiceTest, P4_P6_P7) {
  Attach();
  plugin_.Out("Volume.stat", Volume("k1", R"(["file:///a","np:///b"])", "{}"));
  Call("VDI.epoch_begin", Json{{"sr", "sr1"}, {"vdi", "k1"}, {"vm", "5"}, {"persistent", false}});
  Call("VDI.epoch_end", Json{{"sr", "sr1"}, {"vdi", "k1"}, {"vm", "5"}});
  EXPECT_EQ(np_dp_.Calls()[1], R"(Datapath.open {"persistent":false,"uri":"np:///b","dbg":"d"})");
  EXPECT_EQ(np_dp_.Calls()[2], R"(Datapath.close {"uri":"np:///b","dbg":"d"})");
  // The file datapath comes first and lacks VDI_MIRROR_IN.
  EXPECT_EQ(Error("DATA.import_activate",
                  Json{{"sr", "sr1"}, {"vdi", "k1"}, {"vm", "5"}, {"dp", "d"}}),
            R"(["Unimplemented","VDI_MIRROR_IN"])");
  plugin_.Out("Volume.stat", Volume("k1", R"(["np:///b"])", "{}"));
  np_dp_.Out("Datapath.import_activate", R"("/run/sock")");
  EXPECT_EQ(Call("DATA.import_activate", Json{{"sr", "sr1"}, {"vdi", "k1"}, {"vm", "0"}, {"dp", "d"}}),
            "/run/sock");
  EXPECT_EQ(np_dp_.Calls().back(),
            R"(Datapath.import_activate {"domain":"0","uri":"np:///b","dbg":"d"})");
  np_dp_.Out("Datapath.attach",
             R"({"implementations":[["File",{"path":"/p"}],["Nbd",{"uri":"nbd:unix:/s.sock:exportname=e"}]]})");
  EXPECT_EQ(Call("DATA.get_nbd_server", Json{{"sr", "sr1"}, {"vdi", "k1"}, {"vm", "0"}, {"dp", "d"}}),
            "/s.sock");
  np_dp_.Out("Datapath.attach", R"({"implementations":[]})");
  EXPECT_EQ(Error("DATA.get_nbd_server", Json{{"sr", "sr1"}, {"vdi", "k1"}, {"vm", "0"}, {"dp", "d"}}),
            R"(["Backend_error",["No nbd server found",[]]])");
}

// Q1: the features of the dummyv5 worked example (§5.3).
TEST_F(VolumeServiceTest, Q1_Features) {
  testing::TempDir dir;
  Recorder dummy(dir.path() + "/dummy");
  dummy.Scripts({"Plugin.Query", "SR.attach", "SR.create", "SR.detach", "SR.ls", "SR.probe",
                 "SR.stat", "Volume.create", "Volume.destroy", "Volume.set", "Volume.stat",
                 "Volume.unset"});
  dummy.Out("Plugin.Query",
            Query("5.0", R"(["SR_ATTACH","SR_DETACH","SR_CREATE","SR_PROBE","VDI_CREATE","VDI_DESTROY"])"));
  VolumeService service("org.xen.xapi.storage.dummy", dummy.dir(),
                        ServiceDeps{&runner_, &srs_, &datapaths_, &log_, &options_});
  Json r = service.Handle("Query.query", Json{{"dbg", "d"}}, ctx_);
  EXPECT_EQ(r["features"],
            Json::parse(R"(["SR_ATTACH","SR_DETACH","SR_CREATE","SR_PROBE","VDI_CREATE","VDI_DELETE",
              "VDI_UPDATE","VDI_DELETE","VDI_CREATE","SR_PROBE","SR_UPDATE","SR_SCAN","SR_DETACH",
              "SR_CREATE","SR_ATTACH","VDI_ATTACH","VDI_DETACH","VDI_ACTIVATE","VDI_DEACTIVATE",
              "VDI_INTRODUCE"])"));
  EXPECT_EQ(r["driver"], "rec");
  EXPECT_EQ(r["smapi_version"], "SMAPIv3");
  EXPECT_EQ(r["supported_image_formats"], Json::array());
  // With Volume.clone, VDI_RESET_ON_BOOT/2 comes first.
  dummy.Scripts({"Volume.clone"});
  r = service.Handle("Query.query", Json{{"dbg", "d"}}, ctx_);
  EXPECT_EQ(r["features"][0], "VDI_RESET_ON_BOOT/2");
}

// C1: the PVS 3.0 shims.
TEST_F(VolumeServiceTest, C1_PvsShims) {
  plugin_.Out("Plugin.Query", Query("3.0", "[]"));
  Call("Query.query", Json::object());
  plugin_.ClearCalls();
  EXPECT_EQ(Error("SR.create", Json{{"sr", "u"}, {"name_label", "n"}, {"name_description", "d"},
                                    {"device_config", Json::object()}, {"physical_size", 0}}),
            R"(["Backend_error",["MISSING_URI",["Please include a URI in the device-config"]]])");
  EXPECT_TRUE(plugin_.Calls().empty());
  EXPECT_EQ(Call("SR.create", Json{{"sr", "u"}, {"name_label", "n"}, {"name_description", "d"},
                                   {"device_config", {{"uri", "x"}}}, {"physical_size", 0}}),
            (Json{{"uri", "x"}}));
  EXPECT_EQ(plugin_.Calls()[0].rfind(R"(SR.create {"uri":"x","description":"d")", 0), 0u);
  Call("SR.attach", Json{{"sr", "sr1"}, {"device_config", {{"uri", "x"}}}});
  EXPECT_EQ(plugin_.Calls()[1], R"(SR.attach {"uri":"x","configuration":{"uri":"x"},"dbg":"d"})");
  std::filesystem::remove(plugin_.dir() + "/Volume.set");
  std::string no_sharable = R"({"key":"k","name":"n","description":"d","read_write":true,)"
                            R"("virtual_size":1,"physical_utilisation":1,"uri":[],"keys":{}})";
  plugin_.Out("Volume.create", no_sharable);
  Json info = Call("VDI.create", Json{{"sr", "sr1"}, {"vdi_info", {{"vdi", ""}, {"name_label", "n"},
                                                                  {"ty", "user"}}}});
  EXPECT_EQ(info["sharable"], false);
  EXPECT_EQ(info["ty"], "user");
}

// U1, U2 and bad input: always an envelope with an error, the request id echoed.
TEST_F(VolumeServiceTest, U1_U2_ErrorsAreEnvelopes) {
  const char* unimplemented[] = {
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
  EXPECT_EQ(std::size(unimplemented), 32u);
  for (const char* m : unimplemented) {
    std::string body = Json{{"method", m}, {"params", {{{"dbg", "d"}}}}, {"id", 17}}.dump();
    EXPECT_EQ(service_->HandleRequest(body, ctx_),
              R"({"result":null,"error":["Unimplemented",")" + std::string(m) + R"("],"id":17})");
  }
  struct Case {
    std::string body, response;
  } cases[] = {
      {"not json", R"({"result":null,"error":["Internal_error","the request is not valid JSON"],"id":0})"},
      {"[1]", R"({"result":null,"error":["Internal_error","the request is not a JSON object"],"id":0})"},
      {R"({"params":[],"id":1})", R"({"result":null,"error":["Internal_error","the request has no string \"method\""],"id":1})"},
      {R"({"method":"SR.stat","params":[],"id":2})", R"({"result":null,"error":["Internal_error","SR.stat: \"params\" must be an array holding one object of named arguments"],"id":2})"},
      {R"({"method":"SR.stat","params":[{"dbg":"d"}],"id":3})", R"({"result":null,"error":["Internal_error","SR.stat: Expecting named argument 'sr'"],"id":3})"},
      {R"({"method":"SR.stat","params":[{"dbg":"d","sr":5}],"id":4})", R"({"result":null,"error":["Internal_error","SR.stat: argument 'sr' must be a string, got 5"],"id":4})"},
      {R"({"method":"No.such","params":[{"dbg":"d"}],"id":5})", R"({"result":null,"error":["Internal_error","Unknown method 'No.such'"],"id":5})"},
      {R"({"method":"SR.list","params":[{"dbg":"d"}],"id":"x"})", R"({"result":[],"error":null,"id":"x"})"},
  };
  for (const auto& c : cases) EXPECT_EQ(service_->HandleRequest(c.body, ctx_), c.response) << c.body;
  std::string huge = Json{{"method", "SR.stat"}, {"params", {{{"dbg", std::string(4 << 20, 'x')}}}},
                          {"id", 6}}.dump();
  EXPECT_EQ(service_->HandleRequest(huge, ctx_),
            R"({"result":null,"error":["Internal_error","SR.stat: Expecting named argument 'sr'"],"id":6})");
}

}  // namespace
}  // namespace storage

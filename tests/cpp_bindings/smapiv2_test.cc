// The generated SMAPIv2 bindings against spec smapiv2.md: record samples and defaults, the
// error variant (every constructor, the Unknown_error fallback, Redirect's option payload),
// composite result shapes, and the package server's JSON-RPC envelope.
#include <gtest/gtest.h>

#include "smapi/smapiv2.h"
#include "test_util.h"

namespace bindings_test {
namespace {

const std::map<std::string, RoundTrip>& Types() {
  static const std::map<std::string, RoundTrip> kTypes = {
      {"vdi_info", Through<smapiv2::vdi_info>()},
      {"sr_info", Through<smapiv2::sr_info>()},
      {"query_result", Through<smapiv2::query_result>()},
      {"probe", Through<smapiv2::probe>()},
      {"attach_info", Through<smapiv2::attach_info>()},
      {"backend", Through<smapiv2::backend>()},
      {"dp_stat", Through<smapiv2::dp_stat>()},
      {"mirror", Through<smapiv2::mirror>()},
      {"status", Through<smapiv2::status>()},
      {"sr_health", Through<smapiv2::sr_health>()},
      {"smapi_version", Through<smapiv2::smapi_version>()},
      {"implementation", Through<smapiv2::implementation>()},
      {"probe_result", Through<smapiv2::probe_result>()},
      {"mirror_state", Through<smapiv2::mirror_state>()},
      {"operation", Through<smapiv2::operation>()},
      {"async_result", Through<smapiv2::async_result>()},
      {"task_state", Through<smapiv2::task_state>()},
      {"dynamic_id", Through<smapiv2::dynamic_id>()},
      {"ro_rw", Through<smapiv2::ro_rw>()},
      {"vdi_state", Through<smapiv2::vdi_state>()},
      {"error", Through<smapiv2::error>()},
  };
  return kTypes;
}

struct Sample {
  const char* type;
  const char* json;
};

// smapiv2.md §2.2-§3.1: samples that carry every field, so they re-encode to themselves.
const Sample kSamples[] = {
    {"vdi_info", R"({"vdi":"8c1d…","uuid":"8c1d…","content_id":"","name_label":"disk0","name_description":"","ty":"user","metadata_of_pool":"","is_a_snapshot":false,"snapshot_time":"19700101T00:00:00Z","snapshot_of":"","read_only":false,"cbt_enabled":false,"virtual_size":10737418240,"physical_utilisation":2097152,"persistent":true,"sharable":false,"sm_config":{},"tags":[]})"},
    {"sr_info", R"({"sr_uuid":"5b0e…","name_label":"gfs2 sr","name_description":"","total_space":107374182400,"free_space":53687091200,"clustered":true,"health":"Healthy"})"},
    {"query_result", R"({"driver":"gfs2","name":"gfs2","description":"Clustered filesystem SR","vendor":"V","copyright":"C","version":"3.0","required_api_version":"5.0","features":["SR_ATTACH","VDI_CREATE","VDI_RESET_ON_BOOT/2"],"configuration":{"provider":"iscsi or hba"},"required_cluster_stack":["corosync"],"supported_image_formats":[],"smapi_version":"SMAPIv3"})"},
    {"probe", R"({"configuration":{"target":"10.0.0.5","sr_uuid":"5b0e…"},"complete":true,"sr":{"sr_uuid":"5b0e…","name_label":"x","name_description":"","total_space":1,"free_space":1,"clustered":false,"health":"Healthy"},"extra_info":{}})"},
    {"attach_info", R"({"params":"/dev/sm/backend/5b0e…/8c1d…","o_direct":true,"o_direct_reason":"","xenstore_data":{}})"},
    {"backend", R"({"implementations":[["XenDisk",{"params":"/dev/sm/backend/5b0e…/8c1d…","extra":{},"backend_type":"vbd3"}],["BlockDevice",{"path":"/dev/sm/backend/5b0e…/8c1d…"}],["Nbd",{"uri":"nbd:unix:/run/blktap-control/nbd1.0:exportname=8c1d…"}]]})"},
    {"dp_stat", R"({"superstate":["Activated","RW"],"dps":{"vbd/5/xvda":["Activated","RW"],"vbd/0/xvdb":["Attached","RO"]}})"},
    {"mirror", R"({"source_vdi":"8c1d…","dest_vdi":"a77f…","state":["Sending","Copying"],"failed":false})"},
    {"status", R"({"failed":false,"complete":false,"progress":0.42})"},
    {"sr_health", R"("Healthy")"},
    {"sr_health", R"("Unreachable")"},
    {"smapi_version", R"("SMAPIv3")"},
    {"implementation", R"(["File",{"path":"/var/run/sr-mount/x/8c1d.raw"}])"},
    {"probe_result", R"(["Probe",[{"configuration":{"path":"/srv"},"complete":false,"extra_info":{}}]])"},
    {"probe_result", R"(["Raw","<SRlist/>"])"},
    {"mirror_state", R"("Copying")"},
    {"operation", R"(["MirrorV1","op-7"])"},
    {"async_result", R"(["Mirror_id","m1"])"},
    {"task_state", R"(["Pending",0.5])"},
    {"task_state", R"(["Failed",["Backend_error",["SR_BACKEND_FAILURE",["","boom",""]]]])"},
    {"task_state", R"("Failed")"},
    {"dynamic_id", R"(["Task","12"])"},
    {"dynamic_id", R"(["Dp","vbd/5/xvda"])"},
    {"ro_rw", R"("RW")"},
    {"vdi_state", R"("Detached")"},
    {"vdi_state", R"(["Attached","RO"])"},
    // §3.1: every constructor of `error`.
    {"error", R"(["Backend_error_with_backtrace",["SR_BACKEND_FAILURE_46",["{\"error\":\"E\",\"files\":[\"vol.py\"],\"lines\":[12]}","The VDI is not available"]]])"},
    {"error", R"(["Sr_not_attached","5b0e…"])"},
    {"error", R"(["Vdi_does_not_exist","8c1d…"])"},
    {"error", R"(["Illegal_transition",[["Attached","RO"],["Activated","RW"]]])"},
    {"error", R"(["Backend_error",["SCRIPT_MISSING",["/…/SR.attach","Check whether the file exists and has correct permissions"]]])"},
    {"error", R"(["Does_not_exist",["mirror","m1"]])"},
    {"error", R"(["Cancelled","12"])"},
    {"error", R"(["Redirect",["192.0.2.10"]])"},
    {"error", R"(["Redirect",[]])"},
    {"error", R"(["Sr_attached","5b0e…"])"},
    {"error", R"(["Sr_unhealthy",["5b0e…","Unreachable"]])"},
    {"error", R"(["Unimplemented","VDI_MIRROR_IN"])"},
    {"error", R"(["Activated_on_another_host","2d1c…"])"},
    {"error", R"(["Duplicated_key","k"])"},
    {"error", R"(["No_storage_plugin_for_sr","5b0e…"])"},
    {"error", R"(["Content_ids_do_not_match",["v1","v2"]])"},
    {"error", R"(["Missing_configuration_parameter","target"])"},
    {"error", R"(["Migration_preparation_failure","x"])"},
    {"error", R"(["Migration_mirror_fd_failure","x"])"},
    {"error", R"(["Migration_mirror_snapshot_failure","x"])"},
    {"error", R"(["Migration_mirror_copy_failure","x"])"},
    {"error", R"(["Migration_mirror_failure","x"])"},
    {"error", R"j(["Internal_error","Failure(\"boom\")"])j"},
    {"error", R"("Unknown_error")"},
};

TEST(Smapiv2SamplesTest, EverySampleDecodesAndReencodesToTheSameValue) {
  for (const Sample& s : kSamples) {
    SCOPED_TRACE(std::string(s.type) + " " + s.json);
    Json in = rpc::ParseJson(s.json);
    EXPECT_EQ(Types().at(s.type)(in), in);
  }
}

TEST(Smapiv2SamplesTest, VdiInfoDefaultsApplyWhenAbsentOrIllTyped) {
  auto v = rpc::Decode<smapiv2::vdi_info>(rpc::ParseJson(R"({"vdi":"k1","name_label":"x"})"));
  EXPECT_EQ(v.vdi, "k1");
  EXPECT_EQ(v.uuid, std::nullopt);
  EXPECT_EQ(v.ty, "user");
  EXPECT_EQ(v.snapshot_time, "19700101T00:00:00Z");
  EXPECT_TRUE(v.persistent);
  EXPECT_FALSE(v.sharable);
  EXPECT_EQ(v.virtual_size, 0);
  EXPECT_EQ(rpc::Serialize(rpc::Encode(v)),
            R"({"cbt_enabled":false,"content_id":"","is_a_snapshot":false,"metadata_of_pool":"","name_description":"","name_label":"x","persistent":true,"physical_utilisation":0,"read_only":false,"sharable":false,"sm_config":{},"snapshot_of":"","snapshot_time":"19700101T00:00:00Z","tags":[],"ty":"user","vdi":"k1","virtual_size":0})");
  // A default-constructed vdi_info already holds the defaults.
  smapiv2::vdi_info fresh;
  fresh.vdi = "k1";
  fresh.name_label = "x";
  EXPECT_EQ(fresh, v);
  auto ill = rpc::Decode<smapiv2::vdi_info>(
      rpc::ParseJson(R"({"vdi":"k1","name_label":"x","persistent":"yes","virtual_size":1.5,"tags":{}})"));
  EXPECT_TRUE(ill.persistent);
  EXPECT_EQ(ill.virtual_size, 0);
  EXPECT_TRUE(ill.tags.empty());
  EXPECT_EQ(Outcome(Types().at("vdi_info"), R"({"vdi":"k1"})"),
            "error: No value found for key: 'name_label' when unmarshalling 'vdi_info'");
}

TEST(Smapiv2SamplesTest, UnknownErrorTagsFallBackToUnknownError) {
  EXPECT_EQ(Outcome(Types().at("error"), R"("Whatever")"), R"("Unknown_error")");
  EXPECT_EQ(Outcome(Types().at("error"), R"(["Whatever",[1,2]])"), R"("Unknown_error")");
  EXPECT_EQ(Outcome(Types().at("error"), R"(["sr_not_attached","s"])"), R"(["Sr_not_attached","s"])");
  // A known tag with the wrong payload, or a shape that is no variant at all, still fails.
  EXPECT_EQ(Outcome(Types().at("error"), R"(["Sr_unhealthy","s"])"), "error: Expected tuple, got 'S(s)'");
  EXPECT_EQ(Outcome(Types().at("error"), R"({"code":1})"),
            R"(error: Expected "Tag" or ["Tag", payload], got '{code: I(1)}')");
  // Other variants have no fallback.
  EXPECT_EQ(Outcome(Types().at("sr_health"), R"("Sick")"), "error: Unknown tag 'Sick'");
  auto redirect = rpc::Decode<smapiv2::error>(rpc::ParseJson(R"(["Redirect",["192.0.2.10"]])"));
  EXPECT_EQ(std::get<smapiv2::error::Redirect>(redirect.value).value, "192.0.2.10");
}

TEST(Smapiv2ShapesTest, CompositeResultsAndOptionalArguments) {
  std::vector<std::string> sent;
  std::string reply;
  auto transport = rpc::MakeTransport([&](const std::string& request) {
    sent.push_back(request);
    return reply;
  });
  reply = R"({"result":[[{"vdi":"8c1d…","name_label":"disk0"}],{"name_label":"sr","name_description":"","total_space":1,"free_space":1,"clustered":false,"health":"Healthy"}],"error":null,"id":45})";
  auto [vdis, sr] = smapiv2::SRClient(transport).scan2("x", "5b0e…");
  ASSERT_EQ(vdis.size(), 1u);
  EXPECT_EQ(vdis[0].name_label, "disk0");
  EXPECT_EQ(sr.total_space, 1);
  EXPECT_TRUE(std::holds_alternative<smapiv2::sr_health::Healthy>(sr.health.value));

  reply = R"({"result":[[["Task","12"],["Mirror","m1"]],"57"],"error":null,"id":2})";
  smapiv2::UPDATESClient updates(transport);
  auto [ids, token] = updates.get("x", "", 30);
  EXPECT_EQ(ids.size(), 2u);
  EXPECT_EQ(token, "57");
  EXPECT_EQ(rpc::ParseJson(sent.back())["params"][0], rpc::ParseJson(R"({"dbg":"x","from":"","timeout":30})"));
  updates.get("x", "", std::nullopt);
  EXPECT_EQ(rpc::ParseJson(sent.back())["params"][0], rpc::ParseJson(R"({"dbg":"x","from":""})"));

  reply = R"({"result":"diag","error":null,"id":4})";
  EXPECT_EQ(smapiv2::DPClient(transport).diagnostics(), "diag");
  EXPECT_EQ(rpc::ParseJson(sent.back())["params"][0], rpc::ParseJson(R"({"unit":null})"));

  reply = R"({"result":{"m1":{"source_vdi":"a","dest_vdi":"b","state":["Receiving"],"failed":false}},"error":null,"id":5})";
  auto mirrors = smapiv2::DATA_MIRRORClient(transport).list("x");
  EXPECT_EQ(mirrors.at("m1").dest_vdi, "b");

  reply = R"({"result":null,"error":["Sr_unhealthy",["5b0e…","Unreachable"]],"id":6})";
  try {
    smapiv2::SRClient(transport).detach("x", "5b0e…");
    FAIL() << "no exception";
  } catch (const smapiv2::error_exception& e) {
    const auto& unhealthy = std::get<smapiv2::error::Sr_unhealthy>(e.error().value);
    EXPECT_EQ(unhealthy.arg0, "5b0e…");
    EXPECT_EQ(unhealthy.arg1.Tag(), "Unreachable");
  }
}

// A small SR implementation: detach fails with a typed error, scan2 answers, the rest default.
class TestSr : public smapiv2::SRHandler {
 public:
  void detach(const smapiv2::debug_info&, const smapiv2::sr& sr) override {
    throw smapiv2::error_exception(smapiv2::error{smapiv2::error::Sr_not_attached{sr}});
  }
  void reset(const smapiv2::debug_info&, const smapiv2::sr&) override {
    throw std::runtime_error("disk on fire");
  }
  std::tuple<std::vector<smapiv2::vdi_info>, smapiv2::sr_info> scan2(
      const smapiv2::debug_info& dbg, const smapiv2::sr&) override {
    smapiv2::sr_info info{};
    info.name_label = dbg;
    info.health.value = smapiv2::sr_health::Healthy{};
    return {std::vector<smapiv2::vdi_info>{}, info};
  }
};

std::string Serve(const std::string& request) {
  TestSr sr;
  smapiv2::Handlers handlers;
  handlers.SR = &sr;
  return smapiv2::HandleRequestText(handlers, request);
}

TEST(Smapiv2ServerTest, AnswersInTheJsonRpcEnvelope) {
  struct Case {
    const char* what;
    const char* request;
    const char* response;
  };
  const Case cases[] = {
      {"success", R"({"method":"SR.scan2","params":[{"dbg":"x","sr":"s","extra":1}],"id":45})",
       R"({"error":null,"id":45,"result":[[],{"clustered":false,"free_space":0,"health":"Healthy","name_description":"","name_label":"x","total_space":0}]})"},
      {"typed error", R"({"method":"SR.detach","params":[{"dbg":"x","sr":"s"}],"id":"a"})",
       R"({"error":["Sr_not_attached","s"],"id":"a","result":null})"},
      {"missing argument", R"({"method":"SR.detach","params":[{"dbg":"x"}],"id":3})",
       R"({"error":["Internal_error","Expecting named argument 'sr'"],"id":3,"result":null})"},
      {"ill-typed argument", R"({"method":"SR.detach","params":[{"dbg":"x","sr":1}],"id":3})",
       R"({"error":["Internal_error","Expected string, got 'I(1)'"],"id":3,"result":null})"},
      {"unimplemented method", R"({"method":"SR.stat","params":[{"dbg":"x","sr":"s"}],"id":4})",
       R"({"error":["Unimplemented","SR.stat"],"id":4,"result":null})"},
      {"method of an interface without handler",
       R"({"method":"VDI.attach3","params":[{"dbg":"x"}],"id":5})",
       R"({"error":["Unimplemented","VDI.attach3"],"id":5,"result":null})"},
      {"unknown method", R"({"method":"SR.frobnicate","params":[{}],"id":6})",
       R"({"error":["Unimplemented","SR.frobnicate"],"id":6,"result":null})"},
      {"handler failure", R"({"method":"SR.reset","params":[{"dbg":"x","sr":"s"}],"id":7})",
       R"({"error":["Internal_error","disk on fire"],"id":7,"result":null})"},
      {"params not an object", R"({"method":"SR.reset","params":["x"],"id":8})",
       R"({"error":["Internal_error","request 'params' must be an array holding one object of named arguments"],"id":8,"result":null})"},
      {"not JSON", "{", nullptr},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    std::string response = Serve(c.request);
    if (c.response != nullptr) {
      EXPECT_EQ(rpc::ParseJson(response), rpc::ParseJson(c.response)) << response;
    } else {
      Json j = rpc::ParseJson(response);
      EXPECT_EQ(j["error"][0], "Internal_error");
      EXPECT_EQ(j["id"], 0);
    }
    // Whatever the request, the answer is a v1 response the reference client can read.
    EXPECT_NO_THROW(rpc::ParseResponse(rpc::ParseJson(response)));
  }
}

TEST(Smapiv2ServerTest, MetadataDescribesEveryMethod) {
  EXPECT_EQ(smapiv2::Methods().size(), 81u);
  const rpc::MethodInfo* m = rpc::FindMethod(smapiv2::Methods(), "UPDATES.get");
  ASSERT_NE(m, nullptr);
  ASSERT_EQ(m->arguments.size(), 3u);
  EXPECT_EQ(m->arguments[2].name, "timeout");
  EXPECT_TRUE(m->arguments[2].optional);
  const rpc::MethodInfo* lcb = rpc::FindMethod(smapiv2::Methods(), "VDI.list_changed_blocks");
  ASSERT_NE(lcb, nullptr);
  EXPECT_EQ(lcb->arguments.back().name, "vdi_tp");
  EXPECT_EQ(lcb->arguments[0].resolved_type, "string");
  EXPECT_NE(rpc::FindMethod(smapiv2::Methods(), "get_by_name"), nullptr);
}

}  // namespace
}  // namespace bindings_test

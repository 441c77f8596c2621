// The generated SMAPIv3 bindings against the reference figures of spec idl.md §3:
// every marshalled sample of §3.2, all 49 calls of §3.4, every row of the §3.3 decoding table.
#include <gtest/gtest.h>

#include "smapi/smapiv3.h"
#include "test_util.h"

namespace bindings_test {
namespace {

const std::map<std::string, RoundTrip>& Types() {
  static const std::map<std::string, RoundTrip> kTypes = {
      {"volume", Through<smapiv3::volume>()},
      {"sr_stat", Through<smapiv3::sr_stat>()},
      {"probe_result", Through<smapiv3::probe_result>()},
      {"changed_blocks", Through<smapiv3::changed_blocks>()},
      {"blocklist", Through<smapiv3::blocklist>()},
      {"query_result", Through<smapiv3::query_result>()},
      {"backend", Through<smapiv3::backend>()},
      {"operation", Through<smapiv3::operation>()},
      {"operations", Through<smapiv3::operations>()},
      {"status", Through<smapiv3::status>()},
      {"task", Through<smapiv3::task>()},
      {"volume_type", Through<smapiv3::volume_type>()},
      {"health", Through<smapiv3::health>()},
      {"exns", Through<smapiv3::exns>()},
      {"configuration", Through<smapiv3::configuration>()},
      {"int64", Through<int64_t>()},
      {"int", Through<int64_t>()},
      {"float", Through<double>()},
      {"bool", Through<bool>()},
      {"string", Through<std::string>()},
      {"unit", Through<rpc::Unit>()},
      {"ranges", Through<std::vector<std::tuple<int64_t, int64_t>>>()},
      {"key_list", Through<smapiv3::key_list>()},
  };
  return kTypes;
}

struct Sample {
  const char* type;
  const char* json;
};

// idl.md §3.2, exact bytes.
const Sample kSamples[] = {
    {"volume", R"({"cbt_enabled":true,"volume_type":"CBT_Metadata","keys":{"a":"b"},"uri":["raw+file:///x"],"physical_utilisation":0,"virtual_size":1073741824,"sharable":false,"read_write":true,"description":"d","name":"n","uuid":"u1","key":"k1"})"},
    {"volume", R"({"keys":{"a":"b"},"uri":["raw+file:///x"],"physical_utilisation":0,"virtual_size":1073741824,"sharable":false,"read_write":true,"description":"d","name":"n","key":"k1"})"},
    {"sr_stat", R"({"health":["Healthy",""],"clustered":false,"datasources":["xeno+shm:///d1"],"total_space":2,"free_space":1,"description":"d","name":"n","sr":"file:///s"})"},
    {"probe_result", R"({"extra_info":{},"complete":true,"configuration":{"a":"b"}})"},
    {"probe_result", R"({"extra_info":{"lun":"1"},"sr":{"health":["Healthy",""],"clustered":false,"datasources":["xeno+shm:///d1"],"total_space":2,"free_space":1,"description":"d","uuid":"u","name":"n","sr":"file:///s"},"complete":true,"configuration":{"a":"b"}})"},
    {"changed_blocks", R"({"bitmap":"AAE=","granularity":65536})"},
    {"blocklist", R"({"ranges":[[0,1],[5,10]],"blocksize":512})"},
    {"query_result", R"({"required_cluster_stack":[],"configuration":{"path":"Folder"},"features":["SR_ATTACH"],"required_api_version":"5.0","version":"1","copyright":"c","vendor":"v","description":"d","name":"n","plugin":"p"})"},
    {"backend", R"({"implementations":[["XenDisk",{"backend_type":"vbd","extra":{},"params":"/dev/loop0"}],["BlockDevice",{"path":"/dev/loop0"}],["File",{"path":"/x.raw"}],["Nbd",{"uri":"nbd:unix:/s:exportname=e"}]]})"},
    {"operation", R"(["CopyV1","k"])"},
    {"operations", R"([["CopyV1","k"],["MirrorV1","m"]])"},
    {"status", R"({"progress":0.5,"complete":false,"failed":false})"},
    {"status", R"({"complete":true,"failed":true})"},
    {"task", R"({"state":["Pending",0.25],"ctime":1.5,"debug_info":"dbg","id":"t"})"},
    {"task", R"({"state":["Completed",{"duration":2.0}],"ctime":1.5,"debug_info":"dbg","id":"t"})"},
    {"task", R"({"state":["Completed",{"result":"UnitResult","duration":2.0}],"ctime":1.5,"debug_info":"dbg","id":"t"})"},
    {"task", R"({"state":["Completed",{"result":["Volume",{"cbt_enabled":true,"volume_type":"CBT_Metadata","keys":{"a":"b"},"uri":["raw+file:///x"],"physical_utilisation":0,"virtual_size":1073741824,"sharable":false,"read_write":true,"description":"d","name":"n","uuid":"u1","key":"k1"}],"duration":1.0}],"ctime":1.5,"debug_info":"dbg","id":"t"})"},
    {"task", R"({"state":["Failed","err"],"ctime":1.5,"debug_info":"dbg","id":"t"})"},
    {"volume_type", R"("Data")"},
    {"volume_type", R"("CBT_Metadata")"},
    {"volume_type", R"("Data_and_CBT_Metadata")"},
    {"health", R"(["Healthy",""])"},
    {"health", R"(["Recovering","r"])"},
    {"health", R"(["Unreachable","x"])"},
    {"health", R"(["Unavailable","y"])"},
    {"exns", R"(["Sr_not_attached","a"])"},
    {"exns", R"(["SR_does_not_exist","b"])"},
    {"exns", R"(["Volume_does_not_exist","c"])"},
    {"exns", R"(["Unimplemented","d"])"},
    {"exns", R"(["Cancelled","e"])"},
    {"exns", R"(["Activated_on_another_host","f"])"},
};

TEST(Smapiv3SamplesTest, EverySampleDecodesAndReencodesToTheSameValue) {
  for (const Sample& s : kSamples) {
    SCOPED_TRACE(std::string(s.type) + " " + s.json);
    Json in = rpc::ParseJson(s.json);
    EXPECT_EQ(Types().at(s.type)(in), in);
  }
}

TEST(Smapiv3SamplesTest, DecodedValuesHoldTheFields) {
  auto v = rpc::Decode<smapiv3::volume>(rpc::ParseJson(kSamples[0].json));
  EXPECT_EQ(v.key, "k1");
  EXPECT_EQ(v.uuid, "u1");
  EXPECT_EQ(v.virtual_size, 1073741824);
  ASSERT_TRUE(v.volume_type.has_value());
  EXPECT_TRUE(std::holds_alternative<smapiv3::volume_type::CBT_Metadata>(v.volume_type->value));
  EXPECT_EQ(v.volume_type->Tag(), "CBT_Metadata");
  EXPECT_EQ(v.cbt_enabled, true);
  auto t = rpc::Decode<smapiv3::task>(rpc::ParseJson(kSamples[16].json));
  const auto& completed = std::get<smapiv3::state::Completed>(t.state.value);
  ASSERT_TRUE(completed.value.result.has_value());
  EXPECT_EQ(std::get<smapiv3::async_result_t::Volume>(completed.value.result->value).value, v);
}

TEST(Smapiv3SamplesTest, FloatsPrintWithAPointOrAnExponent) {
  smapiv3::status s{};
  s.progress = 1.0;
  EXPECT_EQ(rpc::Serialize(rpc::Encode(s)), R"({"complete":false,"failed":false,"progress":1.0})");
  s.progress = 1e20;
  EXPECT_EQ(rpc::Serialize(rpc::Encode(s)), R"({"complete":false,"failed":false,"progress":1e+20})");
}

// idl.md §3.4: every call as the reference client emits it.
const char* const kCalls[] = {
    R"({"method":"Plugin.query","params":[{"dbg":"dbg"}],"id":1})",
    R"({"method":"Plugin.ls","params":[{"dbg":"dbg"}],"id":2})",
    R"({"method":"Plugin.diagnostics","params":[{"dbg":"dbg"}],"id":3})",
    R"({"method":"SR.probe","params":[{"configuration":{"k":"v"},"dbg":"dbg"}],"id":4})",
    R"({"method":"SR.create","params":[{"description":"desc","name":"name","configuration":{"path":"/x"},"uuid":"uuid1","dbg":"dbg"}],"id":5})",
    R"({"method":"SR.attach","params":[{"configuration":{"path":"/x"},"dbg":"dbg"}],"id":6})",
    R"({"method":"SR.detach","params":[{"sr":"sr1","dbg":"dbg"}],"id":7})",
    R"({"method":"SR.destroy","params":[{"sr":"sr1","dbg":"dbg"}],"id":8})",
    R"({"method":"SR.stat","params":[{"sr":"sr1","dbg":"dbg"}],"id":9})",
    R"({"method":"SR.set_name","params":[{"new_name":"nn","sr":"sr1","dbg":"dbg"}],"id":10})",
    R"({"method":"SR.set_description","params":[{"new_description":"nd","sr":"sr1","dbg":"dbg"}],"id":11})",
    R"({"method":"SR.ls","params":[{"sr":"sr1","dbg":"dbg"}],"id":12})",
    R"({"method":"Volume.create","params":[{"sharable":true,"size":1073741824,"description":"desc","name":"name","sr":"sr1","dbg":"dbg"}],"id":13})",
    R"({"method":"Volume.snapshot","params":[{"key":"k1","sr":"sr1","dbg":"dbg"}],"id":14})",
    R"({"method":"Volume.clone","params":[{"key":"k1","sr":"sr1","dbg":"dbg"}],"id":15})",
    R"({"method":"Volume.copy","params":[{"dest_sr":"sr2","key":"k1","sr":"sr1","dbg":"dbg"}],"id":16})",
    R"({"method":"Volume.destroy","params":[{"key":"k1","sr":"sr1","dbg":"dbg"}],"id":17})",
    R"({"method":"Volume.revert","params":[{"key":"k1","snapshot":"snap1","sr":"sr1","dbg":"dbg"}],"id":18})",
    R"({"method":"Volume.set_name","params":[{"new_name":"nn","key":"k1","sr":"sr1","dbg":"dbg"}],"id":19})",
    R"({"method":"Volume.set_description","params":[{"new_description":"nd","key":"k1","sr":"sr1","dbg":"dbg"}],"id":20})",
    R"({"method":"Volume.set","params":[{"v":"vv","k":"kk","key":"k1","sr":"sr1","dbg":"dbg"}],"id":21})",
    R"({"method":"Volume.unset","params":[{"k":"kk","key":"k1","sr":"sr1","dbg":"dbg"}],"id":22})",
    R"({"method":"Volume.resize","params":[{"new_size":2147483648,"key":"k1","sr":"sr1","dbg":"dbg"}],"id":23})",
    R"({"method":"Volume.stat","params":[{"key":"k1","sr":"sr1","dbg":"dbg"}],"id":24})",
    R"({"method":"Volume.compare","params":[{"key2":"k2","key":"k1","sr":"sr1","dbg":"dbg"}],"id":25})",
    R"({"method":"Volume.similar_content","params":[{"key":"k1","sr":"sr1","dbg":"dbg"}],"id":26})",
    R"({"method":"Volume.enable_cbt","params":[{"key":"k1","sr":"sr1","dbg":"dbg"}],"id":27})",
    R"({"method":"Volume.disable_cbt","params":[{"key":"k1","sr":"sr1","dbg":"dbg"}],"id":28})",
    R"({"method":"Volume.data_destroy","params":[{"key":"k1","sr":"sr1","dbg":"dbg"}],"id":29})",
    R"({"method":"Volume.list_changed_blocks","params":[{"length":-1,"offset":0,"key2":"k2","key":"k1","sr":"sr1","dbg":"dbg"}],"id":30})",
    R"({"method":"Volume.compose","params":[{"key2":"k2","key":"k1","sr":"sr1","dbg":"dbg"}],"id":31})",
    R"({"method":"Datapath.open","params":[{"persistent":true,"uri":"uri1","dbg":"dbg"}],"id":32})",
    R"({"method":"Datapath.attach","params":[{"domain":"5","uri":"uri1","dbg":"dbg"}],"id":33})",
    R"({"method":"Datapath.activate","params":[{"domain":"5","uri":"uri1","dbg":"dbg"}],"id":34})",
    R"({"method":"Datapath.activate_readonly","params":[{"domain":"5","uri":"uri1","dbg":"dbg"}],"id":35})",
    R"({"method":"Datapath.import_activate","params":[{"domain":"0","uri":"uri1","dbg":"dbg"}],"id":36})",
    R"({"method":"Datapath.deactivate","params":[{"domain":"5","uri":"uri1","dbg":"dbg"}],"id":37})",
    R"({"method":"Datapath.detach","params":[{"domain":"5","uri":"uri1","dbg":"dbg"}],"id":38})",
    R"({"method":"Datapath.close","params":[{"uri":"uri1","dbg":"dbg"}],"id":39})",
    R"({"method":"Data.copy","params":[{"blocklist":{"ranges":[[0,16],[32,8]],"blocksize":65536},"remote":"nbd://h/e","domain":"0","uri":"uri1","dbg":"dbg"}],"id":40})",
    R"({"method":"Data.mirror","params":[{"remote":"nbd://h/e","domain":"0","uri":"uri1","dbg":"dbg"}],"id":41})",
    R"({"method":"Data.stat","params":[{"operation":["CopyV1","op1"],"dbg":"dbg"}],"id":42})",
    R"({"method":"Data.cancel","params":[{"operation":["MirrorV1","op2"],"dbg":"dbg"}],"id":43})",
    R"({"method":"Data.destroy","params":[{"operation":["CopyV1","op1"],"dbg":"dbg"}],"id":44})",
    R"({"method":"Data.ls","params":[{"dbg":"dbg"}],"id":45})",
    R"({"method":"Task.stat","params":[{"id":"task1","dbg":"dbg"}],"id":46})",
    R"({"method":"Task.cancel","params":[{"id":"task1","dbg":"dbg"}],"id":47})",
    R"({"method":"Task.destroy","params":[{"id":"task1","dbg":"dbg"}],"id":48})",
    R"({"method":"Task.ls","params":[{"dbg":"dbg"}],"id":49})",
};

TEST(Smapiv3CallsTest, ClientStubsProduceAllFortyNineReferenceCalls) {
  std::vector<std::string> sent;
  rpc::Transport transport = CapturingTransport(sent);
  smapiv3::PluginClient plugin(transport);
  smapiv3::SRClient sr(transport);
  smapiv3::VolumeClient volume(transport);
  smapiv3::DatapathClient datapath(transport);
  smapiv3::DataClient data(transport);
  smapiv3::TaskClient task(transport);
  const smapiv3::configuration path{{"path", "/x"}};
  const smapiv3::operation op1{smapiv3::operation::CopyV1{"op1"}};
  const smapiv3::operation op2{smapiv3::operation::MirrorV1{"op2"}};
  const smapiv3::blocklist blocks{65536, {{0, 16}, {32, 8}}};
  const std::function<void()> calls[] = {
      [&] { plugin.query("dbg"); },
      [&] { plugin.ls("dbg"); },
      [&] { plugin.diagnostics("dbg"); },
      [&] { sr.probe("dbg", {{"k", "v"}}); },
      [&] { sr.create("dbg", "uuid1", path, "name", "desc"); },
      [&] { sr.attach("dbg", path); },
      [&] { sr.detach("dbg", "sr1"); },
      [&] { sr.destroy("dbg", "sr1"); },
      [&] { sr.stat("dbg", "sr1"); },
      [&] { sr.set_name("dbg", "sr1", "nn"); },
      [&] { sr.set_description("dbg", "sr1", "nd"); },
      [&] { sr.ls("dbg", "sr1"); },
      [&] { volume.create("dbg", "sr1", "name", "desc", 1073741824, true); },
      [&] { volume.snapshot("dbg", "sr1", "k1"); },
      [&] { volume.clone("dbg", "sr1", "k1"); },
      [&] { volume.copy("dbg", "sr1", "k1", "sr2"); },
      [&] { volume.destroy("dbg", "sr1", "k1"); },
      [&] { volume.revert("dbg", "sr1", "snap1", "k1"); },
      [&] { volume.set_name("dbg", "sr1", "k1", "nn"); },
      [&] { volume.set_description("dbg", "sr1", "k1", "nd"); },
      [&] { volume.set("dbg", "sr1", "k1", "kk", "vv"); },
      [&] { volume.unset("dbg", "sr1", "k1", "kk"); },
      [&] { volume.resize("dbg", "sr1", "k1", 2147483648); },
      [&] { volume.stat("dbg", "sr1", "k1"); },
      [&] { volume.compare("dbg", "sr1", "k1", "k2"); },
      [&] { volume.similar_content("dbg", "sr1", "k1"); },
      [&] { volume.enable_cbt("dbg", "sr1", "k1"); },
      [&] { volume.disable_cbt("dbg", "sr1", "k1"); },
      [&] { volume.data_destroy("dbg", "sr1", "k1"); },
      [&] { volume.list_changed_blocks("dbg", "sr1", "k1", "k2", 0, -1); },
      [&] { volume.compose("dbg", "sr1", "k1", "k2"); },
      [&] { datapath.open("dbg", "uri1", true); },
      [&] { datapath.attach("dbg", "uri1", "5"); },
      [&] { datapath.activate("dbg", "uri1", "5"); },
      [&] { datapath.activate_readonly("dbg", "uri1", "5"); },
      [&] { datapath.import_activate("dbg", "uri1", "0"); },
      [&] { datapath.deactivate("dbg", "uri1", "5"); },
      [&] { datapath.detach("dbg", "uri1", "5"); },
      [&] { datapath.close("dbg", "uri1"); },
      [&] { data.copy("dbg", "uri1", "0", "nbd://h/e", blocks); },
      [&] { data.mirror("dbg", "uri1", "0", "nbd://h/e"); },
      [&] { data.stat("dbg", op1); },
      [&] { data.cancel("dbg", op2); },
      [&] { data.destroy("dbg", op1); },
      [&] { data.ls("dbg"); },
      [&] { task.stat("dbg", "task1"); },
      [&] { task.cancel("dbg", "task1"); },
      [&] { task.destroy("dbg", "task1"); },
      [&] { task.ls("dbg"); },
  };
  for (const auto& call : calls) EXPECT_THROW(call(), Captured);
  ASSERT_EQ(sent.size(), std::size(kCalls));
  for (size_t i = 0; i < sent.size(); ++i) {
    EXPECT_EQ(rpc::ParseJson(sent[i]), rpc::ParseJson(kCalls[i])) << sent[i];
  }
  EXPECT_EQ(smapiv3::Methods().size(), 49u);
}

struct Rule {
  const char* what;      // the row of the table
  const char* type;
  const char* input;
  const char* expected;  // re-encoded JSON, or "error: <text>"
};

// idl.md §3.3, one entry per row (several for rows with several examples).
const Rule kRules[] = {
    {"keys match case-insensitively", "volume",
     R"({"KEY":"k","Name":"n","DESCRIPTION":"d","read_WRITE":true,"sharable":false,"virtual_size":1,"physical_utilisation":0,"uri":[],"keys":{}})",
     R"({"description":"d","key":"k","keys":{},"name":"n","physical_utilisation":0,"read_write":true,"sharable":false,"uri":[],"virtual_size":1})"},
    {"unknown members are ignored", "query_result",
     R"({"plugin":"p","name":"n","description":"d","vendor":"v","copyright":"c","version":"1","required_api_version":"5.0","features":[],"configuration":{},"required_cluster_stack":[],"supported_image_formats":["raw"],"foo":1})",
     R"({"configuration":{},"copyright":"c","description":"d","features":[],"name":"n","plugin":"p","required_api_version":"5.0","required_cluster_stack":[],"vendor":"v","version":"1"})"},
    {"missing required field", "volume", R"({"key":"k"})",
     "error: No value found for key: 'name' when unmarshalling 'volume'"},
    {"missing optional field with a default stays absent", "volume",
     R"({"key":"k","name":"n","description":"d","read_write":true,"sharable":false,"virtual_size":1,"physical_utilisation":0,"uri":[],"keys":{}})",
     R"({"description":"d","key":"k","keys":{},"name":"n","physical_utilisation":0,"read_write":true,"sharable":false,"uri":[],"virtual_size":1})"},
    {"null optional field without default", "volume",
     R"({"key":"k","uuid":null,"name":"n","description":"d","read_write":true,"sharable":false,"virtual_size":1,"physical_utilisation":0,"uri":[],"keys":{}})",
     "error: Expected string, got 'N'"},
    {"null optional field with default", "volume",
     R"({"key":"k","name":"n","description":"d","read_write":true,"sharable":false,"virtual_size":1,"physical_utilisation":0,"uri":[],"keys":{},"volume_type":null,"cbt_enabled":null})",
     R"({"cbt_enabled":false,"description":"d","key":"k","keys":{},"name":"n","physical_utilisation":0,"read_write":true,"sharable":false,"uri":[],"virtual_size":1,"volume_type":"Data"})"},
    {"malformed optional fields with defaults", "volume",
     R"({"key":"k","name":"n","description":"d","read_write":true,"sharable":false,"virtual_size":1,"physical_utilisation":0,"uri":[],"keys":{},"volume_type":"Bogus","cbt_enabled":"true"})",
     R"({"cbt_enabled":false,"description":"d","key":"k","keys":{},"name":"n","physical_utilisation":0,"read_write":true,"sharable":false,"uri":[],"virtual_size":1,"volume_type":"Data"})"},
    {"one-element tag list falls back to the default", "volume",
     R"({"key":"k","name":"n","description":"d","read_write":true,"sharable":false,"virtual_size":1,"physical_utilisation":0,"uri":[],"keys":{},"volume_type":["CBT_Metadata"]})",
     R"({"description":"d","key":"k","keys":{},"name":"n","physical_utilisation":0,"read_write":true,"sharable":false,"uri":[],"virtual_size":1,"volume_type":"Data"})"},
    {"null for a non-option record", "probe_result",
     R"({"configuration":{},"complete":true,"sr":null,"extra_info":{}})",
     "error: Expecting Rpc.Dict when unmarshalling a 'sr_stat'"},
    {"variant tag case-insensitive (payload)", "health", R"(["healthy","x"])", R"(["Healthy","x"])"},
    {"variant tag case-insensitive (nullary)", "volume_type", R"("data_and_cbt_metadata")",
     R"("Data_and_CBT_Metadata")"},
    {"one-element variant list", "health", R"(["Healthy"])",
     R"(error: Expected "Tag" or ["Tag", payload], got '[S(Healthy)]')"},
    {"three-element variant list", "health", R"(["Healthy","a","b"])",
     R"(error: Expected "Tag" or ["Tag", payload], got '[S(Healthy), S(a), S(b)]')"},
    {"nullary tag with a null payload", "volume_type", R"(["CBT_Metadata",null])", R"("CBT_Metadata")"},
    {"string payload sent bare (health)", "health", R"("Healthy")", "error: Expected string, got 'N'"},
    {"string payload sent bare (operation)", "operation", R"("CopyV1")", "error: Expected string, got 'N'"},
    {"unknown tag", "health", R"(["Broken","x"])", "error: Unknown tag 'Broken'"},
    {"int from integer", "int64", "123", "123"},
    {"int from integer string", "int64", R"("123")", "123"},
    {"int from float", "int64", "1.0", "error: Expected int64, got 'F(1.0)'"},
    {"int from exponent", "int", "1e3", "error: Expected int64, got 'F(1000.0)'"},
    {"float from float", "float", "0.25", "0.25"},
    {"float from integer", "float", "1", "1.0"},
    {"float from numeric string", "float", R"("2.5")", "2.5"},
    {"bool from true", "bool", "true", "true"},
    {"bool from 1", "bool", "1", "error: Expected bool, got 'I(1)'"},
    {"bool from \"true\"", "bool", R"("true")", "error: Expected bool, got 'S(true)'"},
    {"string from string", "string", R"("s")", R"("s")"},
    {"string from number", "string", "1", "error: Expected string, got 'I(1)'"},
    {"unit from null", "unit", "null", "null"},
    {"unit from {}", "unit", "{}", "error: Expected unit, got '{}'"},
    {"string map from object", "configuration", R"({"a":"b"})", R"({"a":"b"})"},
    {"string map from []", "configuration", "[]", "error: Expected dict, got '[]'"},
    {"string map with a number value", "configuration", R"({"a":1})",
     "error: Expected string, got 'I(1)'"},
    {"tuple of two", "ranges", "[[0,16]]", "[[0,16]]"},
    {"tuple of three", "ranges", "[[0,16,3]]", "error: Too many items in a tuple!"},
    {"list from array", "key_list", R"(["a"])", R"(["a"])"},
    {"list from object", "key_list", "{}", "error: Expected list, got '{}'"},
    {"duplicate keys: first wins", "changed_blocks",
     R"({"granularity":1,"bitmap":"A","granularity":2})", R"({"bitmap":"A","granularity":1})"},
};

TEST(Smapiv3DecodingRulesTest, EveryRowOfTheReferenceTable) {
  for (const Rule& r : kRules) {
    SCOPED_TRACE(r.what);
    EXPECT_EQ(Outcome(Types().at(r.type), r.input), r.expected);
  }
}

TEST(Smapiv3ClientTest, ErrorRepliesBecomeTypedExceptions) {
  smapiv3::VolumeClient client(rpc::MakeTransport([](const std::string&) {
    return std::string(R"({"result":null,"error":["Volume_does_not_exist","k1"],"id":1})");
  }));
  try {
    client.stat("dbg", "sr1", "k1");
    FAIL() << "no exception";
  } catch (const smapiv3::exns_exception& e) {
    EXPECT_EQ(std::get<smapiv3::exns::Volume_does_not_exist>(e.error().value).value, "k1");
    EXPECT_STREQ(e.what(), R"(["Volume_does_not_exist","k1"])");
  }
  // An error that is not an `exns` reaches the caller as the raw reply.
  smapiv3::VolumeClient other(rpc::MakeTransport([](const std::string&) {
    return std::string(R"({"result":null,"error":["Internal_error","x"],"id":1})");
  }));
  EXPECT_THROW(other.stat("dbg", "sr1", "k1"), rpc::RemoteError);
}

}  // namespace
}  // namespace bindings_test

namespace bindings_test {
namespace {

// DecodeResult reads an answer by wire method name, as a tool that only has the name must.
TEST(Smapiv3DecodeResultTest, AGoodVolumeComesBackReencoded) {
  nlohmann::json in = rpc::ParseJson(
      R"({"KEY":"k1","name":"n","description":"d","read_write":true,"sharable":false,)"
      R"("virtual_size":"1024","physical_utilisation":0,"uri":[],"keys":{},"junk":1})");
  nlohmann::json out = smapiv3::DecodeResult("Volume.stat", in);
  EXPECT_EQ(out, rpc::ParseJson(
                     R"({"key":"k1","name":"n","description":"d","read_write":true,)"
                     R"("sharable":false,"virtual_size":1024,"physical_utilisation":0,)"
                     R"("uri":[],"keys":{}})"));
}

TEST(Smapiv3DecodeResultTest, AVolumeWithoutNameIsRefusedWithTheReferenceText) {
  nlohmann::json in = rpc::ParseJson(
      R"({"key":"k1","description":"d","read_write":true,"sharable":false,)"
      R"("virtual_size":1,"physical_utilisation":0,"uri":[],"keys":{}})");
  try {
    smapiv3::DecodeResult("Volume.create", in);
    FAIL() << "no exception";
  } catch (const rpc::DecodeError& e) {
    EXPECT_STREQ(e.what(), "No value found for key: 'name' when unmarshalling 'volume'");
  }
}

TEST(Smapiv3DecodeResultTest, AWrongTypeIsRefused) {
  try {
    smapiv3::DecodeResult("SR.stat", rpc::ParseJson(R"({"sr":1})"));
    FAIL() << "no exception";
  } catch (const rpc::DecodeError& e) {
    EXPECT_STREQ(e.what(), "Expected string, got 'I(1)'");
  }
  try {
    smapiv3::DecodeResult("Volume.stat", nlohmann::json(7));
    FAIL() << "no exception";
  } catch (const rpc::DecodeError& e) {
    EXPECT_STREQ(e.what(), "Expecting Rpc.Dict when unmarshalling a 'volume'");
  }
}

TEST(Smapiv3DecodeResultTest, UnitResultsBecomeNull) {
  EXPECT_EQ(smapiv3::DecodeResult("Volume.destroy", nullptr), nullptr);
}

TEST(Smapiv3DecodeResultTest, AnUnknownMethodIsReportedAsSuch) {
  try {
    smapiv3::DecodeResult("Volume.frobnicate", nullptr);
    FAIL() << "no exception";
  } catch (const rpc::UnknownMethod& e) {
    EXPECT_EQ(e.method(), "Volume.frobnicate");
  }
}

}  // namespace
}  // namespace bindings_test

// Throughput of the generated bindings' wire path: JSON text -> typed value -> JSON text, and
// one SMAPIv2 JSON-RPC request served end to end. Figures: docs/performance/cpp-bindings.md.
#include <benchmark/benchmark.h>

#include "smapi/smapiv2.h"
#include "smapi/smapiv3.h"

namespace {

const char kVolume[] =
    R"({"cbt_enabled":true,"volume_type":"CBT_Metadata","keys":{"a":"b"},"uri":["raw+file:///x"],)"
    R"("physical_utilisation":0,"virtual_size":1073741824,"sharable":false,"read_write":true,)"
    R"("description":"d","name":"n","uuid":"u1","key":"k1"})";

void BM_DecodeVolume(benchmark::State& state) {
  for (auto _ : state) {
    benchmark::DoNotOptimize(rpc::Decode<smapiv3::volume>(rpc::ParseJson(kVolume)));
  }
}
BENCHMARK(BM_DecodeVolume);

void BM_EncodeVolume(benchmark::State& state) {
  smapiv3::volume v = rpc::Decode<smapiv3::volume>(rpc::ParseJson(kVolume));
  for (auto _ : state) benchmark::DoNotOptimize(rpc::Serialize(rpc::Encode(v)));
}
BENCHMARK(BM_EncodeVolume);

class Sr : public smapiv2::SRHandler {
 public:
  std::vector<smapiv2::vdi_info> scan(const smapiv2::debug_info&, const smapiv2::sr&) override {
    std::vector<smapiv2::vdi_info> vdis(static_cast<size_t>(count_));
    for (size_t i = 0; i < vdis.size(); ++i) {
      vdis[i].vdi = "vdi-" + std::to_string(i);
      vdis[i].name_label = "disk " + std::to_string(i);
    }
    return vdis;
  }
  int64_t count_ = 0;
};

// One SR.scan request served through the package server: request text in, response text out.
void BM_ServeScan(benchmark::State& state) {
  Sr sr;
  sr.count_ = state.range(0);
  smapiv2::Handlers handlers;
  handlers.SR = &sr;
  const std::string request = R"({"method":"SR.scan","params":[{"dbg":"x","sr":"s"}],"id":1})";
  for (auto _ : state) {
    benchmark::DoNotOptimize(smapiv2::HandleRequestText(handlers, request));
  }
}
BENCHMARK(BM_ServeScan)->Arg(1)->Arg(100);

}  // namespace

BENCHMARK_MAIN();

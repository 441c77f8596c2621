// Feeds arbitrary bytes to the JSON reader and the generated decoders. Any input must give a
// value or a clean, documented exception (rpc::JsonSyntaxError, rpc::DecodeError): never a
// crash, a hang or another exception. Decoded values must re-encode and decode to themselves.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "smapi/smapiv2.h"
#include "smapi/smapiv3.h"

namespace {

template <typename T>
void DecodeAndCheck(const nlohmann::json& j) {
  T value;
  try {
    value = rpc::Decode<T>(j);
  } catch (const rpc::DecodeError&) {
    return;
  }
  // Our own encoding of a decoded value must decode to the same value.
  if (!(rpc::Decode<T>(rpc::Encode(value)) == value)) std::abort();
  rpc::Serialize(rpc::Encode(value));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  nlohmann::json j;
  try {
    j = rpc::ParseJson(text);
  } catch (const rpc::JsonSyntaxError&) {
    return 0;
  }
  DecodeAndCheck<smapiv3::volume>(j);
  DecodeAndCheck<smapiv3::task>(j);
  DecodeAndCheck<smapiv2::vdi_info>(j);
  DecodeAndCheck<smapiv2::error>(j);
  DecodeAndCheck<smapiv2::task>(j);
  // The server side: every request is answered with a well-formed response.
  smapiv2::Handlers handlers;
  nlohmann::json response = smapiv2::HandleRequest(handlers, j);
  rpc::ParseResponse(response);
  try {
    rpc::ParseResponse(j);
  } catch (const rpc::ProtocolError&) {
  }
  return 0;
}

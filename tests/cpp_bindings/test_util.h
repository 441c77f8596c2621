// Helpers shared by the binding tests: decode-and-re-encode by type name, and capturing calls.
#pragma once

#include <functional>
#include <map>
#include <string>

#include "rpc/codec.h"
#include "rpc/jsonrpc.h"

namespace bindings_test {

using Json = nlohmann::json;
using RoundTrip = std::function<Json(const Json&)>;

// Decodes a JSON value as T and encodes it again.
template <typename T>
RoundTrip Through() {
  return [](const Json& j) { return rpc::Encode(rpc::Decode<T>(j)); };
}

// The outcome of decoding `text` with `round_trip`: the re-encoded JSON text, or
// "error: <what>" when decoding fails.
inline std::string Outcome(const RoundTrip& round_trip, const std::string& text) {
  try {
    return rpc::Serialize(round_trip(rpc::ParseJson(text)));
  } catch (const rpc::DecodeError& e) {
    return std::string("error: ") + e.what();
  }
}

// Thrown by the capturing transport once it has recorded a request.
struct Captured {};

// A transport that records each request's text in `requests` and then throws Captured, so
// that a client call stops right after building its request.
inline rpc::Transport CapturingTransport(std::vector<std::string>& requests) {
  return rpc::MakeTransport([&requests](const std::string& request) -> std::string {
    requests.push_back(request);
    throw Captured{};
  });
}

}  // namespace bindings_test

// The JSON-RPC envelope as the reference (rpclib `Jsonrpc`, version 1 as used by xapi) builds
// and reads it: spec idl.md §3.4. Calls carry one positional parameter, an object holding
// every argument by name: {"method":M,"params":[{...}],"id":N}. Responses are
// {"result":R,"error":null,"id":N} or {"result":null,"error":E,"id":N}.
//
// Also the exceptions the generated clients and servers use to report envelope-level faults,
// and Transport, the function a generated client sends its calls through.
//
// Thread-safe: plain functions; MakeTransport's id counter is atomic.
#pragma once

#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "rpc/codec.h"
#include "rpc/json_text.h"

namespace rpc {

// The server answered a call with an error: `error()` is the marshalled error value (for the
// IDL interfaces, a value of the interface's error variant). Generated clients catch it and
// rethrow it as the interface's typed exception.
class RemoteError : public std::runtime_error {
 public:
  explicit RemoteError(Json error);
  const Json& error() const { return error_; }

 private:
  Json error_;
};

// A call names a method the server does not have (or has no handler for).
class UnknownMethod : public std::runtime_error {
 public:
  explicit UnknownMethod(std::string method);
  const std::string& method() const { return method_; }

 private:
  std::string method_;
};

// A request or response does not have the envelope's shape; what() says what was wrong.
class ProtocolError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Sends one call: the wire method name and the object of named arguments. Returns the result
// value, or throws RemoteError when the server answered with an error (other exceptions for
// transport faults). Generated clients are built over one of these.
using Transport = std::function<Json(const std::string& wire_method, Json params_object)>;

// --- Calls -----------------------------------------------------------------------------------
// {"method":method,"params":[params_object],"id":id}.
Json BuildCall(std::string_view method, Json params_object, int64_t id);

struct Call {
  std::string method;
  Json params;  // the named-argument object, params[0]
  Json id;      // as received: integer, string or null; echoed in the response
};

// Reads a v1 or v2 request. Throws ProtocolError unless `request` is an object with a string
// "method" and "params" an array whose first element is an object (v2: or the object itself).
Call ParseCall(const Json& request);

// The id a response to `request` carries: the request's "id" when it is an integer or a
// string, else 0 (what the reference servers always answer). Never throws.
Json ResponseId(const Json& request);

// The value of the named argument `name` (exact, case-sensitive). Throws DecodeError
// "Expecting named argument '<name>'" when absent.
const Json& NamedArgument(const Json& params_object, std::string_view name);

// An optional (option-typed) named argument: nullopt when absent, else the bare value
// decoded as a T (never the [] / [x] form). Throws DecodeError for a malformed value.
template <typename T>
std::optional<T> OptionalNamedArgument(const Json& params_object, std::string_view name) {
  auto it = params_object.find(std::string(name));
  if (it == params_object.end()) return std::nullopt;
  return Decode<T>(*it);
}

// --- Responses -------------------------------------------------------------------------------
Json BuildSuccess(Json result, Json id);  // {"result":result,"error":null,"id":id}
Json BuildFailure(Json error, Json id);   // {"result":null,"error":error,"id":id}

struct Response {
  bool ok = false;
  Json result;  // when ok
  Json error;   // when !ok
  Json id;
};

// Reads a response. Version 1 (no "jsonrpc" member): an "id" (integer or string) and both
// "result" and "error" are required; error null -> success; result null and error non-null ->
// failure; both non-null -> ProtocolError. Version 2 ("jsonrpc":"2.0"): exactly one of
// "result"/"error"; an error must be an object with an integer "code" and a string "message".
// Throws ProtocolError naming what is wrong.
Response ParseResponse(const Json& response);

// A Transport over `exchange`, which sends one request text and returns the response text.
// Calls are v1 envelopes with ids counting up from 1; the response is read with
// ParseResponse and a failure is thrown as RemoteError.
Transport MakeTransport(std::function<std::string(const std::string& request)> exchange);

}  // namespace rpc

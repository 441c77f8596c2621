#include "rpc/jsonrpc.h"

#include <atomic>
#include <memory>

#include "rpc/codec.h"

namespace rpc {

RemoteError::RemoteError(Json error)
    : std::runtime_error("server error: " + Serialize(error)), error_(std::move(error)) {}

UnknownMethod::UnknownMethod(std::string method)
    : std::runtime_error("unknown method '" + method + "'"), method_(std::move(method)) {}

Json BuildCall(std::string_view method, Json params_object, int64_t id) {
  return Json{{"method", std::string(method)},
              {"params", Json::array({std::move(params_object)})},
              {"id", id}};
}

Call ParseCall(const Json& request) {
  if (!request.is_object()) throw ProtocolError("request is not a JSON object");
  auto method = request.find("method");
  if (method == request.end() || !method->is_string()) {
    throw ProtocolError("request has no string member 'method'");
  }
  Call call;
  call.method = method->get<std::string>();
  auto id = request.find("id");
  if (id != request.end()) call.id = *id;
  auto params = request.find("params");
  if (params == request.end()) throw ProtocolError("request has no member 'params'");
  bool v2 = request.contains("jsonrpc");
  if (params->is_array() && !params->empty() && (*params)[0].is_object()) {
    call.params = (*params)[0];
  } else if (v2 && params->is_object()) {
    call.params = *params;
  } else {
    throw ProtocolError("request 'params' must be an array holding one object of named arguments");
  }
  return call;
}

Json ResponseId(const Json& request) {
  if (request.is_object()) {
    auto id = request.find("id");
    if (id != request.end() && (id->is_number_integer() || id->is_string())) return *id;
  }
  return 0;
}

const Json& NamedArgument(const Json& params_object, std::string_view name) {
  auto it = params_object.find(std::string(name));
  if (it == params_object.end()) {
    throw DecodeError("Expecting named argument '" + std::string(name) + "'");
  }
  return *it;
}

Json BuildSuccess(Json result, Json id) {
  return Json{{"result", std::move(result)}, {"error", nullptr}, {"id", std::move(id)}};
}

Json BuildFailure(Json error, Json id) {
  return Json{{"result", nullptr}, {"error", std::move(error)}, {"id", std::move(id)}};
}

Response ParseResponse(const Json& response) {
  if (!response.is_object()) throw ProtocolError("response is not a JSON object");
  Response out;
  auto id = response.find("id");
  auto result = response.find("result");
  auto error = response.find("error");
  auto version = response.find("jsonrpc");
  if (version != response.end()) {
    if (*version != "2.0") throw ProtocolError("response has an unknown 'jsonrpc' version");
    if (id != response.end()) out.id = *id;
    if ((result == response.end()) == (error == response.end())) {
      throw ProtocolError("JSON-RPC 2.0 response must have exactly one of 'result' and 'error'");
    }
    if (result != response.end()) {
      out.ok = true;
      out.result = *result;
      return out;
    }
    if (!error->is_object() || !error->contains("code") || !(*error)["code"].is_number_integer() ||
        !error->contains("message") || !(*error)["message"].is_string()) {
      throw ProtocolError(
          "JSON-RPC 2.0 error must be an object with an integer 'code' and a string 'message'");
    }
    out.error = *error;
    return out;
  }
  if (id == response.end() || !(id->is_number_integer() || id->is_string())) {
    throw ProtocolError("response has no integer or string 'id'");
  }
  out.id = *id;
  if (result == response.end()) throw ProtocolError("response has no member 'result'");
  if (error == response.end()) throw ProtocolError("response has no member 'error'");
  if (error->is_null()) {
    out.ok = true;
    out.result = *result;
    return out;
  }
  if (!result->is_null()) throw ProtocolError("response has both a 'result' and an 'error'");
  out.error = *error;
  return out;
}

Transport MakeTransport(std::function<std::string(const std::string& request)> exchange) {
  // Shared, so that copies of the transport keep counting from where the original is.
  auto next_id = std::make_shared<std::atomic<int64_t>>(1);
  return [exchange = std::move(exchange), next_id](const std::string& wire_method,
                                                   Json params_object) -> Json {
    Json call = BuildCall(wire_method, std::move(params_object), next_id->fetch_add(1));
    Json reply;
    try {
      reply = ParseJson(exchange(Serialize(call)));
    } catch (const JsonSyntaxError& e) {
      throw ProtocolError(std::string("response to ") + wire_method + ": " + e.what());
    }
    Response response = ParseResponse(reply);
    if (!response.ok) throw RemoteError(response.error);
    return response.result;
  };
}

}  // namespace rpc

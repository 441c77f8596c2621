#include "storage_script/observer.h"

#include "storage_script/errors.h"

namespace storage {

std::string HandleObserverRequest(const std::string& body,
                                  const std::function<void(bool)>& set_enabled) {
  Json request = Json::parse(body, nullptr, false);
  Json response = {{"result", nullptr}, {"error", nullptr}, {"id", 0}};
  if (request.is_object() && request.contains("id")) response["id"] = request["id"];
  if (!request.is_object() || !request.contains("method") || !request["method"].is_string()) {
    response["error"] = Json::array({"Internal_error", "the request is not a JSON-RPC call"});
    return response.dump();
  }
  std::string method = request["method"].get<std::string>();
  const Json* params = nullptr;
  if (request.contains("params") && request["params"].is_array() &&
      request["params"].size() == 1 && request["params"][0].is_object()) {
    params = &request["params"][0];
  }
  if (method == "Observer.create" || method == "Observer.set_enabled") {
    if (!params || !params->contains("enabled") || !(*params)["enabled"].is_boolean()) {
      response["error"] =
          Json::array({"Internal_error", method + ": Expecting named argument 'enabled'"});
    } else {
      set_enabled((*params)["enabled"].get<bool>());
    }
  } else if (method == "Observer.destroy") {
    set_enabled(false);
  } else {
    response["error"] = Json::array({"Unimplemented", method});
  }
  return response.dump();
}

}  // namespace storage

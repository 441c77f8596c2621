// StorageError: a SMAPIv2 error value (smapiv2.md §3.1) thrown by the translation and the script
// runner, and sent to the caller as the `error` member of the JSON-RPC response.
//
// The value is the exact wire form, e.g. ["Backend_error",["SCRIPT_MISSING",[path,hint]]], so no
// further mapping is needed at the edge. Named constructors build the shapes we produce.
#ifndef STORAGE_SCRIPT_ERRORS_H_
#define STORAGE_SCRIPT_ERRORS_H_

#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace storage {

using Json = nlohmann::ordered_json;

class StorageError : public std::runtime_error {
 public:
  explicit StorageError(Json value) : std::runtime_error(value.dump()), value_(std::move(value)) {}

  // ["Backend_error",[code,[params...]]]
  static StorageError Backend(const std::string& code, const std::vector<std::string>& params) {
    return StorageError(Json::array({"Backend_error", Json::array({code, params})}));
  }
  // [name, payload], e.g. ["Sr_not_attached","<uuid>"].
  static StorageError Tagged(const std::string& name, Json payload) {
    return StorageError(Json::array({name, std::move(payload)}));
  }
  // ["Internal_error", message]: bad requests and our own unexpected faults.
  static StorageError Internal(const std::string& message) { return Tagged("Internal_error", message); }
  static StorageError Unimplemented(const std::string& what) { return Tagged("Unimplemented", what); }

  const Json& value() const { return value_; }

 private:
  Json value_;
};

}  // namespace storage

#endif  // STORAGE_SCRIPT_ERRORS_H_

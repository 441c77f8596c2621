// Text for people: a JSON result as indented `key: value` lines, and the help of methods taken
// from the generated IDL metadata. Pure functions; thread-safe.
#ifndef SMAPI_CLI_RENDER_H_
#define SMAPI_CLI_RENDER_H_

#include <string>
#include <vector>

#include "rpc/json_text.h"
#include "rpc/method_info.h"

namespace smapicli {

// A value as readable text ending in a newline: a string as it is, other scalars as JSON, an
// object as `key: value` lines, an array as `- item` lines, nesting indented by two spaces.
std::string RenderText(const rpc::Json& value);

// The full help of one method: usage line with its flags, its documentation, each argument
// (flag, IDL type, doc; optional ones marked) and the result (name, type, doc).
// `how` is the usage prefix, e.g. "smapi --queue QUEUE".
std::string MethodHelp(const rpc::MethodInfo& method, const std::string& how);

// One line per method: wire name and the first sentence of its documentation.
std::string MethodList(const std::vector<rpc::MethodInfo>& methods);

}  // namespace smapicli

#endif  // SMAPI_CLI_RENDER_H_

#include "rpc/json_text.h"

#include <set>
#include <vector>

namespace rpc {

Json ParseJson(std::string_view text) {
  // One set of seen keys per open object; a repeated key's value is discarded so that the
  // first occurrence wins (nlohmann alone would keep the last).
  std::vector<std::set<std::string>> seen;
  int depth = 0;
  auto callback = [&](int /*depth*/, Json::parse_event_t event, Json& parsed) -> bool {
    switch (event) {
      case Json::parse_event_t::object_start:
      case Json::parse_event_t::array_start:
        if (++depth > kMaxJsonDepth) {
          throw JsonSyntaxError("JSON nested deeper than " + std::to_string(kMaxJsonDepth) +
                                " levels");
        }
        if (event == Json::parse_event_t::object_start) seen.emplace_back();
        return true;
      case Json::parse_event_t::object_end:
        --depth;
        seen.pop_back();
        return true;
      case Json::parse_event_t::array_end:
        --depth;
        return true;
      case Json::parse_event_t::key:
        return seen.back().insert(parsed.get<std::string>()).second;
      case Json::parse_event_t::value:
        return true;
    }
    return true;
  };
  try {
    return Json::parse(text.begin(), text.end(), callback);
  } catch (const Json::exception& e) {
    // parse_error for bad syntax, out_of_range for numbers beyond a double (1e400).
    throw JsonSyntaxError(std::string("invalid JSON: ") + e.what());
  }
}

std::string Serialize(const Json& value) {
  return value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace rpc

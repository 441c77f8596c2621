// The message-switch wire protocol as the client speaks it (spec §1.3-§1.5): request framing,
// path-segment encoding, and the JSON bodies of Send and Transfer. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "switch_client/client.h"

namespace msclient {

// Percent-encodes one path segment the way the reference client does: every byte outside
// A-Z a-z 0-9 - . _ ~ ! $ & ' ( ) * + , ; = : @ becomes %XX.
std::string EncodeSegment(std::string_view segment);

// One HTTP/1.1 request with a Content-Length header (the only header the switch needs).
std::string HttpRequest(std::string_view method, std::string_view path, std::string_view body = {});

// A message returned by a transfer.
struct TransferMessage {
  MessageId id;
  std::string payload;
  bool is_request = true;
  std::string reply_to;  // for a request
  MessageId request;     // for a response: the request it answers
};

struct TransferResult {
  std::vector<TransferMessage> messages;  // in the switch's order (newest first per queue)
  int64_t next = -1;
};

// The body of POST /transfer: {"from":"N","timeout":T,"queues":[...]} ("from" omitted if none).
std::string TransferBody(std::optional<int64_t> from, double timeout_seconds,
                         const std::vector<std::string>& queues);
// Parses a transfer response. Throws std::runtime_error saying what was wrong.
TransferResult ParseTransfer(std::string_view body);
// Parses a send response: [["queue",N]] or []. Throws std::runtime_error.
std::optional<MessageId> ParseSendResult(std::string_view body);
// Parses a list response: ["a","b"]. Throws std::runtime_error.
std::vector<std::string> ParseNameList(std::string_view body);

}  // namespace msclient

// An incremental HTTP/1.1 request parser for the switch's read buffer.
//
// The switch reads whatever the socket has into one buffer and then parses every complete request
// in it, so that the answers to a pipelined burst can go out in one write. The parser therefore
// works on a byte span and reports how many bytes one request used, or that more bytes are needed.
// It supports what the protocol needs: a request line, headers, and a body framed by
// Content-Length or by chunked transfer encoding. It never reads beyond the span it is given.
//
// Not thread-safe; holds no state between calls (a partial request is simply re-parsed when more
// bytes arrive, which is cheap because requests are small and a partial header is rare).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace msw {

struct HttpRequest {
  std::string method;   // e.g. "GET"
  std::string target;   // the raw request target, e.g. "/login/x%20y"
  std::string host;     // the Host header, if any (only used to echo the URI in a 404)
  std::string body;     // de-chunked body
  bool keep_alive = true;  // false after "Connection: close" or for HTTP/1.0 without keep-alive
};

struct HttpLimits {
  std::size_t max_header_bytes = 64 * 1024;   // request line + headers
  std::size_t max_body_bytes = 16 * 1024 * 1024;
};

enum class ParseStatus {
  kComplete,    // one request parsed; `consumed` bytes belong to it
  kNeedMore,    // the span holds only a prefix of a request
  kBadRequest,  // malformed: answer 400 and close
  kTooLarge,    // headers or body over the limits: answer 413/431 and close
};

struct ParseResult {
  ParseStatus status = ParseStatus::kNeedMore;
  std::size_t consumed = 0;
  std::string error;  // for kBadRequest/kTooLarge: what was wrong, for the error body
};

// Parses one request from the front of `data`. On kComplete fills `*out` and sets `consumed`.
ParseResult ParseHttpRequest(std::string_view data, const HttpLimits& limits, HttpRequest* out);

}  // namespace msw

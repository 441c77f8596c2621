#include "switch/http_parser.h"

#include <algorithm>
#include <cctype>

namespace msw {
namespace {

char AsciiLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

// `b` must be lower case.
bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (AsciiLower(a[i]) != b[i]) return false;
  }
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Finds the next line starting at `pos`; accepts CRLF or a bare LF. Returns false if no line end
// is in the span yet. `*line` excludes the terminator; `*next` is the position after it.
bool NextLine(std::string_view data, std::size_t pos, std::string_view* line, std::size_t* next) {
  std::size_t nl = data.find('\n', pos);
  if (nl == std::string_view::npos) return false;
  std::size_t end = nl;
  if (end > pos && data[end - 1] == '\r') --end;
  *line = data.substr(pos, end - pos);
  *next = nl + 1;
  return true;
}

ParseResult Bad(std::string why) { return {ParseStatus::kBadRequest, 0, std::move(why)}; }
ParseResult TooLarge(std::string why) { return {ParseStatus::kTooLarge, 0, std::move(why)}; }
ParseResult NeedMore() { return {ParseStatus::kNeedMore, 0, {}}; }

bool IsTokenChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// Parses a chunked body starting at `pos`. On success sets `*end` to the byte after the trailer.
ParseResult ParseChunked(std::string_view data, std::size_t pos, const HttpLimits& limits,
                         std::string* body, std::size_t* end) {
  body->clear();
  for (;;) {
    std::string_view line;
    std::size_t next;
    if (!NextLine(data, pos, &line, &next)) {
      if (data.size() - pos > 1024) return Bad("chunk size line too long");
      return NeedMore();
    }
    std::string_view size_text = line.substr(0, line.find(';'));
    size_text = Trim(size_text);
    if (size_text.empty() || size_text.size() > 15) return Bad("bad chunk size");
    std::size_t size = 0;
    for (char c : size_text) {
      int digit;
      if (c >= '0' && c <= '9') digit = c - '0';
      else if (c >= 'a' && c <= 'f') digit = c - 'a' + 10;
      else if (c >= 'A' && c <= 'F') digit = c - 'A' + 10;
      else return Bad("bad chunk size");
      size = size * 16 + static_cast<std::size_t>(digit);
    }
    pos = next;
    if (size == 0) {
      // Trailer fields, then an empty line.
      for (;;) {
        if (!NextLine(data, pos, &line, &next)) {
          if (data.size() - pos > limits.max_header_bytes) return TooLarge("trailer too large");
          return NeedMore();
        }
        pos = next;
        if (line.empty()) {
          *end = pos;
          return {ParseStatus::kComplete, 0, {}};
        }
      }
    }
    if (body->size() + size > limits.max_body_bytes) {
      return TooLarge("request body exceeds " + std::to_string(limits.max_body_bytes) + " bytes");
    }
    if (data.size() - pos < size + 1) return NeedMore();
    body->append(data.substr(pos, size));
    pos += size;
    if (data[pos] == '\n') {
      pos += 1;
    } else if (data[pos] == '\r') {
      if (data.size() - pos < 2) return NeedMore();
      if (data[pos + 1] != '\n') return Bad("chunk not followed by CRLF");
      pos += 2;
    } else {
      return Bad("chunk not followed by CRLF");
    }
  }
}

}  // namespace

ParseResult ParseHttpRequest(std::string_view data, const HttpLimits& limits, HttpRequest* out) {
  // Tolerate empty lines before a request line (RFC 9112 §2.2).
  std::size_t pos = 0;
  while (pos < data.size() && (data[pos] == '\r' || data[pos] == '\n')) ++pos;
  if (pos == data.size()) return NeedMore();

  // Find the end of the header block first, so a partial request costs one scan.
  std::size_t header_end = std::string_view::npos;
  {
    std::size_t search = pos;
    for (;;) {
      std::size_t nl = data.find('\n', search);
      if (nl == std::string_view::npos) break;
      // An empty line: "\n\n" or "\n\r\n".
      if (nl + 1 < data.size() && data[nl + 1] == '\n') { header_end = nl + 2; break; }
      if (nl + 2 < data.size() && data[nl + 1] == '\r' && data[nl + 2] == '\n') {
        header_end = nl + 3;
        break;
      }
      search = nl + 1;
    }
  }
  if (header_end == std::string_view::npos) {
    if (data.size() - pos > limits.max_header_bytes) return TooLarge("request header too large");
    return NeedMore();
  }
  if (header_end - pos > limits.max_header_bytes) return TooLarge("request header too large");

  std::string_view line;
  std::size_t next;
  NextLine(data, pos, &line, &next);
  // Request line: METHOD SP target SP HTTP/1.x
  std::size_t sp1 = line.find(' ');
  std::size_t sp2 = line.rfind(' ');
  if (sp1 == std::string_view::npos || sp2 == sp1) return Bad("malformed request line");
  std::string_view method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = line.substr(sp2 + 1);
  if (method.empty() || !std::all_of(method.begin(), method.end(), IsTokenChar)) {
    return Bad("malformed request method");
  }
  if (target.empty() || target.find(' ') != std::string_view::npos) {
    return Bad("malformed request target");
  }
  for (char c : target) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return Bad("malformed request target");
  }
  bool http10;
  if (version == "HTTP/1.1") http10 = false;
  else if (version == "HTTP/1.0") http10 = true;
  else return Bad("unsupported HTTP version");

  bool keep_alive = !http10;
  out->host.clear();
  bool chunked = false;
  bool have_length = false;
  std::size_t content_length = 0;
  pos = next;
  for (;;) {
    NextLine(data, pos, &line, &next);
    pos = next;
    if (line.empty()) break;
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return Bad("malformed header line");
    std::string_view name = line.substr(0, colon);
    if (!std::all_of(name.begin(), name.end(), IsTokenChar)) return Bad("malformed header name");
    std::string_view value = Trim(line.substr(colon + 1));
    if (IEquals(name, "content-length")) {
      if (value.empty() || value.size() > 18 ||
          !std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return Bad("bad Content-Length");
      }
      std::size_t n = std::stoull(std::string(value));
      if (have_length && n != content_length) return Bad("conflicting Content-Length headers");
      have_length = true;
      content_length = n;
    } else if (IEquals(name, "transfer-encoding")) {
      if (!IEquals(value, "chunked")) return Bad("unsupported Transfer-Encoding");
      chunked = true;
    } else if (IEquals(name, "host")) {
      out->host.assign(value);
    } else if (IEquals(name, "connection")) {
      if (IEquals(value, "close")) keep_alive = false;
      else if (IEquals(value, "keep-alive")) keep_alive = true;
    }
  }
  if (chunked && have_length) return Bad("both Content-Length and chunked encoding");

  if (chunked) {
    std::size_t end = 0;
    ParseResult r = ParseChunked(data, pos, limits, &out->body, &end);
    if (r.status != ParseStatus::kComplete) return r;
    pos = end;
  } else {
    if (content_length > limits.max_body_bytes) {
      return TooLarge("request body exceeds " + std::to_string(limits.max_body_bytes) + " bytes");
    }
    if (data.size() - pos < content_length) return NeedMore();
    out->body.assign(data.substr(pos, content_length));
    pos += content_length;
  }
  out->method.assign(method);
  out->target.assign(target);
  out->keep_alive = keep_alive;
  return {ParseStatus::kComplete, pos, {}};
}

}  // namespace msw

#include "switch_client/protocol.h"

#include <cctype>
#include <stdexcept>

#include "switch_client/json_text.h"

namespace msclient {

namespace {

bool IsPathSafe(unsigned char c) {
  if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '-': case '.': case '_': case '~': case '!': case '$': case '&': case '\'':
    case '(': case ')': case '*': case '+': case ',': case ';': case '=': case ':': case '@':
      return true;
    default:
      return false;
  }
}

// The reference decoders accept an int64 as a number or as a string of digits.
int64_t ToInt64(const Json& v, const char* what) {
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_string()) {
    const std::string& s = v.get_ref<const std::string&>();
    size_t used = 0;
    try {
      int64_t n = std::stoll(s, &used);
      if (used == s.size()) return n;
    } catch (const std::exception&) {
    }
  }
  throw std::runtime_error(std::string("expected an integer for ") + what);
}

MessageId ToMessageId(const Json& v) {
  if (!v.is_array() || v.size() != 2 || !v[0].is_string()) {
    throw std::runtime_error("expected a message id [queue, seq]");
  }
  return MessageId{v[0].get<std::string>(), ToInt64(v[1], "a sequence number")};
}

// Keys and tags match case-insensitively, as in the reference decoders.
bool SameWord(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

const Json* Field(const Json& obj, std::string_view key) {
  for (const auto& [k, v] : obj.items()) {
    if (SameWord(k, key)) return &v;
  }
  return nullptr;
}

// A reader for exactly the layout our switch writes (broker.cc: no spaces, fields in a fixed
// order, integers as digits). It saves the generic parser's allocations on the RPC hot path;
// anything else (other whitespace, key order, \u escapes, another switch's layout) makes it give
// up, and the generic parser decides.
class FastReader {
 public:
  explicit FastReader(std::string_view text) : t_(text) {}

  bool Lit(std::string_view s) {
    if (t_.substr(pos_, s.size()) != s) return false;
    pos_ += s.size();
    return true;
  }
  bool Peek(char c) const { return pos_ < t_.size() && t_[pos_] == c; }
  bool AtEnd() const { return pos_ == t_.size(); }

  bool String(std::string& out) {
    if (!Lit("\"")) return false;
    out.clear();
    for (;;) {
      size_t stop = t_.find_first_of("\"\\", pos_);
      if (stop == std::string_view::npos) return false;
      out.append(t_.substr(pos_, stop - pos_));
      pos_ = stop + 1;
      if (t_[stop] == '"') return true;
      if (pos_ >= t_.size()) return false;
      char e = t_[pos_++];
      switch (e) {
        case '"': case '\\': case '/': out += e; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        default: return false;  // \u: left to the generic parser
      }
    }
  }

  // Digits, optionally quoted (the reference accepts both).
  bool Int(int64_t& out) {
    bool quoted = Lit("\"");
    bool negative = Lit("-");
    size_t start = pos_;
    uint64_t v = 0;
    while (pos_ < t_.size() && t_[pos_] >= '0' && t_[pos_] <= '9' && pos_ - start < 18) {
      v = v * 10 + static_cast<uint64_t>(t_[pos_++] - '0');
    }
    if (pos_ == start || (pos_ < t_.size() && t_[pos_] >= '0' && t_[pos_] <= '9')) return false;
    out = negative ? -static_cast<int64_t>(v) : static_cast<int64_t>(v);
    return !quoted || Lit("\"");
  }

  bool Id(MessageId& id) { return Lit("[") && String(id.queue) && Lit(",") && Int(id.id) && Lit("]"); }

 private:
  std::string_view t_;
  size_t pos_ = 0;
};

bool FastParseTransfer(std::string_view body, TransferResult& result) {
  FastReader r(body);
  if (!r.Lit("{\"messages\":[")) return false;
  if (!r.Peek(']')) {
    do {
      TransferMessage m;
      if (!r.Lit("[") || !r.Id(m.id) || !r.Lit(",{\"payload\":") || !r.String(m.payload) ||
          !r.Lit(",\"kind\":[\"")) {
        return false;
      }
      if (r.Lit("Request\",")) {
        m.is_request = true;
        if (!r.String(m.reply_to)) return false;
      } else if (r.Lit("Response\",")) {
        m.is_request = false;
        if (!r.Id(m.request)) return false;
      } else {
        return false;
      }
      if (!r.Lit("]}]")) return false;
      result.messages.push_back(std::move(m));
    } while (r.Lit(","));
  }
  return r.Lit("],\"next\":") && r.Int(result.next) && r.Lit("}") && r.AtEnd();
}

}  // namespace

std::string EncodeSegment(std::string_view segment) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(segment.size());
  for (char ch : segment) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (IsPathSafe(c)) {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string HttpRequest(std::string_view method, std::string_view path, std::string_view body) {
  std::string r;
  r.reserve(method.size() + path.size() + body.size() + 48);
  r.append(method);
  r += ' ';
  r.append(path);
  r += " HTTP/1.1\r\nContent-Length: ";
  r += std::to_string(body.size());
  r += "\r\n\r\n";
  r.append(body);
  return r;
}

std::string TransferBody(std::optional<int64_t> from, double timeout_seconds,
                         const std::vector<std::string>& queues) {
  std::string b = "{";
  if (from) b += "\"from\":\"" + std::to_string(*from) + "\",";
  b += "\"timeout\":" + PrintJsonFloat(timeout_seconds) + ",\"queues\":[";
  for (size_t i = 0; i < queues.size(); ++i) {
    if (i) b += ',';
    b += QuoteJsonString(queues[i]);
  }
  b += "]}";
  return b;
}

TransferResult ParseTransfer(std::string_view body) {
  {
    TransferResult fast;
    if (FastParseTransfer(body, fast)) return fast;
  }
  Json doc = ParseJson(body);
  if (!doc.is_object()) throw std::runtime_error("transfer response is not an object");
  const Json* messages = Field(doc, "messages");
  const Json* next = Field(doc, "next");
  if (!messages || !messages->is_array() || !next) {
    throw std::runtime_error("transfer response lacks messages or next");
  }
  TransferResult result;
  result.next = ToInt64(*next, "next");
  for (const Json& item : *messages) {
    if (!item.is_array() || item.size() != 2 || !item[1].is_object()) {
      throw std::runtime_error("transfer message is not [id, message]");
    }
    TransferMessage m;
    m.id = ToMessageId(item[0]);
    const Json* payload = Field(item[1], "payload");
    const Json* kind = Field(item[1], "kind");
    if (!payload || !payload->is_string() || !kind || !kind->is_array() || kind->size() != 2 ||
        !(*kind)[0].is_string()) {
      throw std::runtime_error("transfer message lacks payload or kind");
    }
    m.payload = payload->get<std::string>();
    const std::string& tag = (*kind)[0].get_ref<const std::string&>();
    if (SameWord(tag, "Request") && (*kind)[1].is_string()) {
      m.is_request = true;
      m.reply_to = (*kind)[1].get<std::string>();
    } else if (SameWord(tag, "Response")) {
      m.is_request = false;
      m.request = ToMessageId((*kind)[1]);
    } else {
      throw std::runtime_error("unknown message kind " + tag);
    }
    result.messages.push_back(std::move(m));
  }
  return result;
}

std::optional<MessageId> ParseSendResult(std::string_view body) {
  if (body == "[]") return std::nullopt;
  {
    FastReader r(body);
    MessageId id;
    if (r.Lit("[") && r.Id(id) && r.Lit("]") && r.AtEnd()) return id;
  }
  Json doc = ParseJson(body);
  if (!doc.is_array() || doc.size() > 1) throw std::runtime_error("send result is not [] or [id]");
  if (doc.empty()) return std::nullopt;
  return ToMessageId(doc[0]);
}

std::vector<std::string> ParseNameList(std::string_view body) {
  Json doc = ParseJson(body);
  if (!doc.is_array()) throw std::runtime_error("list result is not an array");
  std::vector<std::string> names;
  for (const Json& v : doc) {
    if (!v.is_string()) throw std::runtime_error("list result holds a non-string");
    names.push_back(v.get<std::string>());
  }
  return names;
}

}  // namespace msclient

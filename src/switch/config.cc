#include "switch/config.h"

#include <cctype>
#include <charconv>
#include <vector>

namespace msw {
namespace {

// A tiny s-expression reader: atoms and lists, with "..." strings and ';' comments.
struct Sexp {
  bool is_atom = false;
  std::string atom;
  std::vector<Sexp> list;
};

class SexpReader {
 public:
  explicit SexpReader(const std::string& s) : s_(s) {}

  bool Read(Sexp* out, std::string* error) {
    SkipSpace();
    if (pos_ >= s_.size()) return Fail("unexpected end of file", error);
    if (++depth_ > 32) return Fail("nesting too deep", error);
    if (s_[pos_] == '(') {
      ++pos_;
      for (;;) {
        SkipSpace();
        if (pos_ >= s_.size()) return Fail("missing ')'", error);
        if (s_[pos_] == ')') {
          ++pos_;
          break;
        }
        Sexp child;
        if (!Read(&child, error)) return false;
        out->list.push_back(std::move(child));
      }
    } else if (s_[pos_] == ')') {
      return Fail("unexpected ')'", error);
    } else if (s_[pos_] == '"') {
      out->is_atom = true;
      ++pos_;
      while (pos_ < s_.size() && s_[pos_] != '"') {
        if (s_[pos_] == '\\' && pos_ + 1 < s_.size()) ++pos_;
        out->atom.push_back(s_[pos_++]);
      }
      if (pos_ >= s_.size()) return Fail("unterminated string", error);
      ++pos_;
    } else {
      out->is_atom = true;
      while (pos_ < s_.size() && !std::isspace(static_cast<unsigned char>(s_[pos_])) &&
             s_[pos_] != '(' && s_[pos_] != ')' && s_[pos_] != ';') {
        out->atom.push_back(s_[pos_++]);
      }
    }
    --depth_;
    return true;
  }

  bool AtEnd() {
    SkipSpace();
    return pos_ >= s_.size();
  }

 private:
  void SkipSpace() {
    while (pos_ < s_.size()) {
      if (std::isspace(static_cast<unsigned char>(s_[pos_]))) {
        ++pos_;
      } else if (s_[pos_] == ';') {
        while (pos_ < s_.size() && s_[pos_] != '\n') ++pos_;
      } else {
        break;
      }
    }
  }
  bool Fail(const std::string& what, std::string* error) {
    *error = "config file: " + what + " at byte " + std::to_string(pos_);
    return false;
  }
  const std::string& s_;
  std::size_t pos_ = 0;
  int depth_ = 0;
};

// A value: `v`, `(v)` (some) or `()` (none).
bool OptionalAtom(const std::string& key, const Sexp& v, std::optional<std::string>* out,
                  std::string* error) {
  if (v.is_atom) {
    *out = v.atom;
    return true;
  }
  if (v.list.empty()) {
    out->reset();
    return true;
  }
  if (v.list.size() == 1 && v.list[0].is_atom) {
    *out = v.list[0].atom;
    return true;
  }
  *error = "config file: bad value for " + key;
  return false;
}

bool Number(const std::string& key, const std::optional<std::string>& v, std::size_t* out,
            std::string* error) {
  if (!v) return true;  // () keeps the default
  const char* end = v->data() + v->size();
  auto [ptr, ec] = std::from_chars(v->data(), end, *out);
  if (ec != std::errc() || ptr != end) {
    *error = "config file: " + key + " must be a non-negative integer, not \"" + *v + "\"";
    return false;
  }
  return true;
}

}  // namespace

bool ParseConfigFile(const std::string& text, SwitchConfig* config, std::string* error) {
  SexpReader reader(text);
  if (reader.AtEnd()) return true;  // an empty file changes nothing
  Sexp top;
  if (!reader.Read(&top, error)) return false;
  if (!reader.AtEnd()) {
    *error = "config file: text after the closing ')'";
    return false;
  }
  if (top.is_atom) {
    *error = "config file: expected a list of (key value) pairs";
    return false;
  }
  for (const Sexp& pair : top.list) {
    if (pair.is_atom || pair.list.empty() || !pair.list[0].is_atom || pair.list.size() > 2) {
      *error = "config file: expected (key value), found something else";
      return false;
    }
    const std::string& key = pair.list[0].atom;
    Sexp none;
    const Sexp& value = pair.list.size() == 2 ? pair.list[1] : none;
    std::optional<std::string> v;
    if (!OptionalAtom(key, value, &v, error)) return false;
    if (key == "path") {
      if (!v) {
        *error = "config file: path needs a value";
        return false;
      }
      config->path = *v;
    } else if (key == "pidfile") {
      config->pidfile = v;
    } else if (key == "statedir") {
      config->statedir = v;
    } else if (key == "group") {
      config->group = v;
    } else if (key == "fsync") {
      config->fsync = v && (*v == "true" || *v == "1" || *v == "yes");
    } else if (key == "trace-entries" || key == "trace_entries") {
      if (!Number(key, v, &config->trace_entries, error)) return false;
    } else if (key == "trace-truncate" || key == "trace_truncate") {
      if (!Number(key, v, &config->trace_truncate, error)) return false;
    } else if (key == "trace-max-bytes" || key == "trace_max_bytes") {
      if (!Number(key, v, &config->trace_max_bytes, error)) return false;
    } else if (key == "max-body-bytes" || key == "max_body_bytes") {
      if (!Number(key, v, &config->max_body_bytes, error)) return false;
    } else if (key == "max-queue-messages" || key == "max_queue_messages") {
      if (!Number(key, v, &config->max_queue_messages, error)) return false;
    } else if (key == "max-connections" || key == "max_connections") {
      if (!Number(key, v, &config->max_connections, error)) return false;
    }
    // Other keys (the reference's configfile) are ignored.
  }
  return true;
}

}  // namespace msw

#include "message_cli/views.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>
#include <stdexcept>

namespace mcli {

using msclient::Json;

namespace {

constexpr int64_t kSecond = 1000000000;
// A listener polls with timeout 30 s and renews each time: 30 s past its deadline it is stuck.
constexpr int64_t kGraceNs = 30 * kSecond;
constexpr size_t kCut = 70;

std::string Plural(int64_t n, const char* unit) {
  return std::to_string(n) + " " + unit + (n == 1 ? "" : "s");
}

// Mtime's SI span printing for one unit (`unit_ns` nanoseconds per unit).
std::string SiSpan(int64_t span, int64_t unit_ns, const char* unit, const char* higher) {
  int64_t m = span / unit_ns;
  int64_t n = span % unit_ns;
  if (m >= 100) {
    int64_t up = n == 0 ? m : m + 1;
    if (up >= 1000) return std::string("1") + higher;
    return std::to_string(up) + unit;
  }
  if (m >= 10) {
    int64_t f_factor = unit_ns / 10;
    int64_t f = n / f_factor + (n % f_factor == 0 ? 0 : 1);
    if (f == 0) return std::to_string(m) + unit;
    if (f >= 10) return SiSpan((m + 1) * unit_ns, unit_ns, unit, higher);
    return std::to_string(m) + "." + std::to_string(f) + unit;
  }
  int64_t f_factor = unit_ns / 100;
  int64_t f = n / f_factor + (n % f_factor == 0 ? 0 : 1);
  if (f == 0) return std::to_string(m) + unit;
  if (f >= 100) return SiSpan((m + 1) * unit_ns, unit_ns, unit, higher);
  if (f % 10 == 0) return std::to_string(m) + "." + std::to_string(f / 10) + unit;
  return std::to_string(m) + "." + (f < 10 ? "0" : "") + std::to_string(f) + unit;
}

std::string Cut(const std::string& s, bool verbose) {
  if (verbose || s.size() < kCut) return s;
  return s.substr(0, kCut);
}

const Json* Field(const Json& obj, const char* key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  return it == obj.end() ? nullptr : &*it;
}

int64_t Int(const Json& v) {
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_number_float()) return static_cast<int64_t>(v.get<double>());
  if (v.is_string()) return std::stoll(v.get<std::string>());
  throw std::runtime_error("expected an integer");
}

// rpclib's call_of_string: a string method, array params (or, for v2, an object), an id that
// is an int or a string.
bool AsCall(const std::string& payload, std::string& method, std::vector<Json>& params) {
  Json j;
  try {
    j = msclient::ParseJson(payload);
  } catch (const std::exception&) {
    return false;
  }
  const Json* m = Field(j, "method");
  const Json* p = Field(j, "params");
  const Json* id = Field(j, "id");
  if (!m || !m->is_string() || !p || !id) return false;
  if (!(id->is_number_integer() || id->is_string())) return false;
  const Json* version = Field(j, "jsonrpc");
  bool v2 = version && version->is_string() && *version == "2.0";
  if (p->is_array()) {
    params.assign(p->begin(), p->end());
  } else if (v2 && p->is_object()) {
    params = {*p};
  } else {
    return false;
  }
  method = m->get<std::string>();
  return true;
}

// rpclib's response_of_string: an id plus a result or an error. Returns "OK", "FAILURE" or "".
std::string ResponseLabel(const std::string& payload) {
  Json j;
  try {
    j = msclient::ParseJson(payload);
  } catch (const std::exception&) {
    return "";
  }
  if (!j.is_object() || !Field(j, "id")) return "";
  const Json* error = Field(j, "error");
  const Json* result = Field(j, "result");
  if (error && !error->is_null()) return "FAILURE";
  if (result) return "OK";
  return "";
}

struct QueueInfo {
  std::string name;
  const Json* queue;
  bool transient;
};

enum class Status { kOk, kNotStarted, kCrashed };

Status Classify(const Json& queue, int64_t now, int64_t* deadline) {
  const Json* next = Field(queue, "next_transfer_expected");
  if (!next) return Status::kNotStarted;
  *deadline = Int(*next);
  return *deadline + kGraceNs < now ? Status::kCrashed : Status::kOk;
}

std::string Origin(const Json& origin) {
  if (origin.is_array() && origin.size() == 2 && origin[0].is_string() && origin[1].is_string()) {
    if (origin[0] == "Name") return origin[1].get<std::string>();
    return "anonymous-" + origin[1].get<std::string>();
  }
  throw std::runtime_error("bad origin");
}

}  // namespace

std::string OcamlEscaped(std::string_view s) {
  std::string out;
  for (char ch : s) {
    unsigned char c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      case '\b': out += "\\b"; break;
      default:
        if (c >= ' ' && c <= '~') {
          out += ch;
        } else {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\%03u", c);
          out += buf;
        }
    }
  }
  return out;
}

std::string SubSecondSpan(int64_t ns) {
  if (ns < 0) ns = 0;
  if (ns < 1000) return std::to_string(ns) + "ns";
  if (ns < 1000000) return SiSpan(ns, 1000, "\xce\xbcs", "ms");
  return SiSpan(ns, 1000000, "ms", "s");
}

std::string TimeAgo(int64_t ns) {
  if (ns < 0) ns = 0;
  int64_t s = ns / kSecond;
  int64_t days = s / 86400, hours = (s / 3600) % 24, mins = (s / 60) % 60, secs = s % 60;
  std::vector<std::string> parts;
  if (days) parts.push_back(Plural(days, "day"));
  if (hours) parts.push_back(Plural(hours, "hour"));
  if (mins) parts.push_back(Plural(mins, "min"));
  if (secs) parts.push_back(Plural(secs, "second"));
  if (parts.empty()) return SubSecondSpan(ns) + " ago";
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out += i + 1 == parts.size() ? " and " : ", ";
    out += parts[i];
  }
  return out + " ago";
}

std::string RenderDiagnostics(const Json& d, bool verbose) {
  const Json* now_j = Field(d, "current_time");
  const Json* perm = Field(d, "permanent_queues");
  const Json* trans = Field(d, "transient_queues");
  if (!now_j || !perm || !perm->is_object() || !trans || !trans->is_object()) {
    throw std::runtime_error("diagnostics lack current_time or the queue maps");
  }
  const int64_t now = Int(*now_j);
  const Json* start = Field(d, "start_time");
  int64_t start_time = start ? Int(*start) : 0;

  // Maps are printed in ascending name order whatever order the switch used.
  std::map<std::string, const Json*> permanent, transient;
  for (const auto& [k, v] : perm->items()) permanent[k] = &v;
  for (const auto& [k, v] : trans->items()) transient[k] = &v;

  auto reply_state = [&](const std::string& r) -> std::string {
    auto it = transient.find(r);
    if (it == transient.end()) return "       - " + r + " appears to have crashed\n";
    int64_t deadline = 0;
    switch (Classify(*it->second, now, &deadline)) {
      case Status::kNotStarted: return "      - " + r + " has not started\n";
      case Status::kCrashed:
        return "      - " + r + " crashed or deadlocked " + TimeAgo(now - deadline) + "\n";
      case Status::kOk: return "      - " + r + " is waiting for a response\n";
    }
    return "";
  };

  auto render_queue = [&](const std::string& name, const Json& q) {
    std::string out;
    int64_t deadline = 0;
    if (Classify(q, now, &deadline) == Status::kCrashed) {
      out += "- " + name + ": service crashed or deadlocked " + TimeAgo(now - deadline) + "\n";
    } else {
      out += "- " + name + "\n";
    }
    const Json* contents = Field(q, "queue_contents");
    if (!contents || !contents->is_array()) throw std::runtime_error("queue lacks queue_contents");
    for (const Json& item : *contents) {
      if (!item.is_array() || item.size() != 2) throw std::runtime_error("bad queue entry");
      const Json& id = item[0];
      const Json& entry = item[1];
      const Json* origin = Field(entry, "origin");
      const Json* time = Field(entry, "time");
      const Json* message = Field(entry, "message");
      if (!id.is_array() || id.size() != 2 || !origin || !time || !message) {
        throw std::runtime_error("bad queue entry");
      }
      out += "    " + std::to_string(Int(id[1])) + ": request from: " + Origin(*origin) + " sent " +
             TimeAgo(now - Int(*time)) + "\n";
      const Json* payload = Field(*message, "payload");
      const Json* kind = Field(*message, "kind");
      if (!payload || !payload->is_string() || !kind || !kind->is_array() || kind->size() != 2) {
        throw std::runtime_error("bad message");
      }
      std::string method;
      std::vector<Json> params;
      const std::string& text = payload->get_ref<const std::string&>();
      if (AsCall(text, method, params)) {
        out += "      - " + method + "\n";
        for (const Json& p : params) out += "        - " + Cut(msclient::PrintJson(p), verbose) + "\n";
      } else {
        out += "      - " + OcamlEscaped(Cut(text, verbose)) + "\n";
      }
      if ((*kind)[0] == "Request" && (*kind)[1].is_string()) {
        out += reply_state((*kind)[1].get<std::string>());
      }
    }
    return out;
  };

  std::string out = "Switch started " + TimeAgo(now - start_time) + "\n";
  if (permanent.empty()) {
    out += "There are no known services (yet).\n";
  } else {
    std::string ok, not_started, crashed;
    for (const auto& [name, q] : permanent) {
      int64_t deadline = 0;
      switch (Classify(*q, now, &deadline)) {
        case Status::kOk: ok += render_queue(name, *q); break;
        case Status::kNotStarted: not_started += render_queue(name, *q); break;
        case Status::kCrashed: crashed += render_queue(name, *q); break;
      }
    }
    if (ok.empty()) out += "No known services are running.\n";
    else out += "\nThe following services are running:\n" + ok;
    if (!not_started.empty()) {
      out += "\nThe following services have been called but have never started:\n" + not_started;
    }
    if (!crashed.empty()) out += "\nThe following services have crashed or deadlocked:\n" + crashed;
  }
  // Reply queues somebody is waiting on are shown with their requests above; the others, and
  // any holding uncollected replies, are listed here.
  std::set<std::string> expected;
  for (const auto& [name, q] : permanent) {
    const Json* contents = Field(*q, "queue_contents");
    if (!contents || !contents->is_array()) continue;
    for (const Json& item : *contents) {
      if (!item.is_array() || item.size() != 2) continue;
      const Json* message = Field(item[1], "message");
      const Json* kind = message ? Field(*message, "kind") : nullptr;
      if (kind && kind->is_array() && kind->size() == 2 && (*kind)[0] == "Request" &&
          (*kind)[1].is_string()) {
        expected.insert((*kind)[1].get<std::string>());
      }
    }
  }
  std::string temporary;
  for (const auto& [name, q] : transient) {
    const Json* contents = Field(*q, "queue_contents");
    bool non_empty = contents && contents->is_array() && !contents->empty();
    // Our servers' cancellation queues (`<service>.cancel`) are plumbing, shown only if a
    // notice is stuck in one.
    const std::string kCancel = ".cancel";
    bool cancel_queue = name.size() > kCancel.size() &&
                        name.compare(name.size() - kCancel.size(), kCancel.size(), kCancel) == 0 &&
                        permanent.count(name.substr(0, name.size() - kCancel.size()));
    if (cancel_queue && !non_empty) continue;
    if (!expected.count(name) || non_empty) temporary += render_queue(name, *q);
  }
  if (!temporary.empty()) out += "Temporary queues containing replies:\n" + temporary;
  return out;
}

std::vector<TraceEvent> ParseTrace(const Json& trace) {
  const Json* events = Field(trace, "events");
  if (!events || !events->is_array()) throw std::runtime_error("trace lacks events");
  std::vector<TraceEvent> out;
  for (const Json& item : *events) {
    if (!item.is_array() || item.size() != 2 || !item[1].is_object()) {
      throw std::runtime_error("bad trace event");
    }
    TraceEvent e;
    e.index = Int(item[0]);
    const Json& ev = item[1];
    const Json* time = Field(ev, "time");
    const Json* queue = Field(ev, "queue");
    const Json* message = Field(ev, "message");
    if (!time || !time->is_number() || !queue || !queue->is_string() || !message ||
        !message->is_array() || message->empty()) {
      throw std::runtime_error("bad trace event");
    }
    e.time = time->get<double>();
    e.queue = queue->get<std::string>();
    if (const Json* in = Field(ev, "input"); in && in->is_string()) e.input = in->get<std::string>();
    if (const Json* o = Field(ev, "output"); o && o->is_string()) e.output = o->get<std::string>();
    if (const Json* p = Field(ev, "processing_time")) e.processing_time_ns = Int(*p);
    const Json& m = *message;
    auto read_id = [&](const Json& id) {
      if (!id.is_array() || id.size() != 2 || !id[0].is_string()) {
        throw std::runtime_error("bad message id in trace");
      }
      e.id_queue = id[0].get<std::string>();
      e.id_seq = Int(id[1]);
    };
    if (m[0] == "Ack" && m.size() == 2) {
      e.is_ack = true;
      read_id(m[1]);
    } else if (m[0] == "Message" && m.size() == 3) {
      read_id(m[1]);
      const Json* payload = Field(m[2], "payload");
      const Json* kind = Field(m[2], "kind");
      if (!payload || !payload->is_string() || !kind || !kind->is_array() || kind->empty()) {
        throw std::runtime_error("bad message in trace");
      }
      e.payload = payload->get<std::string>();
      e.is_request = (*kind)[0] == "Request";
    } else {
      throw std::runtime_error("bad trace event message");
    }
    out.push_back(std::move(e));
  }
  return out;
}

std::string TailRow(const TraceEvent& e, double first_time) {
  static const size_t kWidths[] = {5, 15, 4, 30, 4, 15, 5};
  char t[64];
  std::snprintf(t, sizeof t, "%.1f", e.time - first_time);
  std::string in = e.input.value_or("-"), out = e.output.value_or("-");
  std::vector<std::string> cells{t};
  if (e.is_ack) {
    cells.insert(cells.end(), {in, "->", e.queue, "", ""});
  } else if (e.is_request) {
    cells.insert(cells.end(), {in, "->", e.queue, "->", out});
  } else {
    cells.insert(cells.end(), {out, "<-", e.queue, "<-", in});
  }
  std::string pt;
  if (e.processing_time_ns) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.1f", static_cast<double>(*e.processing_time_ns) / 1e6);
    pt = buf;
  }
  cells.push_back(pt);
  std::string row;
  for (size_t i = 0; i < cells.size(); ++i) {
    std::string c = cells[i];
    size_t w = kWidths[i];
    if (c.size() > w) c = c.substr(c.size() - w);  // keep the end: it is the distinctive part
    c.resize(w, ' ');
    row += c + " ";
  }
  row += e.id_queue + "." + std::to_string(e.id_seq) + ":" + (e.is_ack ? "ack" : e.payload) + " ";
  return row;
}

bool DrawsArrow(const TraceEvent& e) {
  if (e.is_ack) return false;
  return e.is_request ? (e.input || e.output) : e.input.has_value();
}

std::string MscChart(const std::vector<TraceEvent>& events) {
  std::set<std::string> entities;
  for (const TraceEvent& e : events) {
    if (e.input) entities.insert(*e.input);
    if (e.output) entities.insert(*e.output);
    entities.insert(e.queue);
  }
  std::string out = "msc {\n";
  bool first = true;
  for (const std::string& name : entities) {
    if (!first) out += ",";
    first = false;
    out += "\"" + name + "\"";
  }
  out += ";\n";
  for (const TraceEvent& e : events) {
    if (e.is_ack) continue;
    std::string label;
    std::string method;
    std::vector<Json> params;
    if (AsCall(e.payload, method, params)) {
      label = method;
    } else {
      label = ResponseLabel(e.payload);
      if (label.empty()) label = e.payload.substr(0, 10);
    }
    label = OcamlEscaped(label);
    std::string arrow;
    if (e.is_request && e.input) {
      arrow = "\"" + *e.input + "\" => \"" + e.queue + "\"";
    } else if (e.is_request && e.output) {
      arrow = "\"" + e.queue + "\" => \"" + *e.output + "\"";
    } else if (!e.is_request && e.input) {
      arrow = "\"" + e.queue + "\" << \"" + *e.input + "\"";
    } else {
      continue;
    }
    out += arrow + " [ label = \"" + label + "\" ] ;\n";
  }
  out += "}\n";
  return out;
}

}  // namespace mcli

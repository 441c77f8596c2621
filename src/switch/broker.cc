#include "switch/broker.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>

#include <nlohmann/json.hpp>

#include "switch/journal.h"
#include "switch/json_out.h"

namespace msw {
namespace {

// Restored transient queues whose owner does not log in again within this time are removed
// (their owner's connections all ended when the previous switch process died).
constexpr int64_t kOrphanGraceNs = 60'000'000'000;
// Liveness entries of names that have no queue are forgotten this long after their deadline.
constexpr int64_t kDeadlineRetentionNs = 3600'000'000'000;

Reply Ok(std::string body = {}) { return {200, std::move(body)}; }
Reply NotLoggedIn() { return {404, "Please log in."}; }
Reply NoSuchMessage() { return {404, "No such message"}; }
// The reference answers 500 "Error: Internal Server Error" for requests it cannot interpret
// (a bad id, bad transfer JSON). The status is kept for compatibility; the body says what was
// wrong after the reference's text.
Reply Internal(const std::string& why) { return {500, "Error: Internal Server Error: " + why}; }
Reply BadRequest(const std::string& why) { return {400, why}; }

bool ParseInt64(std::string_view s, int64_t* out) {
  if (s.empty()) return false;
  const char* end = s.data() + s.size();
  auto [ptr, ec] = std::from_chars(s.data(), end, *out);
  return ec == std::errc() && ptr == end;
}

bool ParseSeconds(const std::string& s, double* out) {
  if (s.empty() || s.size() > 64) return false;
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size()) return false;
  *out = v;
  return true;
}

// Names are decoded path segments. "/" cannot appear (a decoded %2F is refused rather than split
// again), nor control bytes; "." and ".." are refused because the reference's path normalisation
// would have routed them elsewhere.
std::string CheckName(const std::string& what, const std::string& name) {
  if (name.empty()) return "Bad " + what + ": empty name";
  if (name == "." || name == "..") return "Bad " + what + " \"" + name + "\": not a name";
  for (unsigned char c : name) {
    if (c == '/') return "Bad " + what + " \"" + name + "\": '/' is not allowed in names";
    if (c < 0x20 || c == 0x7f) return "Bad " + what + ": control characters are not allowed";
  }
  return {};
}

std::string Quote(const std::string& s) {
  std::string out;
  AppendJsonString(&out, s);
  return out;
}

bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

int64_t SecondsToNs(double s) { return static_cast<int64_t>(s * 1e9); }

// The error reply sent to the caller of a cancelled request (see docs/protocol.md).
std::string CancelledPayload(const std::string& request_payload, const std::string& where) {
  if (!JsonNestsDeeperThan(request_payload, 64)) {
    auto call = nlohmann::ordered_json::parse(request_payload, nullptr, false);
    if (!call.is_discarded() && call.is_object() && call.contains("method") &&
        call["method"].is_string()) {
      std::string id = "null";
      if (call.contains("id")) {
        id.clear();
        AppendCompactJson(&id, call["id"]);
      }
      auto version = call.find("jsonrpc");
      if (version != call.end() && *version == "2.0") {
        return "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32800,\"message\":" +
               Quote("Cancelled: " + where) + ",\"data\":[\"Cancelled\"," + Quote(where) +
               "]},\"id\":" + id + "}";
      }
      return "{\"result\":null,\"error\":[\"Cancelled\"," + Quote(where) + "],\"id\":" + id + "}";
    }
  }
  return "Cancelled";
}

}  // namespace

bool PercentDecode(std::string_view s, std::string* out) {
  out->clear();
  out->reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out->push_back(s[i]);
      continue;
    }
    if (i + 2 >= s.size()) return false;
    auto hex = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    int hi = hex(s[i + 1]), lo = hex(s[i + 2]);
    if (hi < 0 || lo < 0) return false;
    out->push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return true;
}

Broker::Broker(BrokerOptions options, MonoClock mono, WallClock wall, Journal* journal)
    : options_(options),
      mono_(std::move(mono)),
      wall_(std::move(wall)),
      journal_(journal),
      trace_(options.trace_entries, options.trace_max_bytes, options.trace_truncate) {}

Broker::~Broker() = default;

void Broker::AdoptRestoredState() {
  int64_t until = mono_() + kOrphanGraceNs;
  for (const auto& [name, q] : store_.queues()) {
    if (q.owner) orphans_[*q.owner] = until;
  }
}

std::optional<std::string> Broker::SessionOf(ConnId conn) const {
  auto it = logins_.find(conn);
  if (it == logins_.end() || it->second.empty()) return std::nullopt;
  return *it->second.begin();  // the reference's Set.choose: the smallest token
}

std::optional<Reply> Broker::Handle(ConnId conn, const HttpRequest& req, Done done) {
  std::string_view target = req.target;
  auto not_found = [&req]() {
    std::string uri = req.host.empty() ? req.target : "//" + req.host + req.target;
    return Reply{404, "Not found: " + uri};
  };
  if (target.empty() || target[0] != '/') return not_found();
  target = target.substr(0, target.find_first_of("?#"));

  // Split on the raw '/' first, then decode each segment exactly once.
  std::vector<std::string> seg;
  {
    std::size_t pos = 1;
    for (;;) {
      std::size_t slash = target.find('/', pos);
      std::string_view raw = target.substr(pos, slash == std::string_view::npos ? slash : slash - pos);
      std::string decoded;
      if (!PercentDecode(raw, &decoded)) {
        return BadRequest("Bad percent-encoding in request path: " + std::string(raw));
      }
      seg.push_back(std::move(decoded));
      if (slash == std::string_view::npos) break;
      pos = slash + 1;
    }
  }
  const bool get = req.method == "GET";
  const bool post = req.method == "POST";
  if (get && !req.body.empty()) return not_found();
  const std::string& op = seg[0];
  const std::size_t n = seg.size();

  // Routes that need no session.
  if (get && n == 1 && op.empty()) return Diagnostics();
  if (get && op == "login" && n == 2) {
    if (auto err = CheckName("session token", seg[1]); !err.empty()) return BadRequest(err);
    if (logins_[conn].insert(seg[1]).second) ++session_conns_[seg[1]];
    orphans_.erase(seg[1]);
    return Ok();
  }
  if (get && op == "trace" && (n == 1 || n == 3)) {
    int64_t from = -1;
    double timeout = 5.0;
    if (n == 3) {
      if (!ParseInt64(seg[1], &from)) return Internal("bad trace index " + Quote(seg[1]));
      if (!ParseSeconds(seg[2], &timeout)) return Internal("bad trace timeout " + Quote(seg[2]));
    }
    return Trace(conn, from, timeout, std::move(done));
  }

  // Recognise the remaining routes before checking the session, so that an unknown path is a
  // "Not found" whether or not the connection is logged in.
  enum class Route { kNone, kPersistent, kTransient, kDestroy, kRequest, kResponse, kTransfer,
                     kAck, kList, kListAlive, kShutdown, kClear, kDelete, kCancel, kReply };
  Route route = Route::kNone;
  if (get) {
    if (n == 2 && op == "persistent") route = Route::kPersistent;
    else if (n == 2 && op == "transient") route = Route::kTransient;
    else if (n == 2 && op == "destroy") route = Route::kDestroy;
    else if (n == 3 && op == "ack") route = Route::kAck;
    else if (n == 3 && op == "list" && seg[1] == "alive") route = Route::kListAlive;
    else if (n == 2 && op == "list") route = Route::kList;
  } else if (post) {
    if (n == 3 && op == "request") route = Route::kRequest;
    else if (n == 4 && op == "response") route = Route::kResponse;
    else if (n == 1 && op == "transfer") route = Route::kTransfer;
    else if (n == 1 && op == "shutdown" && req.body.empty()) route = Route::kShutdown;
    else if (n == 2 && op == "clear") route = Route::kClear;
    else if (n == 3 && op == "delete") route = Route::kDelete;
    else if (n == 3 && op == "cancel") route = Route::kCancel;
    else if (n == 3 && op == "reply") route = Route::kReply;
  }
  if (route == Route::kNone) return not_found();

  std::optional<std::string> session = SessionOf(conn);
  if (!session) return NotLoggedIn();

  // Every route below names a queue in seg[1] except list, transfer and shutdown.
  if (route != Route::kList && route != Route::kListAlive && route != Route::kTransfer &&
      route != Route::kShutdown) {
    if (auto err = CheckName("queue name", seg[1]); !err.empty()) return BadRequest(err);
  }
  int64_t id = 0;
  if (route == Route::kAck || route == Route::kDelete || route == Route::kCancel ||
      route == Route::kReply) {
    if (!ParseInt64(seg[2], &id)) return Internal("bad message id " + Quote(seg[2]));
  }

  switch (route) {
    case Route::kPersistent:
    case Route::kTransient: {
      std::optional<std::string> owner;
      if (route == Route::kTransient) owner = *session;
      if (store_.Create(seg[1], owner) && journal_ != nullptr) {
        Op op;
        op.type = Op::kCreate;
        op.queue = seg[1];
        op.owner = owner;
        journal_->Append(op);
      }
      return Ok(seg[1]);
    }
    case Route::kDestroy:
      DestroyQueue(seg[1]);
      return Ok();
    case Route::kRequest: {
      if (auto err = CheckName("reply_to name", seg[2]); !err.empty()) return BadRequest(err);
      Message m;
      m.payload = req.body;
      m.is_request = true;
      m.reply_to = seg[2];
      return Send(*session, seg[1], std::move(m));
    }
    case Route::kResponse: {
      // The reference does not decode {req_queue} a second time; with one decoding for every
      // segment there is no difference for names without '%'.
      if (auto err = CheckName("request queue name", seg[2]); !err.empty()) {
        return BadRequest(err);
      }
      Message m;
      m.payload = req.body;
      m.is_request = false;
      m.request.queue = seg[2];
      if (!ParseInt64(seg[3], &m.request.seq)) {
        return Internal("bad request id " + Quote(seg[3]));
      }
      return Send(*session, seg[1], std::move(m));
    }
    case Route::kTransfer:
      return Transfer(conn, *session, req.body, std::move(done));
    case Route::kAck:
      Ack(*session, seg[1], id, nullptr);
      return Ok();
    case Route::kList:
      if (seg[1].find('/') != std::string::npos) return BadRequest("Bad prefix: '/' not allowed");
      return List(seg[1], false);
    case Route::kListAlive:
      if (seg[2].find('/') != std::string::npos) return BadRequest("Bad prefix: '/' not allowed");
      return List(seg[2], true);
    case Route::kShutdown:
      shutdown_requested_ = true;
      return Ok();
    case Route::kClear: {
      Queue* q = store_.Find(seg[1]);
      if (q == nullptr) return Reply{404, "No such queue"};
      std::vector<int64_t> seqs;
      for (const auto& [seq, e] : q->contents) seqs.push_back(seq);
      std::size_t removed = store_.Clear(seg[1]);
      if (journal_ != nullptr && removed > 0) {
        Op op;
        op.type = Op::kClear;
        op.queue = seg[1];
        journal_->Append(op);
      }
      double now = wall_();
      for (int64_t seq : seqs) {
        TraceEvent e;
        e.time = now;
        e.input = *session;
        e.queue = seg[1];
        e.is_ack = true;
        e.id = {seg[1], seq};
        trace_.Add(std::move(e));
      }
      WakeTraces();
      return Ok(std::to_string(removed));
    }
    case Route::kDelete: {
      bool removed = false;
      Ack(*session, seg[1], id, &removed);
      return removed ? Ok() : NoSuchMessage();
    }
    case Route::kCancel:
      return Cancel(*session, seg[1], id);
    case Route::kReply:
      return ReplyByHand(*session, seg[1], id, req.body);
    case Route::kNone:
      break;
  }
  return not_found();
}

Reply Broker::Diagnostics() const {
  std::string out = "{\"start_time\":0,\"current_time\":";
  int64_t now = mono_();
  AppendJsonInt(&out, now);
  for (int transient = 0; transient < 2; ++transient) {
    out.append(transient ? ",\"transient_queues\":{" : ",\"permanent_queues\":{");
    bool first = true;
    for (const auto& [name, q] : store_.queues()) {
      if (q.owner.has_value() != (transient == 1)) continue;
      if (!first) out.push_back(',');
      first = false;
      AppendJsonString(&out, name);
      out.append(":{");
      if (auto deadline = store_.TransferDeadline(name)) {
        out.append("\"next_transfer_expected\":");
        AppendJsonInt(&out, *deadline);
        out.push_back(',');
      }
      out.append("\"queue_contents\":[");
      bool first_entry = true;
      for (auto it = q.contents.rbegin(); it != q.contents.rend(); ++it) {
        if (!first_entry) out.push_back(',');
        first_entry = false;
        out.push_back('[');
        AppendMessageIdJson(&out, {name, it->first});
        out.append(",{\"origin\":[\"Name\",");
        AppendJsonString(&out, it->second.origin);
        out.append("],\"time\":");
        AppendJsonInt(&out, it->second.time_ns);
        out.append(",\"message\":");
        AppendMessageJson(&out, it->second.message);
        out.append("}]");
      }
      out.append("]}");
    }
    out.push_back('}');
  }
  out.push_back('}');
  return Ok(std::move(out));
}

Reply Broker::List(const std::string& prefix, bool alive_only) const {
  std::string out = "[";
  bool first = true;
  for (const auto& name : store_.List(prefix)) {
    if (alive_only && !store_.TransferDeadline(name)) continue;
    if (!first) out.push_back(',');
    first = false;
    AppendJsonString(&out, name);
  }
  out.push_back(']');
  return Ok(std::move(out));
}

std::optional<int64_t> Broker::Store(const std::string& session, const std::string& queue,
                                     Message message, bool* full) {
  *full = false;
  Queue* q = store_.Find(queue);
  if (q == nullptr) return std::nullopt;
  if (q->contents.size() >= options_.max_queue_messages) {
    *full = true;
    return std::nullopt;
  }
  Entry entry;
  entry.origin = session;
  entry.time_ns = mono_();
  entry.message = std::move(message);
  int64_t seq = q->next_id;
  if (journal_ != nullptr) journal_->AppendSend(queue, seq, entry);
  TraceEvent e;
  if (trace_.keeps_events()) {
    e.message.payload = trace_.Compact(entry.message.payload);
    e.message.is_request = entry.message.is_request;
    e.message.reply_to = entry.message.reply_to;
    e.message.request = entry.message.request;
  }
  store_.Append(q, std::move(entry));
  e.time = wall_();
  e.input = session;
  e.queue = queue;
  e.id = {queue, seq};
  trace_.Add(std::move(e));
  WakeTraces();
  WakeQueue(queue);
  return seq;
}

Reply Broker::Send(const std::string& session, const std::string& queue, Message message) {
  bool full = false;
  std::optional<int64_t> seq = Store(session, queue, std::move(message), &full);
  if (full) {
    return {507, "Queue " + queue + " is full: it holds " +
                     std::to_string(options_.max_queue_messages) +
                     " messages (--max-queue-messages)"};
  }
  if (!seq) return Ok("[]");
  std::string out = "[";
  AppendMessageIdJson(&out, {queue, *seq});
  out.push_back(']');
  return Ok(std::move(out));
}

void Broker::Ack(const std::string& session, const std::string& queue, int64_t seq,
                 bool* removed) {
  bool ok = store_.Remove(queue, seq);
  if (removed != nullptr) *removed = ok;
  if (ok && journal_ != nullptr) {
    Op op;
    op.type = Op::kAck;
    op.queue = queue;
    op.seq = seq;
    journal_->Append(op);
  }
  TraceEvent e;
  e.time = wall_();
  e.input = session;
  e.queue = queue;
  e.is_ack = true;
  e.id = {queue, seq};
  trace_.Add(std::move(e));
  WakeTraces();
}

void Broker::DestroyQueue(const std::string& name) {
  if (store_.Destroy(name) && journal_ != nullptr) {
    Op op;
    op.type = Op::kDestroy;
    op.queue = name;
    journal_->Append(op);
  }
  // A re-created queue is "alive" again only once someone polls it.
  store_.ForgetTransferDeadline(name);
}

std::optional<Reply> Broker::Transfer(ConnId conn, const std::string& session,
                                      const std::string& body, Done done) {
  if (JsonNestsDeeperThan(body, 16)) return Internal("transfer request nests too deeply");
  auto json = nlohmann::json::parse(body, nullptr, false);
  if (json.is_discarded() || !json.is_object()) {
    return Internal("transfer request is not a JSON object");
  }
  std::optional<int64_t> from;
  std::optional<double> timeout;
  std::optional<std::vector<std::string>> queues;
  // Keys match case-insensitively and unknown keys are ignored, as in the reference decoder.
  for (const auto& [key, value] : json.items()) {
    if (IEquals(key, "from")) {
      int64_t v;
      if (value.is_null()) continue;
      if (value.is_string() && ParseInt64(value.get_ref<const std::string&>(), &v)) from = v;
      else if (value.is_number_integer()) from = value.get<int64_t>();
      else return Internal("transfer \"from\" must be a string holding an integer");
    } else if (IEquals(key, "timeout")) {
      double v;
      if (value.is_number()) timeout = value.get<double>();
      else if (value.is_string() && ParseSeconds(value.get<std::string>(), &v)) timeout = v;
      else return Internal("transfer \"timeout\" must be a number of seconds");
    } else if (IEquals(key, "queues")) {
      if (!value.is_array()) return Internal("transfer \"queues\" must be a list of names");
      queues.emplace();
      for (const auto& q : value) {
        if (!q.is_string()) return Internal("transfer \"queues\" must be a list of names");
        queues->push_back(q.get<std::string>());
      }
    }
  }
  if (!timeout) return Internal("transfer request lacks \"timeout\"");
  if (!queues) return Internal("transfer request lacks \"queues\"");
  double t = *timeout;
  if (!(t > 0)) t = 0;  // also NaN
  t = std::min(t, options_.max_poll_seconds);
  int64_t cursor = from.value_or(-1);

  int64_t deadline = mono_() + SecondsToNs(t);
  for (const auto& name : *queues) store_.SetTransferDeadline(name, deadline);
  if (t == 0 || store_.AnyAfter(*queues, cursor)) {
    return FinishTransfer(*queues, cursor, t, session);
  }
  Waiter w;
  w.conn = conn;
  w.is_trace = false;
  w.deadline_ns = deadline;
  w.queues = std::move(*queues);
  w.from = cursor;
  w.timeout_s = t;
  w.session = session;
  w.done = std::move(done);
  Park(std::move(w));
  return std::nullopt;
}

Reply Broker::FinishTransfer(const std::vector<std::string>& queues, int64_t from,
                             double timeout_s, const std::string& session) {
  int64_t now = mono_();
  for (const auto& name : queues) store_.SetTransferDeadline(name, now + SecondsToNs(timeout_s));
  auto selected = store_.Select(queues, from);
  std::string out = "{\"messages\":[";
  int64_t next = from;
  bool first = true;
  double wall = selected.empty() ? 0 : wall_();
  for (const auto& [id, entry] : selected) {
    if (!first) out.push_back(',');
    first = false;
    out.push_back('[');
    AppendMessageIdJson(&out, id);
    out.push_back(',');
    AppendMessageJson(&out, entry->message);
    out.push_back(']');
    next = std::max(next, id.seq);

    TraceEvent e;
    e.time = wall;
    e.queue = id.queue;
    e.output = session;
    e.id = id;
    if (trace_.keeps_events()) {
      e.message.payload = trace_.Compact(entry->message.payload);
      e.message.is_request = entry->message.is_request;
      e.message.reply_to = entry->message.reply_to;
      e.message.request = entry->message.request;
    }
    if (!entry->message.is_request) {
      if (const Queue* rq = store_.Find(entry->message.request.queue)) {
        auto it = rq->contents.find(entry->message.request.seq);
        if (it != rq->contents.end()) e.processing_time_ns = now - it->second.time_ns;
      }
    }
    trace_.Add(std::move(e));
  }
  out.append("],\"next\":\"");
  out.append(std::to_string(next));
  out.append("\"}");
  if (!selected.empty()) WakeTraces();
  return Ok(std::move(out));
}

std::optional<Reply> Broker::Trace(ConnId conn, int64_t from, double timeout_s, Done done) {
  double t = timeout_s > 0 ? std::min(timeout_s, options_.max_poll_seconds) : 0;
  if (trace_.next_index() > from || t == 0) {
    std::string out;
    trace_.AppendJson(&out, from);
    return Ok(std::move(out));
  }
  Waiter w;
  w.conn = conn;
  w.is_trace = true;
  w.deadline_ns = mono_() + SecondsToNs(t);
  w.trace_from = from;
  w.done = std::move(done);
  Park(std::move(w));
  return std::nullopt;
}

const Message* Broker::FindRequest(const std::string& queue, int64_t seq, Reply* refusal) {
  *refusal = NoSuchMessage();
  Queue* q = store_.Find(queue);
  if (q == nullptr) return nullptr;
  auto it = q->contents.find(seq);
  if (it == q->contents.end()) return nullptr;
  if (!it->second.message.is_request) {
    *refusal = BadRequest("Message " + queue + "/" + std::to_string(seq) +
                          " is a response, not a request");
    return nullptr;
  }
  return &it->second.message;
}

Reply Broker::Cancel(const std::string& session, const std::string& queue, int64_t seq) {
  Reply refusal;
  const Message* found = FindRequest(queue, seq, &refusal);
  if (found == nullptr) return refusal;
  Message request = *found;  // a copy: the Ack below removes the original
  Ack(session, queue, seq, nullptr);

  std::string where = queue + "/" + std::to_string(seq);
  Message reply;
  reply.is_request = false;
  reply.request = {queue, seq};
  reply.payload = CancelledPayload(request.payload, where);
  bool full = false;
  Store(session, request.reply_to, std::move(reply), &full);

  // Tell a server that may already be working on it.
  std::string cancel_queue = queue + ".cancel";
  if (store_.Find(cancel_queue) != nullptr) {
    Message note;
    note.is_request = true;
    note.reply_to = session;
    note.payload = "{\"queue\":" + Quote(queue) + ",\"id\":" + std::to_string(seq) + "}";
    Store(session, cancel_queue, std::move(note), &full);
  }
  return Ok();
}

Reply Broker::ReplyByHand(const std::string& session, const std::string& queue, int64_t seq,
                          const std::string& body) {
  Reply refusal;
  const Message* request = FindRequest(queue, seq, &refusal);
  if (request == nullptr) return refusal;
  std::string reply_to = request->reply_to;
  Message reply;
  reply.is_request = false;
  reply.request = {queue, seq};
  reply.payload = body;
  bool full = false;
  Store(session, reply_to, std::move(reply), &full);
  if (full) {
    return {507, "Queue " + reply_to + " is full: it holds " +
                     std::to_string(options_.max_queue_messages) +
                     " messages (--max-queue-messages)"};
  }
  Ack(session, queue, seq, nullptr);
  return Ok();
}

uint64_t Broker::Park(Waiter w) {
  uint64_t id = next_waiter_id_++;
  w.id = id;
  if (w.is_trace) {
    trace_waiters_.insert(id);
  } else {
    for (const auto& name : w.queues) waiters_by_queue_.emplace(name, id);
  }
  waiters_by_deadline_.emplace(w.deadline_ns, id);
  waiters_.emplace(id, std::move(w));
  return id;
}

Broker::Waiter Broker::Unpark(uint64_t id) {
  auto it = waiters_.find(id);
  Waiter w = std::move(it->second);
  waiters_.erase(it);
  if (w.is_trace) {
    trace_waiters_.erase(id);
  } else {
    for (const auto& name : w.queues) {
      auto [b, e] = waiters_by_queue_.equal_range(name);
      for (auto i = b; i != e; ++i) {
        if (i->second == id) {
          waiters_by_queue_.erase(i);
          break;
        }
      }
    }
  }
  auto [b, e] = waiters_by_deadline_.equal_range(w.deadline_ns);
  for (auto i = b; i != e; ++i) {
    if (i->second == id) {
      waiters_by_deadline_.erase(i);
      break;
    }
  }
  return w;
}

void Broker::WakeQueue(const std::string& queue) {
  auto [b, e] = waiters_by_queue_.equal_range(queue);
  if (b == e) return;
  std::vector<uint64_t> ready;
  for (auto i = b; i != e; ++i) {
    const Waiter& w = waiters_.at(i->second);
    // A transfer naming this queue twice is listed twice; complete it once.
    if (store_.AnyAfter(w.queues, w.from) &&
        std::find(ready.begin(), ready.end(), i->second) == ready.end()) {
      ready.push_back(i->second);
    }
  }
  for (uint64_t id : ready) {
    if (waiters_.find(id) == waiters_.end()) continue;
    Waiter w = Unpark(id);
    w.done(FinishTransfer(w.queues, w.from, w.timeout_s, w.session));
  }
}

void Broker::WakeTraces() {
  if (trace_waiters_.empty()) return;
  std::vector<uint64_t> ready;
  for (uint64_t id : trace_waiters_) {
    if (trace_.next_index() > waiters_.at(id).trace_from) ready.push_back(id);
  }
  for (uint64_t id : ready) {
    Waiter w = Unpark(id);
    std::string out;
    trace_.AppendJson(&out, w.trace_from);
    w.done(Ok(std::move(out)));
  }
}

std::optional<int64_t> Broker::NextDeadline() const {
  if (waiters_by_deadline_.empty()) return std::nullopt;
  return waiters_by_deadline_.begin()->first;
}

std::optional<int64_t> Broker::Expire() {
  int64_t now = mono_();
  while (!waiters_by_deadline_.empty() && waiters_by_deadline_.begin()->first <= now) {
    Waiter w = Unpark(waiters_by_deadline_.begin()->second);
    if (w.is_trace) {
      std::string out;
      trace_.AppendJson(&out, w.trace_from);
      w.done(Ok(std::move(out)));
    } else {
      w.done(FinishTransfer(w.queues, w.from, w.timeout_s, w.session));
    }
  }
  return NextDeadline();
}

void Broker::ConnectionClosed(ConnId conn) {
  std::vector<uint64_t> parked;
  for (const auto& [id, w] : waiters_) {
    if (w.conn == conn) parked.push_back(id);
  }
  for (uint64_t id : parked) Unpark(id);

  auto it = logins_.find(conn);
  if (it == logins_.end()) return;
  std::set<std::string> tokens = std::move(it->second);
  logins_.erase(it);
  for (const auto& token : tokens) {
    auto count = session_conns_.find(token);
    if (count == session_conns_.end() || --count->second > 0) continue;
    session_conns_.erase(count);
    for (const auto& name : store_.OwnedBy(token)) DestroyQueue(name);
  }
}

void Broker::Housekeeping() {
  int64_t now = mono_();
  store_.PruneTransferDeadlines(now - kDeadlineRetentionNs);
  for (auto it = orphans_.begin(); it != orphans_.end();) {
    if (it->second > now) {
      ++it;
      continue;
    }
    if (session_conns_.find(it->first) == session_conns_.end()) {
      for (const auto& name : store_.OwnedBy(it->first)) DestroyQueue(name);
    }
    it = orphans_.erase(it);
  }
}

}  // namespace msw

// The broker: maps each HTTP request of the switch protocol to the queue store and builds the
// exact reply (spec §1). It owns the sessions, the parked long-polls (transfer and trace), the
// trace ring and the journal hooks; it does no I/O of its own, so the server feeds it parsed
// requests and delivers its replies, and the fuzz target can drive it without sockets.
//
// Long-polls: a transfer whose selection is empty is parked on the queues it names, and only a
// store into one of those queues re-checks it (the reference woke every waiter on every change).
// A parked request completes exactly once: through its callback when data arrives or its
// deadline passes (Expire), or silently when its connection closes first.
//
// Not thread-safe: one event-loop thread calls everything.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "switch/http_parser.h"
#include "switch/queue_store.h"
#include "switch/trace_ring.h"

namespace msw {

class Journal;

struct BrokerOptions {
  std::size_t trace_entries = 16;
  std::size_t trace_truncate = 256;
  std::size_t trace_max_bytes = 4 << 20;
  std::size_t max_queue_messages = 500000;
  double max_poll_seconds = 3600;  // cap on transfer and trace long-poll timeouts
};

struct Reply {
  int status = 200;
  std::string body;
};

class Broker {
 public:
  using ConnId = uint64_t;
  using Done = std::function<void(Reply)>;
  // Clocks: switch-monotonic ns since start, and Unix wall-clock seconds.
  using MonoClock = std::function<int64_t()>;
  using WallClock = std::function<double()>;

  Broker(BrokerOptions options, MonoClock mono, WallClock wall, Journal* journal);
  ~Broker();

  // Handles one request from connection `conn`. Returns the reply, or nullopt when the request is
  // parked; `done` is then called later with the reply (unless the connection closes first).
  std::optional<Reply> Handle(ConnId conn, const HttpRequest& request, Done done);

  // A connection has closed: forgets its parked requests and its logins, and destroys the
  // transient queues of every session that has no connection left.
  void ConnectionClosed(ConnId conn);

  // Completes every parked request whose deadline is <= now. Returns the earliest remaining
  // deadline (switch-monotonic ns), if any, so the caller can arm one timer.
  std::optional<int64_t> Expire();
  std::optional<int64_t> NextDeadline() const;

  // Call once after a journal replay filled store(): the restored transient queues are removed
  // unless their owner logs in again within a grace period (see docs/switch.md).
  void AdoptRestoredState();

  // Periodic housekeeping: prunes liveness entries of long-gone queues.
  void Housekeeping();

  // The broker's clock: switch-monotonic ns since start.
  int64_t now_ns() const { return mono_(); }

  // Set once a logged-in client has asked the switch to shut down.
  bool shutdown_requested() const { return shutdown_requested_; }

  QueueStore& store() { return store_; }
  // Attaches the journal that records every later state change (null: none).
  void set_journal(Journal* journal) { journal_ = journal; }
  const TraceRing& trace() const { return trace_; }
  std::size_t parked() const { return waiters_.size(); }

 private:
  struct Waiter {
    uint64_t id;
    ConnId conn;
    bool is_trace;
    int64_t deadline_ns;
    // transfer
    std::vector<std::string> queues;
    int64_t from = -1;
    double timeout_s = 0;
    std::string session;
    // trace
    int64_t trace_from = -1;
    Done done;
  };

  std::optional<std::string> SessionOf(ConnId conn) const;
  Reply Diagnostics() const;
  Reply List(const std::string& prefix, bool alive_only) const;
  std::optional<Reply> Transfer(ConnId conn, const std::string& session, const std::string& body,
                                Done done);
  Reply FinishTransfer(const std::vector<std::string>& queues, int64_t from, double timeout_s,
                       const std::string& session);
  std::optional<Reply> Trace(ConnId conn, int64_t from, double timeout_s, Done done);
  Reply Send(const std::string& session, const std::string& queue, Message message);
  // Stores a message; returns its seq, or nullopt if the queue is missing. Sets *full if refused.
  std::optional<int64_t> Store(const std::string& session, const std::string& queue,
                               Message message, bool* full);
  void Ack(const std::string& session, const std::string& queue, int64_t seq, bool* removed);
  void DestroyQueue(const std::string& name);
  // The unanswered request `queue`/`seq`, for the admin routes that act on one. Returns null
  // and sets *refusal (404 when absent, 400 when the message is a response) otherwise.
  const Message* FindRequest(const std::string& queue, int64_t seq, Reply* refusal);
  Reply Cancel(const std::string& session, const std::string& queue, int64_t seq);
  Reply ReplyByHand(const std::string& session, const std::string& queue, int64_t seq,
                    const std::string& body);

  uint64_t Park(Waiter w);
  // Removes a parked request from every index and returns it. REQUIRES: it is parked.
  Waiter Unpark(uint64_t id);
  void WakeQueue(const std::string& queue);
  void WakeTraces();

  BrokerOptions options_;
  MonoClock mono_;
  WallClock wall_;
  Journal* journal_;  // may be null: no persistence
  QueueStore store_;
  TraceRing trace_;

  // Sessions: each connection's logged-in tokens, and each token's connection count.
  std::map<ConnId, std::set<std::string>> logins_;
  std::map<std::string, std::size_t> session_conns_;
  // Owners of restored transient queues -> end of their grace period (switch-monotonic ns).
  std::map<std::string, int64_t> orphans_;

  uint64_t next_waiter_id_ = 1;
  std::map<uint64_t, Waiter> waiters_;
  std::multimap<std::string, uint64_t> waiters_by_queue_;
  std::multimap<int64_t, uint64_t> waiters_by_deadline_;
  std::set<uint64_t> trace_waiters_;
  bool shutdown_requested_ = false;
};

// Percent-decodes `s` once. Returns false on a malformed escape.
bool PercentDecode(std::string_view s, std::string* out);

}  // namespace msw

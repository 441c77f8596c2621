// The queue store: named queues of messages, their ids, owners and liveness deadlines.
//
// A queue holds messages keyed by a per-queue sequence number that starts at 0 when the queue is
// created and rises by one for each stored message. Persistent queues have no owner; transient
// queues are owned by a session token and are removed when that session ends (the broker decides
// when). Messages stay until acknowledged; reading never removes anything. See spec §1.7, §2.
//
// This module is pure data: no I/O, no clock, no persistence (the broker journals each change).
// Not thread-safe; the switch's single event-loop thread owns it.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace msw {

// (queue name, sequence number): both the message id and, in a Response, the correlation.
struct MessageId {
  std::string queue;
  int64_t seq = 0;
};

struct Message {
  std::string payload;
  bool is_request = true;
  std::string reply_to;   // for a request: the queue the caller waits on
  MessageId request;      // for a response: the request it answers
};

// A stored message with the metadata shown by diagnostics.
struct Entry {
  std::string origin;     // the sender's session token
  int64_t time_ns = 0;    // switch-monotonic enqueue time (may be negative after a restore)
  Message message;
};

struct Queue {
  std::string name;
  std::optional<std::string> owner;   // set for transient queues
  std::map<int64_t, Entry> contents;  // seq -> entry
  int64_t next_id = 0;
  std::size_t payload_bytes = 0;      // sum of payload sizes, for limits and compaction
};

class QueueStore {
 public:
  // Creates the queue if absent and returns true; an existing queue keeps its owner and kind.
  bool Create(const std::string& name, std::optional<std::string> owner);

  // Removes the queue and its messages. Returns false if there was none.
  bool Destroy(const std::string& name);

  // Returns the queue, or nullptr. The pointer is valid until the queue is destroyed.
  Queue* Find(const std::string& name);
  const Queue* Find(const std::string& name) const;

  // Appends a message with the next id of `queue`. REQUIRES: the queue exists.
  int64_t Append(Queue* queue, Entry entry);

  // Inserts a message with a known id (replaying persisted state); raises next_id above it.
  void Restore(Queue* queue, int64_t seq, Entry entry);

  // Removes one message. Returns false if it was not there.
  bool Remove(const std::string& queue, int64_t seq);

  // Removes every message of a queue; returns how many were removed (0 if no such queue).
  std::size_t Clear(const std::string& queue);

  // Messages of `names` (in that order) with seq > from, newest first within each queue.
  // Missing names contribute nothing.
  std::vector<std::pair<MessageId, const Entry*>> Select(const std::vector<std::string>& names,
                                                         int64_t from) const;

  // True if any of `names` holds a message with seq > from (Select would be non-empty).
  bool AnyAfter(const std::vector<std::string>& names, int64_t from) const;

  // Names starting with `prefix`, in descending byte order (the reference's order).
  std::vector<std::string> List(const std::string& prefix) const;

  // Names of the queues owned by `owner`.
  std::vector<std::string> OwnedBy(const std::string& owner) const;

  const std::map<std::string, Queue>& queues() const { return queues_; }

  // Liveness: the deadline (switch-monotonic ns) of the latest transfer naming each queue.
  void SetTransferDeadline(const std::string& name, int64_t deadline_ns);
  std::optional<int64_t> TransferDeadline(const std::string& name) const;
  void ForgetTransferDeadline(const std::string& name);
  const std::map<std::string, int64_t>& transfer_deadlines() const { return deadlines_; }
  // Drops deadlines of names with no queue that expired before `before_ns` (bounds the map).
  void PruneTransferDeadlines(int64_t before_ns);

  std::size_t message_count() const { return message_count_; }

 private:
  std::map<std::string, Queue> queues_;
  std::map<std::string, int64_t> deadlines_;
  std::size_t message_count_ = 0;
};

}  // namespace msw

// The trace ring: the last few message events, for `message-cli tail` and `mscgen` (spec §5.1).
//
// Each event gets a global index rising from 0. The ring keeps at most `max_entries` events and
// at most `max_bytes` of stored text (the reference bounded only the entry count, which is how a
// guest could make it hold gigabytes: XSA-354). Payloads are compacted on the way in: a JSON
// payload is re-serialised compactly with every string and key of `truncate` bytes or more cut
// to that length plus "…"; any other payload is cut the same way as one string.
//
// Not thread-safe; owned by the event-loop thread.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>

#include "switch/queue_store.h"

namespace msw {

struct TraceEvent {
  double time = 0;                    // Unix wall-clock seconds
  std::optional<std::string> input;   // the sender's session
  std::string queue;
  std::optional<std::string> output;  // the receiver's session
  bool is_ack = false;
  MessageId id;
  Message message;                    // compacted payload; unused for an ack
  std::optional<int64_t> processing_time_ns;
};

class TraceRing {
 public:
  TraceRing(std::size_t max_entries, std::size_t max_bytes, std::size_t truncate);

  // Appends an event, dropping the oldest events beyond the bounds. The event's payload must
  // already be compacted (Compact), so the caller copies only the compacted text.
  // With max_entries == 0 nothing is kept, but indices still advance.
  void Add(TraceEvent event);

  // False when the ring keeps nothing (--trace-entries 0): callers may skip building events'
  // payloads, but must still call Add so indices advance.
  bool keeps_events() const { return max_entries_ > 0; }

  // The index the next event will get.
  int64_t next_index() const { return next_index_; }

  // Appends {"events":[[index,event],...]} for every kept event with index >= from.
  void AppendJson(std::string* out, int64_t from) const;

  std::size_t size() const { return events_.size(); }
  std::size_t bytes() const { return bytes_; }

  // The compaction rule, exposed for tests.
  std::string Compact(const std::string& payload) const;

 private:
  struct Stored {
    int64_t index;
    TraceEvent event;
    std::size_t bytes;
  };
  std::size_t max_entries_;
  std::size_t max_bytes_;
  std::size_t truncate_;
  std::deque<Stored> events_;
  std::size_t bytes_ = 0;
  int64_t next_index_ = 0;
};

// Appends one event as the reference JSON object.
void AppendTraceEventJson(std::string* out, const TraceEvent& e);

// Appends a message as {"payload":..,"kind":..} and an id as ["queue",seq].
void AppendMessageJson(std::string* out, const Message& m);
void AppendMessageIdJson(std::string* out, const MessageId& id);

// True if `s` nests arrays/objects deeper than `limit` (checked before parsing untrusted JSON
// so that recursive code never sees a pathological tree).
bool JsonNestsDeeperThan(std::string_view s, int limit);

}  // namespace msw

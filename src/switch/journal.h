// Persistence of the queue store under a state directory: a snapshot plus an append-only journal.
//
// Every state change is one Op. The broker appends ops as it handles requests; the server calls
// Sync() once per batch, before any answer of that batch is written, so a change is in the file
// (and, with fsync enabled, on disk) before anyone is told it happened. Records are checksummed;
// at start-up a torn or corrupt tail of the journal (a crash in mid-write) is cut off and
// everything before it is replayed. The journal is compacted into a new snapshot when it has
// grown well beyond the live data. File format: docs/switch.md "State directory".
//
// Sequence numbers are never reused: each queue's next id is persisted with it (in the snapshot)
// and raised by every replayed Send, including sends whose message was acked since.
//
// Not thread-safe; owned by the event-loop thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "switch/queue_store.h"

namespace msw {

struct Op {
  enum Type : uint8_t { kCreate = 1, kDestroy = 2, kSend = 3, kAck = 4, kHeader = 5, kClear = 6 };
  Type type = kCreate;
  std::string queue;
  std::optional<std::string> owner;  // kCreate
  int64_t seq = 0;                   // kSend, kAck; kCreate: next_id; kHeader: generation
  Entry entry;                       // kSend; entry.time_ns holds wall-clock ns on disk
};

// Encodes one op as a record: [u32 length][u32 crc32][payload]. Decoding returns false on a
// record that is truncated or fails its checksum.
void EncodeRecord(const Op& op, std::string* out);
bool DecodeRecord(std::string_view data, std::size_t* consumed, Op* op);
// Encodes a kSend record without copying the entry; `time_offset_ns` is added to its time.
void EncodeSendRecord(std::string_view queue, int64_t seq, const Entry& entry,
                      int64_t time_offset_ns, std::string* out);

class Journal {
 public:
  // Opens (creating files as needed) the journal in `dir`, which must exist, and replays it into
  // `store`. `wall_offset_ns` converts stored wall-clock times to switch-monotonic ones (the
  // wall-clock ns at switch start). On failure returns null and sets `*error`.
  static std::unique_ptr<Journal> Open(const std::string& dir, bool fsync, int64_t wall_offset_ns,
                                       QueueStore* store, std::string* error);
  ~Journal();

  // Buffers an op (entry times are switch-monotonic; they are stored as wall-clock).
  void Append(const Op& op);
  void AppendSend(std::string_view queue, int64_t seq, const Entry& entry);

  // Writes the buffered ops (and fsyncs if enabled). Returns false with `*error` on failure.
  bool Sync(std::string* error);

  // Rewrites the snapshot from `store` and starts an empty journal if the journal has grown past
  // max(kMinCompactBytes, 2 * live payload bytes). Returns false with `*error` on failure.
  bool MaybeCompact(const QueueStore& store, std::string* error);
  bool Compact(const QueueStore& store, std::string* error);

  uint64_t journal_bytes() const { return journal_bytes_; }
  std::size_t dropped_tail_bytes() const { return dropped_tail_bytes_; }
  int64_t generation() const { return generation_; }

  static constexpr uint64_t kMinCompactBytes = 64ull << 20;

 private:
  Journal() = default;
  std::string dir_;
  bool fsync_ = false;
  int64_t wall_offset_ns_ = 0;
  int fd_ = -1;
  int lock_fd_ = -1;
  int64_t generation_ = 0;
  std::string pending_;
  uint64_t journal_bytes_ = 0;
  std::size_t dropped_tail_bytes_ = 0;
};

}  // namespace msw

#include "switch/journal.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include <boost/crc.hpp>

namespace msw {
namespace {

constexpr std::size_t kMaxRecordBytes = 1u << 30;

void PutU32(std::string* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void PutI64(std::string* out, int64_t v) {
  uint64_t u = static_cast<uint64_t>(v);
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>((u >> (8 * i)) & 0xff));
}
void PutStr(std::string* out, std::string_view s) {
  PutU32(out, static_cast<uint32_t>(s.size()));
  out->append(s);
}

uint32_t Crc(std::string_view s) {
  boost::crc_32_type crc;
  crc.process_bytes(s.data(), s.size());
  return crc.checksum();
}

// A bounds-checked reader over one record's payload.
class Reader {
 public:
  explicit Reader(std::string_view s) : s_(s) {}
  bool U8(uint8_t* v) {
    if (s_.size() < 1) return false;
    *v = static_cast<uint8_t>(s_[0]);
    s_.remove_prefix(1);
    return true;
  }
  bool U32(uint32_t* v) {
    if (s_.size() < 4) return false;
    *v = 0;
    for (int i = 0; i < 4; ++i) *v |= static_cast<uint32_t>(static_cast<uint8_t>(s_[i])) << (8 * i);
    s_.remove_prefix(4);
    return true;
  }
  bool I64(int64_t* v) {
    if (s_.size() < 8) return false;
    uint64_t u = 0;
    for (int i = 0; i < 8; ++i) u |= static_cast<uint64_t>(static_cast<uint8_t>(s_[i])) << (8 * i);
    *v = static_cast<int64_t>(u);
    s_.remove_prefix(8);
    return true;
  }
  bool Str(std::string* v) {
    uint32_t n;
    if (!U32(&n) || s_.size() < n) return false;
    v->assign(s_.substr(0, n));
    s_.remove_prefix(n);
    return true;
  }
  bool done() const { return s_.empty(); }

 private:
  std::string_view s_;
};

std::string Errno(const std::string& what) { return what + ": " + std::strerror(errno); }

bool WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

bool ReadFile(const std::string& path, std::string* out, bool* exists) {
  out->clear();
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *exists = false;
    return errno == ENOENT;
  }
  *exists = true;
  out->clear();
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ::close(fd);
      return false;
    }
    if (n == 0) break;
    out->append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return true;
}

bool SyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = ::fsync(fd) == 0;
  ::close(fd);
  return ok;
}

std::string JournalName(const std::string& dir, int64_t gen) {
  return dir + "/journal." + std::to_string(gen);
}

void ApplyOp(const Op& op, int64_t wall_offset_ns, QueueStore* store) {
  switch (op.type) {
    case Op::kCreate: {
      store->Create(op.queue, op.owner);
      Queue* q = store->Find(op.queue);
      q->next_id = std::max(q->next_id, op.seq);
      break;
    }
    case Op::kDestroy:
      store->Destroy(op.queue);
      break;
    case Op::kSend: {
      Queue* q = store->Find(op.queue);
      if (q == nullptr) {
        store->Create(op.queue, std::nullopt);
        q = store->Find(op.queue);
      }
      Entry e = op.entry;
      e.time_ns = op.entry.time_ns - wall_offset_ns;
      store->Restore(q, op.seq, std::move(e));
      break;
    }
    case Op::kAck:
      store->Remove(op.queue, op.seq);
      break;
    case Op::kClear:
      store->Clear(op.queue);
      break;
    case Op::kHeader:
      break;
  }
}

void AppendSendFields(std::string_view queue, int64_t seq, const Entry& entry,
                      int64_t time_offset_ns, std::string* out) {
  const Message& m = entry.message;
  PutStr(out, queue);
  PutI64(out, seq);
  PutStr(out, entry.origin);
  PutI64(out, entry.time_ns + time_offset_ns);
  out->push_back(m.is_request ? 1 : 0);
  if (m.is_request) {
    PutStr(out, m.reply_to);
  } else {
    PutStr(out, m.request.queue);
    PutI64(out, m.request.seq);
  }
  PutStr(out, m.payload);
}

void FinishRecord(std::size_t start, std::string* out);

}  // namespace

void EncodeRecord(const Op& op, std::string* out) {
  std::size_t start = out->size();
  out->append(8, '\0');  // length and checksum, filled in below
  out->push_back(static_cast<char>(op.type));
  switch (op.type) {
    case Op::kHeader:
      PutI64(out, op.seq);
      break;
    case Op::kCreate:
      PutStr(out, op.queue);
      out->push_back(op.owner ? 1 : 0);
      if (op.owner) PutStr(out, *op.owner);
      PutI64(out, op.seq);
      break;
    case Op::kDestroy:
    case Op::kClear:
      PutStr(out, op.queue);
      break;
    case Op::kAck:
      PutStr(out, op.queue);
      PutI64(out, op.seq);
      break;
    case Op::kSend:
      AppendSendFields(op.queue, op.seq, op.entry, 0, out);
      break;
  }
  FinishRecord(start, out);
}

void EncodeSendRecord(std::string_view queue, int64_t seq, const Entry& entry,
                      int64_t time_offset_ns, std::string* out) {
  std::size_t start = out->size();
  out->append(8, '\0');
  out->push_back(static_cast<char>(Op::kSend));
  AppendSendFields(queue, seq, entry, time_offset_ns, out);
  FinishRecord(start, out);
}

namespace {
void FinishRecord(std::size_t start, std::string* out) {
  std::string_view payload(out->data() + start + 8, out->size() - start - 8);
  uint32_t len = static_cast<uint32_t>(payload.size());
  uint32_t crc = Crc(payload);
  for (int i = 0; i < 4; ++i) {
    (*out)[start + i] = static_cast<char>((len >> (8 * i)) & 0xff);
    (*out)[start + 4 + i] = static_cast<char>((crc >> (8 * i)) & 0xff);
  }
}
}  // namespace

bool DecodeRecord(std::string_view data, std::size_t* consumed, Op* op) {
  Reader header(data);
  uint32_t len, crc;
  if (!header.U32(&len) || !header.U32(&crc)) return false;
  if (len == 0 || len > kMaxRecordBytes || data.size() - 8 < len) return false;
  std::string_view payload = data.substr(8, len);
  if (Crc(payload) != crc) return false;
  Reader r(payload);
  uint8_t type;
  r.U8(&type);
  *op = Op();
  op->type = static_cast<Op::Type>(type);
  bool ok = false;
  switch (type) {
    case Op::kHeader:
      ok = r.I64(&op->seq);
      break;
    case Op::kCreate: {
      uint8_t has_owner;
      ok = r.Str(&op->queue) && r.U8(&has_owner);
      if (ok && has_owner) {
        op->owner.emplace();
        ok = r.Str(&*op->owner);
      }
      ok = ok && r.I64(&op->seq);
      break;
    }
    case Op::kDestroy:
    case Op::kClear:
      ok = r.Str(&op->queue);
      break;
    case Op::kAck:
      ok = r.Str(&op->queue) && r.I64(&op->seq);
      break;
    case Op::kSend: {
      Message& m = op->entry.message;
      uint8_t is_request;
      ok = r.Str(&op->queue) && r.I64(&op->seq) && r.Str(&op->entry.origin) &&
           r.I64(&op->entry.time_ns) && r.U8(&is_request);
      if (ok) {
        m.is_request = is_request != 0;
        if (m.is_request) ok = r.Str(&m.reply_to);
        else ok = r.Str(&m.request.queue) && r.I64(&m.request.seq);
      }
      ok = ok && r.Str(&m.payload);
      break;
    }
    default:
      return false;
  }
  if (!ok || !r.done()) return false;
  *consumed = 8 + len;
  return true;
}

std::unique_ptr<Journal> Journal::Open(const std::string& dir, bool fsync, int64_t wall_offset_ns,
                                       QueueStore* store, std::string* error) {
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) {
    *error = dir + " does not exist";
    return nullptr;
  }
  if (!S_ISDIR(st.st_mode)) {
    *error = dir + " is not a directory";
    return nullptr;
  }
  std::unique_ptr<Journal> j(new Journal());
  j->dir_ = dir;
  j->fsync_ = fsync;
  j->wall_offset_ns_ = wall_offset_ns;

  // One switch per state directory: a second one would interleave its records with ours.
  j->lock_fd_ = ::open((dir + "/lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (j->lock_fd_ < 0) {
    *error = Errno("cannot open " + dir + "/lock");
    return nullptr;
  }
  if (::flock(j->lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    *error = "state directory " + dir + " is in use by another message-switch";
    return nullptr;
  }

  // The snapshot is written to a temporary name and renamed, so it is complete or absent.
  std::string data;
  bool exists = false;
  if (!ReadFile(dir + "/snapshot", &data, &exists)) {
    *error = Errno("cannot read " + dir + "/snapshot");
    return nullptr;
  }
  if (exists) {
    std::size_t pos = 0;
    bool first = true;
    while (pos < data.size()) {
      Op op;
      std::size_t used = 0;
      if (!DecodeRecord(std::string_view(data).substr(pos), &used, &op)) {
        *error = dir + "/snapshot is corrupt at byte " + std::to_string(pos) +
                 "; move it away to start empty";
        return nullptr;
      }
      if (first) {
        if (op.type != Op::kHeader) {
          *error = dir + "/snapshot does not start with a header record";
          return nullptr;
        }
        j->generation_ = op.seq;
        first = false;
      } else {
        ApplyOp(op, wall_offset_ns, store);
      }
      pos += used;
    }
  }

  // Replay the journal of this generation; a bad record ends it (a write cut short by a crash).
  std::string journal_path = JournalName(dir, j->generation_);
  if (!ReadFile(journal_path, &data, &exists)) {
    *error = Errno("cannot read " + journal_path);
    return nullptr;
  }
  std::size_t good = 0;
  while (good < data.size()) {
    Op op;
    std::size_t used = 0;
    if (!DecodeRecord(std::string_view(data).substr(good), &used, &op)) break;
    ApplyOp(op, wall_offset_ns, store);
    good += used;
  }
  j->dropped_tail_bytes_ = data.size() - good;
  j->fd_ = ::open(journal_path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (j->fd_ < 0 || ::ftruncate(j->fd_, static_cast<off_t>(good)) != 0 ||
      ::lseek(j->fd_, 0, SEEK_END) < 0) {
    *error = Errno("cannot open " + journal_path);
    return nullptr;
  }
  j->journal_bytes_ = good;

  // Journals of other generations are left over from an interrupted compaction.
  if (DIR* d = ::opendir(dir.c_str())) {
    std::string keep = "journal." + std::to_string(j->generation_);
    while (struct dirent* ent = ::readdir(d)) {
      std::string name = ent->d_name;
      if (name.rfind("journal.", 0) == 0 && name != keep) ::unlink((dir + "/" + name).c_str());
    }
    ::closedir(d);
  }
  return j;
}

Journal::~Journal() {
  if (fd_ >= 0) ::close(fd_);
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

void Journal::Append(const Op& op) {
  if (op.type == Op::kSend) {
    AppendSend(op.queue, op.seq, op.entry);
    return;
  }
  EncodeRecord(op, &pending_);
}

void Journal::AppendSend(std::string_view queue, int64_t seq, const Entry& entry) {
  // Stored with the wall-clock time, so a restarted switch can show correct ages.
  EncodeSendRecord(queue, seq, entry, wall_offset_ns_, &pending_);
}

bool Journal::Sync(std::string* error) {
  if (pending_.empty()) return true;
  if (!WriteAll(fd_, pending_)) {
    *error = Errno("cannot write the journal in " + dir_);
    return false;
  }
  if (fsync_ && ::fdatasync(fd_) != 0) {
    *error = Errno("cannot sync the journal in " + dir_);
    return false;
  }
  journal_bytes_ += pending_.size();
  pending_.clear();
  return true;
}

bool Journal::MaybeCompact(const QueueStore& store, std::string* error) {
  if (journal_bytes_ < kMinCompactBytes) return true;
  uint64_t live = 0;
  for (const auto& [name, q] : store.queues()) live += q.payload_bytes + 64 * q.contents.size();
  if (journal_bytes_ < 2 * live) return true;
  return Compact(store, error);
}

bool Journal::Compact(const QueueStore& store, std::string* error) {
  if (!Sync(error)) return false;
  int64_t gen = generation_ + 1;
  std::string tmp = dir_ + "/snapshot.tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    *error = Errno("cannot create " + tmp);
    return false;
  }
  std::string buf;
  Op header;
  header.type = Op::kHeader;
  header.seq = gen;
  EncodeRecord(header, &buf);
  bool ok = true;
  for (const auto& [name, q] : store.queues()) {
    Op create;
    create.type = Op::kCreate;
    create.queue = name;
    create.owner = q.owner;
    create.seq = q.next_id;
    EncodeRecord(create, &buf);
    for (const auto& [seq, entry] : q.contents) {
      EncodeSendRecord(name, seq, entry, wall_offset_ns_, &buf);
      if (buf.size() > (1u << 20)) {
        ok = ok && WriteAll(fd, buf);
        buf.clear();
      }
    }
  }
  ok = ok && WriteAll(fd, buf) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) {
    *error = Errno("cannot write " + tmp);
    ::unlink(tmp.c_str());
    return false;
  }
  // The new journal must exist before the snapshot naming its generation does.
  std::string next_path = JournalName(dir_, gen);
  int next_fd = ::open(next_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (next_fd < 0) {
    *error = Errno("cannot create " + next_path);
    return false;
  }
  if (::rename(tmp.c_str(), (dir_ + "/snapshot").c_str()) != 0) {
    *error = Errno("cannot rename " + tmp);
    ::close(next_fd);
    return false;
  }
  SyncDir(dir_);
  ::close(fd_);
  ::unlink(JournalName(dir_, generation_).c_str());
  fd_ = next_fd;
  generation_ = gen;
  journal_bytes_ = 0;
  return true;
}

}  // namespace msw

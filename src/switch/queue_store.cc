#include "switch/queue_store.h"

#include <algorithm>

namespace msw {

bool QueueStore::Create(const std::string& name, std::optional<std::string> owner) {
  auto [it, inserted] = queues_.try_emplace(name);
  if (inserted) {
    it->second.name = name;
    it->second.owner = std::move(owner);
  }
  return inserted;
}

bool QueueStore::Destroy(const std::string& name) {
  auto it = queues_.find(name);
  if (it == queues_.end()) return false;
  message_count_ -= it->second.contents.size();
  queues_.erase(it);
  return true;
}

Queue* QueueStore::Find(const std::string& name) {
  auto it = queues_.find(name);
  return it == queues_.end() ? nullptr : &it->second;
}

const Queue* QueueStore::Find(const std::string& name) const {
  auto it = queues_.find(name);
  return it == queues_.end() ? nullptr : &it->second;
}

int64_t QueueStore::Append(Queue* queue, Entry entry) {
  int64_t seq = queue->next_id++;
  queue->payload_bytes += entry.message.payload.size();
  queue->contents.emplace_hint(queue->contents.end(), seq, std::move(entry));
  ++message_count_;
  return seq;
}

void QueueStore::Restore(Queue* queue, int64_t seq, Entry entry) {
  std::size_t size = entry.message.payload.size();
  auto [it, inserted] = queue->contents.insert_or_assign(seq, std::move(entry));
  (void)it;
  if (inserted) {
    ++message_count_;
    queue->payload_bytes += size;
  }
  queue->next_id = std::max(queue->next_id, seq + 1);
}

bool QueueStore::Remove(const std::string& name, int64_t seq) {
  Queue* q = Find(name);
  if (q == nullptr) return false;
  auto it = q->contents.find(seq);
  if (it == q->contents.end()) return false;
  q->payload_bytes -= it->second.message.payload.size();
  q->contents.erase(it);
  --message_count_;
  return true;
}

std::size_t QueueStore::Clear(const std::string& name) {
  Queue* q = Find(name);
  if (q == nullptr) return 0;
  std::size_t n = q->contents.size();
  q->contents.clear();
  q->payload_bytes = 0;
  message_count_ -= n;
  return n;
}

std::vector<std::pair<MessageId, const Entry*>> QueueStore::Select(
    const std::vector<std::string>& names, int64_t from) const {
  std::vector<std::pair<MessageId, const Entry*>> out;
  for (const auto& name : names) {
    const Queue* q = Find(name);
    if (q == nullptr) continue;
    auto stop = q->contents.upper_bound(from);
    for (auto it = q->contents.end(); it != stop;) {
      --it;
      out.push_back({MessageId{name, it->first}, &it->second});
    }
  }
  return out;
}

bool QueueStore::AnyAfter(const std::vector<std::string>& names, int64_t from) const {
  for (const auto& name : names) {
    const Queue* q = Find(name);
    if (q != nullptr && !q->contents.empty() && q->contents.rbegin()->first > from) return true;
  }
  return false;
}

std::vector<std::string> QueueStore::List(const std::string& prefix) const {
  std::vector<std::string> out;
  for (auto it = queues_.lower_bound(prefix); it != queues_.end(); ++it) {
    if (it->first.compare(0, prefix.size(), prefix) != 0) break;
    out.push_back(it->first);
  }
  std::reverse(out.begin(), out.end());
  return out;
}

std::vector<std::string> QueueStore::OwnedBy(const std::string& owner) const {
  std::vector<std::string> out;
  for (const auto& [name, q] : queues_) {
    if (q.owner && *q.owner == owner) out.push_back(name);
  }
  return out;
}

void QueueStore::SetTransferDeadline(const std::string& name, int64_t deadline_ns) {
  deadlines_[name] = deadline_ns;
}

std::optional<int64_t> QueueStore::TransferDeadline(const std::string& name) const {
  auto it = deadlines_.find(name);
  if (it == deadlines_.end()) return std::nullopt;
  return it->second;
}

void QueueStore::ForgetTransferDeadline(const std::string& name) { deadlines_.erase(name); }

void QueueStore::PruneTransferDeadlines(int64_t before_ns) {
  for (auto it = deadlines_.begin(); it != deadlines_.end();) {
    if (it->second < before_ns && queues_.find(it->first) == queues_.end()) {
      it = deadlines_.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace msw

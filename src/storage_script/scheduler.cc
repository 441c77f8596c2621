#include "storage_script/scheduler.h"

namespace storage {

Scheduler::Scheduler(int max_running, int max_per_group)
    : max_running_(max_running), max_per_group_(max_per_group) {
  for (int i = 0; i < max_running_; ++i) workers_.emplace_back([this] { Worker(); });
}

Scheduler::~Scheduler() {
  Shutdown();
  for (auto& t : workers_) t.join();
}

void Scheduler::Submit(std::string group, std::string key, std::function<void()> job,
                       std::function<void()> discard) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!stopping_) {
      pending_.push_back(Job{std::move(group), std::move(key), std::move(job), std::move(discard)});
      // Workers are interchangeable: one is enough (waking all of them costs latency under load).
      cv_.notify_one();
      return;
    }
  }
  if (discard) discard();
}

void Scheduler::Shutdown() {
  std::deque<Job> dropped;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    stopping_ = true;
    dropped.swap(pending_);
    cv_.notify_all();
  }
  for (auto& j : dropped) {
    if (j.discard) j.discard();
  }
}

size_t Scheduler::pending() const {
  std::lock_guard<std::mutex> lock(mu_);
  return pending_.size();
}

int Scheduler::running() const {
  std::lock_guard<std::mutex> lock(mu_);
  return running_;
}

long Scheduler::PickLocked() const {
  if (running_ >= max_running_) return -1;
  for (size_t i = 0; i < pending_.size(); ++i) {
    const Job& j = pending_[i];
    if (!j.key.empty() && busy_keys_.count(j.key)) continue;
    auto it = running_per_group_.find(j.group);
    if (it != running_per_group_.end() && it->second >= max_per_group_) continue;
    return static_cast<long>(i);
  }
  return -1;
}

void Scheduler::Worker() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    long index = -1;
    cv_.wait(lock, [&] { return stopping_ || (index = PickLocked()) >= 0; });
    if (stopping_) return;
    Job job = std::move(pending_[static_cast<size_t>(index)]);
    pending_.erase(pending_.begin() + index);
    if (!job.key.empty()) busy_keys_.insert(job.key);
    ++running_per_group_[job.group];
    ++running_;
    // Pass the baton: if another job is eligible too, wake one more worker for it.
    if (PickLocked() >= 0) cv_.notify_one();
    lock.unlock();
    job.run();
    lock.lock();
    --running_;
    if (--running_per_group_[job.group] == 0) running_per_group_.erase(job.group);
    if (!job.key.empty()) busy_keys_.erase(job.key);
    // A job made eligible by this one finishing (its key, its group, the global limit) is taken
    // by this worker at the top of the loop, which wakes further workers as needed.
  }
}

}  // namespace storage

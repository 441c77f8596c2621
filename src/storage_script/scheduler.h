// Scheduler: runs jobs on a fixed pool of worker threads with three rules:
//   * at most `max_running` jobs run at once in total;
//   * at most `max_per_group` jobs of one group (a volume plugin) run at once;
//   * jobs with the same key (plugin, SR, volume) run one at a time, in submission order;
//     jobs with different keys run in parallel.
// Every submitted job runs exactly once, unless Shutdown() discards it before it started (it is
// then handed to the `discard` callback given at submission, so nothing is lost silently).
//
// Main loop of a worker: wait for an eligible job (the oldest pending job whose key is idle and
// whose group is under its limit), take it (waking one more worker if another job is eligible
// too), run it, release its key and group, repeat. A submission wakes one worker.
//
// Thread-safe: Submit from any thread.
#ifndef STORAGE_SCRIPT_SCHEDULER_H_
#define STORAGE_SCRIPT_SCHEDULER_H_

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace storage {

class Scheduler {
 public:
  // REQUIRES: max_running >= 1, max_per_group >= 1.
  Scheduler(int max_running, int max_per_group);
  // Shutdown(), then joins the workers.
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Queues `job`. An empty `key` means "no ordering constraint". `discard` (optional) is called
  // instead of `job` if the scheduler shuts down before the job starts.
  void Submit(std::string group, std::string key, std::function<void()> job,
              std::function<void()> discard = nullptr);

  // Stops taking jobs, discards the pending ones, waits for the running ones.
  void Shutdown();

  // For tests and diagnostics.
  size_t pending() const;
  int running() const;

 private:
  struct Job {
    std::string group, key;
    std::function<void()> run, discard;
  };
  void Worker();
  // The index of the first eligible pending job, or -1. REQUIRES: mu_ held.
  long PickLocked() const;

  const int max_running_;
  const int max_per_group_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> pending_;             // guarded by mu_
  std::set<std::string> busy_keys_;     // guarded by mu_
  std::map<std::string, int> running_per_group_;  // guarded by mu_
  int running_ = 0;                     // guarded by mu_
  bool stopping_ = false;               // guarded by mu_
  std::vector<std::thread> workers_;
};

}  // namespace storage

#endif  // STORAGE_SCRIPT_SCHEDULER_H_

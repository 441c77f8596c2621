#include "storage_script/scheduler.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

namespace storage {
namespace {

using namespace std::chrono_literals;

// Waits (with a deadline) until `done` jobs have finished.
bool WaitFor(std::atomic<int>& counter, int target) {
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (counter.load() < target) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

TEST(Scheduler, SameKeyRunsInOrderOneAtATime) {
  Scheduler s(8, 8);
  std::mutex mu;
  std::vector<int> order;
  std::atomic<int> active{0}, max_active{0}, done{0};
  for (int i = 0; i < 20; ++i) {
    s.Submit("p", "sr\nvdi", [&, i] {
      int now = ++active;
      max_active = std::max(max_active.load(), now);
      std::this_thread::sleep_for(1ms);
      {
        std::lock_guard<std::mutex> lock(mu);
        order.push_back(i);
      }
      --active;
      ++done;
    });
  }
  ASSERT_TRUE(WaitFor(done, 20));
  EXPECT_EQ(max_active.load(), 1);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(order[i], i);
}

TEST(Scheduler, DifferentKeysRunInParallelUpToTheLimits) {
  Scheduler s(6, 4);
  std::atomic<int> active{0}, max_active{0}, max_group_b{0}, active_b{0}, done{0};
  for (int i = 0; i < 24; ++i) {
    std::string group = i % 2 ? "a" : "b";
    s.Submit(group, "key" + std::to_string(i), [&, group] {
      int now = ++active;
      max_active = std::max(max_active.load(), now);
      if (group == "b") max_group_b = std::max(max_group_b.load(), ++active_b);
      std::this_thread::sleep_for(20ms);
      if (group == "b") --active_b;
      --active;
      ++done;
    });
  }
  ASSERT_TRUE(WaitFor(done, 24));
  EXPECT_EQ(max_active.load(), 6);
  EXPECT_LE(max_group_b.load(), 4);
  EXPECT_GE(max_group_b.load(), 2);
}

TEST(Scheduler, ShutdownDiscardsPendingJobsExplicitly) {
  std::atomic<int> ran{0}, discarded{0};
  std::atomic<bool> release{false};
  {
    Scheduler s(1, 1);
    s.Submit("p", "k", [&] {
      while (!release) std::this_thread::sleep_for(1ms);
      ++ran;
    });
    for (int i = 0; i < 3; ++i) s.Submit("p", "k", [&] { ++ran; }, [&] { ++discarded; });
    std::atomic<int> started{0};
    while (s.running() == 0) std::this_thread::sleep_for(1ms);
    std::thread t([&] {
      std::this_thread::sleep_for(20ms);
      release = true;
    });
    s.Shutdown();
    t.join();
  }
  EXPECT_EQ(ran.load(), 1);
  EXPECT_EQ(discarded.load(), 3);
}

}  // namespace
}  // namespace storage

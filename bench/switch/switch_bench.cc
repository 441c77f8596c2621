// switch-bench: echo RPCs through a real message-switch, measured (docs/performance/switch-bench.md).
//
// Starts its own message-switch (the binary next to this one) on a socket in a fresh temporary
// directory, serves an echo queue with msclient::Server (replying straight from the delivery
// callback), and keeps --in-flight calls in flight for --seconds from one thread with
// Client::RpcAsync (or, with --threads, from that many threads calling the synchronous Rpc).
// Prints the CPU time per RPC of this process and of the switch, then the final line
// rpc_per_s=<n> p50_us=<n> p99_us=<n>.
// With --memory it instead queues --messages messages of --payload bytes and reports the
// switch's resident-memory growth against the payload.

#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <functional>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

#include "switch_client/client.h"
#include "switch_client/server.h"
#include "switch_client/test_switch.h"

namespace {

using Clock = std::chrono::steady_clock;

int64_t Percentile(std::vector<int64_t>& v, double p) {
  if (v.empty()) return 0;
  size_t k = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(k), v.end());
  return v[k];
}

// CPU time (user + system) of this process, in microseconds.
int64_t SelfCpuUs() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return (u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1000000LL + u.ru_utime.tv_usec +
         u.ru_stime.tv_usec;
}

// Times this process's threads blocked (voluntary context switches): about one per wake-up.
int64_t SelfWaits() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return u.ru_nvcsw;
}

// CPU time of process `pid` from /proc/<pid>/stat (utime + stime), in microseconds; -1 if unknown.
int64_t ProcessCpuUs(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t paren = text.rfind(')');
  if (paren == std::string::npos) return -1;
  std::istringstream fields(text.substr(paren + 2));
  std::string f;
  long long utime = 0, stime = 0;
  // Fields after the command: state is field 3; utime and stime are fields 14 and 15.
  for (int i = 3; i <= 15 && (fields >> f); ++i) {
    if (i == 14) utime = std::stoll(f);
    if (i == 15) stime = std::stoll(f);
  }
  return (utime + stime) * 1000000LL / ::sysconf(_SC_CLK_TCK);
}

struct Totals {
  std::vector<int64_t> latencies_ns;
  double elapsed_s = 0;
};

// Keeps `in_flight` calls in flight from one thread with RpcAsync: each reply's callback issues
// the next call, so a batch of replies yields a batch of sends written together.
bool RunAsync(msclient::Client& client, int in_flight, const std::string& body, double seconds,
              Totals& totals) {
  struct State {
    std::mutex mu;
    std::condition_variable cv;
    int running = 0;
    bool stop = false;
    std::string error;
    std::vector<int64_t> latencies;
  } st;
  st.latencies.reserve(1 << 20);
  std::function<void()> issue;
  issue = [&] {
    auto t0 = Clock::now();
    try {
    client.RpcAsync("bench.echo", body, std::chrono::seconds(10),
                    [&, t0](msclient::RpcResult&& r) {
                      auto t1 = Clock::now();
                      bool again = false;
                      {
                        std::lock_guard<std::mutex> lock(st.mu);
                        if (!r.ok()) {
                          try {
                            r.get();
                          } catch (const std::exception& e) {
                            st.error = e.what();
                          }
                          st.stop = true;
                        } else if (r.reply.size() != body.size()) {
                          st.error = "echo came back changed";
                          st.stop = true;
                        } else {
                          st.latencies.push_back(
                              std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0)
                                  .count());
                        }
                        again = !st.stop;
                        if (!again) {
                          --st.running;
                          st.cv.notify_all();
                        }
                      }
                      if (again) issue();
                    });
    } catch (const std::exception& e) {
      std::lock_guard<std::mutex> lock(st.mu);
      st.error = e.what();
      st.stop = true;
      --st.running;
      st.cv.notify_all();
    }
  };
  auto start = Clock::now();
  {
    std::lock_guard<std::mutex> lock(st.mu);
    st.running = in_flight;
  }
  for (int i = 0; i < in_flight; ++i) issue();
  std::unique_lock<std::mutex> lock(st.mu);
  st.cv.wait_until(lock, start + std::chrono::duration<double>(seconds), [&] { return st.stop; });
  st.stop = true;
  totals.elapsed_s = std::chrono::duration<double>(Clock::now() - start).count();
  // Every call ends within its 10 s timeout.
  if (!st.cv.wait_for(lock, std::chrono::seconds(15), [&] { return st.running == 0; })) {
    std::cerr << "switch-bench: calls did not finish\n";
    return false;
  }
  if (!st.error.empty()) {
    std::cerr << "switch-bench: " << st.error << "\n";
    return false;
  }
  totals.latencies_ns = std::move(st.latencies);
  return true;
}

// The synchronous API: `in_flight` caller threads, each doing Rpc back to back.
bool RunThreads(msclient::Client& client, int in_flight, const std::string& body, double seconds,
                Totals& totals) {
  std::atomic<bool> stop{false};
  std::atomic<bool> failed{false};
  std::mutex mu;
  std::vector<int64_t>& all = totals.latencies_ns;
  std::vector<std::thread> threads;
  auto start = Clock::now();
  for (int t = 0; t < in_flight; ++t) {
    threads.emplace_back([&] {
      std::vector<int64_t> mine;
      mine.reserve(1 << 16);
      try {
        while (!stop) {
          auto t0 = Clock::now();
          std::string r = client.Rpc("bench.echo", body, std::chrono::seconds(10));
          auto t1 = Clock::now();
          if (r.size() != body.size()) throw std::runtime_error("echo came back changed");
          mine.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count());
        }
      } catch (const std::exception& e) {
        std::cerr << "switch-bench: " << e.what() << "\n";
        failed = true;
      }
      std::lock_guard<std::mutex> lock(mu);
      all.insert(all.end(), mine.begin(), mine.end());
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& t : threads) t.join();
  totals.elapsed_s = std::chrono::duration<double>(Clock::now() - start).count();
  return !failed;
}

int RunRpcs(const msclient::TestSwitch& sw, int in_flight, size_t payload, double seconds,
            bool threads) {
  msclient::ConnectOptions opts;
  opts.path = sw.socket();
  opts.connect_deadline = std::chrono::seconds(5);
  opts.whoami = "switch-bench-server";
  msclient::Server* server_ptr = nullptr;
  msclient::Server server(opts, "bench.echo",
                          [&](msclient::IncomingRequest r) {
                            std::string body = r.body;
                            server_ptr->Reply(r, std::move(body));
                          },
                          nullptr);
  server_ptr = &server;
  server.Start();
  opts.whoami = "switch-bench-client";
  msclient::Client client(opts);
  const std::string body(payload, 'x');
  // Warm up: creates the reply queue and the service queue.
  client.Rpc("bench.echo", body, std::chrono::seconds(10));

  Totals totals;
  int64_t cpu0 = SelfCpuUs(), switch_cpu0 = ProcessCpuUs(sw.pid()), waits0 = SelfWaits();
  bool ok = threads ? RunThreads(client, in_flight, body, seconds, totals)
                    : RunAsync(client, in_flight, body, seconds, totals);
  int64_t cpu1 = SelfCpuUs(), switch_cpu1 = ProcessCpuUs(sw.pid()), waits1 = SelfWaits();
  server.Stop();
  if (!ok) return 1;
  std::vector<int64_t>& all = totals.latencies_ns;
  double n = std::max<double>(1, static_cast<double>(all.size()));
  // CPU per RPC: this process (caller and echo server) and the switch.
  std::printf("rpcs=%zu cpu_us_per_rpc_bench=%.1f cpu_us_per_rpc_switch=%.1f "
              "wakeups_per_rpc_bench=%.2f\n",
              all.size(), static_cast<double>(cpu1 - cpu0) / n,
              static_cast<double>(switch_cpu1 - switch_cpu0) / n,
              static_cast<double>(waits1 - waits0) / n);
  int64_t p50 = Percentile(all, 0.50), p99 = Percentile(all, 0.99);
  std::printf("rpc_per_s=%lld p50_us=%lld p99_us=%lld\n",
              static_cast<long long>(static_cast<double>(all.size()) / totals.elapsed_s),
              static_cast<long long>(p50 / 1000), static_cast<long long>(p99 / 1000));
  return 0;
}

int RunMemory(const msclient::TestSwitch& sw, int messages, size_t payload, int threads) {
  msclient::ConnectOptions opts;
  opts.path = sw.socket();
  msclient::Client client(opts);
  client.CreatePersistent("bench.memory");
  int64_t before = sw.RssBytes();
  const std::string body(payload, 'm');
  std::atomic<int> next{0};
  std::atomic<bool> failed{false};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      try {
        while (next.fetch_add(1) < messages) {
          if (!client.Send("bench.memory", "nobody", body)) throw std::runtime_error("send dropped");
        }
      } catch (const std::exception& e) {
        std::cerr << "switch-bench: " << e.what() << "\n";
        failed = true;
      }
    });
  }
  for (auto& w : workers) w.join();
  if (failed) return 1;
  int64_t after = sw.RssBytes();
  int64_t payload_bytes = static_cast<int64_t>(messages) * static_cast<int64_t>(payload);
  std::printf("messages=%d payload_bytes=%lld rss_growth_bytes=%lld growth_per_payload=%.2f\n",
              messages, static_cast<long long>(payload_bytes),
              static_cast<long long>(after - before),
              static_cast<double>(after - before) / static_cast<double>(payload_bytes));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  ::signal(SIGPIPE, SIG_IGN);
  CLI::App app{"Measures echo RPCs (or queued-message memory) through a real message-switch "
               "that it starts on a temporary socket.",
               "switch-bench"};
  int in_flight = 1;
  size_t payload = 16;
  double seconds = 5;
  bool statedir = false, fsync = false, memory = false, threads = false;
  int messages = 100000;
  app.add_option("--in-flight", in_flight, "Calls in flight at once")
      ->capture_default_str()->check(CLI::Range(1, 4096));
  auto* payload_opt =
      app.add_option("--payload", payload,
                     "Payload bytes per call (default 16), or per message with --memory "
                     "(default 1024)");
  app.add_option("--seconds", seconds, "How long to run")->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_flag("--threads", threads,
               "Use --in-flight caller threads with the synchronous Rpc instead of keeping the "
               "calls in flight from one thread with RpcAsync");
  app.add_flag("--statedir", statedir, "Run the switch with a state directory (persistence)");
  app.add_flag("--fsync", fsync, "With --statedir: also pass --fsync to the switch");
  app.add_flag("--memory", memory,
               "Instead of RPCs: queue --messages messages and report the switch's RSS growth");
  app.add_option("--messages", messages, "Messages to queue with --memory")->capture_default_str()
      ->check(CLI::PositiveNumber);
  CLI11_PARSE(app, argc, argv);
  try {
    msclient::TestSwitch::Options options;
    options.statedir = statedir;
    if (fsync) options.extra_args.push_back("--fsync");
    // Room for the memory measurement's messages.
    options.extra_args.insert(options.extra_args.end(), {"--max-queue-messages", "1000000"});
    msclient::TestSwitch sw(options);
    if (memory) return RunMemory(sw, messages, payload_opt->count() ? payload : 1024, 4);
    return RunRpcs(sw, in_flight, payload, seconds, threads);
  } catch (const std::exception& e) {
    std::cerr << "switch-bench: " << e.what() << "\n";
    return 1;
  }
}

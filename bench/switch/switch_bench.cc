// switch-bench: echo RPCs through a real message-switch, measured (docs/performance/switch-bench.md).
//
// Starts its own message-switch (the binary next to this one) on a socket in a fresh temporary
// directory, serves an echo queue with msclient::Server (replying straight from the delivery
// callback), and runs --in-flight caller threads sharing one msclient::Client for --seconds.
// Prints one line: rpc_per_s=<n> p50_us=<n> p99_us=<n>.
// With --memory it instead queues --messages messages of --payload bytes and reports the
// switch's resident-memory growth against the payload.

#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <mutex>
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

int RunRpcs(const msclient::TestSwitch& sw, int in_flight, size_t payload, double seconds) {
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

  std::atomic<bool> stop{false};
  std::atomic<bool> failed{false};
  std::mutex mu;
  std::vector<int64_t> all;
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
  double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  server.Stop();
  if (failed) return 1;
  int64_t p50 = Percentile(all, 0.50), p99 = Percentile(all, 0.99);
  std::printf("rpc_per_s=%lld p50_us=%lld p99_us=%lld\n",
              static_cast<long long>(static_cast<double>(all.size()) / elapsed),
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
  bool statedir = false, fsync = false, memory = false;
  int messages = 100000;
  app.add_option("--in-flight", in_flight, "Calls in flight at once (caller threads)")
      ->capture_default_str()->check(CLI::Range(1, 4096));
  auto* payload_opt =
      app.add_option("--payload", payload,
                     "Payload bytes per call (default 16), or per message with --memory "
                     "(default 1024)");
  app.add_option("--seconds", seconds, "How long to run")->capture_default_str()
      ->check(CLI::PositiveNumber);
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
    return RunRpcs(sw, in_flight, payload, seconds);
  } catch (const std::exception& e) {
    std::cerr << "switch-bench: " << e.what() << "\n";
    return 1;
  }
}

// Benchmark of xapi-storage-script (issue 5 §4). Starts a real message switch and the real
// daemon in a temp dir, then measures:
//   (a) dispatch overhead: VDI.set_content_id (one Volume.set run by a native no-op script)
//       through switch + daemon, with 1 and with 16 calls in flight: p50, p99, calls/s;
//   (b) a burst of 200 VDI.attach3 calls on 200 volumes whose Datapath.attach sleeps 100 ms,
//       with concurrent=true and concurrent=false.
// Usage: storage_script_bench <build dir>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "switch_client/client.h"

extern char** environ;

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

pid_t Spawn(const std::vector<std::string>& argv, const std::string& log) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  if (posix_spawn(&pid, args[0], &fa, nullptr, args.data(), environ) != 0) {
    std::fprintf(stderr, "cannot start %s\n", args[0]);
    std::exit(1);
  }
  posix_spawn_file_actions_destroy(&fa);
  return pid;
}

void Stop(pid_t pid) {
  kill(pid, SIGTERM);
  auto end = Clock::now() + 10s;
  int status;
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (Clock::now() > end) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return;
    }
    std::this_thread::sleep_for(5ms);
  }
}

void WriteFile(const std::string& path, const std::string& text, mode_t mode) {
  std::ofstream(path) << text;
  chmod(path.c_str(), mode);
}

struct Setup {
  std::string dir, sock, root;
  pid_t switch_pid = -1, daemon_pid = -1;
};

std::string Call(msclient::Client& c, const std::string& method, const nlohmann::json& params) {
  nlohmann::json req = {{"method", method}, {"params", {params}}, {"id", 1}};
  std::string r = c.Rpc("org.xen.xapi.storage.bench", req.dump(), 60s);
  auto j = nlohmann::json::parse(r);
  if (!j["error"].is_null()) {
    std::fprintf(stderr, "%s failed: %s\n", method.c_str(), r.c_str());
    std::exit(1);
  }
  return r;
}

void StartDaemon(Setup& s, const std::string& build, bool concurrent) {
  std::string conf = s.dir + "/xss.conf";
  WriteFile(conf, std::string("concurrent = ") + (concurrent ? "true" : "false") +
                      "\nmax-running = 256\nmax-running-per-plugin = 256\n", 0644);
  s.daemon_pid = Spawn({build + "/bin/xapi-storage-script", "--root=" + s.root,
                        "--state=" + s.dir + "/state.db", "--switch-path=" + s.sock,
                        "--config=" + conf, "--config-dir=" + s.dir + "/none"},
                       s.dir + "/daemon.log");
}

void WaitServed(msclient::Client& c) {
  auto end = Clock::now() + 30s;
  for (;;) {
    try {
      c.Rpc("org.xen.xapi.storage.bench", R"({"method":"SR.list","params":[{"dbg":"b"}],"id":1})",
            300ms);
      return;
    } catch (const msclient::SwitchError&) {
      if (Clock::now() > end) {
        std::fprintf(stderr, "the daemon did not serve its queue in 30 s\n");
        std::exit(1);
      }
    }
  }
}

// "<prefix>-<pid>-<n>", built with appends (g++ 12 reports a false -Wrestrict on `+` chains).
std::string Whoami(const char* prefix, int n) {
  std::string s(prefix);
  s.append("-").append(std::to_string(getpid())).append("-").append(std::to_string(n));
  return s;
}

std::string Vdi(int n) {
  std::string s("v");
  s.append(std::to_string(n));
  return s;
}

double Percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

// `method` "VDI.set_content_id" runs one no-op script; "SR.list" is answered by the daemon
// itself, which isolates the switch + daemon part of the cost.
void Dispatch(msclient::ConnectOptions opts, int in_flight, int total,
              const std::string& method = "VDI.set_content_id") {
  std::vector<double> lat;
  std::mutex mu;
  std::atomic<int> next{0};
  auto start = Clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < in_flight; ++t) {
    threads.emplace_back([&, t] {
      msclient::ConnectOptions o = opts;
      o.whoami = Whoami("bench", t);
      msclient::Client c(o);
      std::vector<double> mine;
      while (next++ < total) {
        auto t0 = Clock::now();
        Call(c, method,
             {{"dbg", "b"}, {"sr", "sr1"}, {"vdi", Vdi(t)}, {"content_id", "c"}});
        mine.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
      }
      std::lock_guard<std::mutex> lock(mu);
      lat.insert(lat.end(), mine.begin(), mine.end());
    });
  }
  for (auto& t : threads) t.join();
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf("%-18s %2d in flight: %5zu calls, p50 %.2f ms, p99 %.2f ms, %.0f calls/s\n",
              method.c_str(), in_flight, lat.size(), Percentile(lat, 0.5), Percentile(lat, 0.99),
              static_cast<double>(lat.size()) / secs);
}

void Burst(msclient::ConnectOptions opts, bool concurrent) {
  const int n = 200;
  std::atomic<int> next{0};
  auto start = Clock::now();
  std::vector<std::thread> threads;
  // Enough callers to have every call in flight at once.
  for (int t = 0; t < 50; ++t) {
    threads.emplace_back([&, t] {
      msclient::ConnectOptions o = opts;
      o.whoami = Whoami("burst", t);
      msclient::Client c(o);
      for (int i; (i = next++) < n;) {
        Call(c, "VDI.attach3", {{"dbg", "b"}, {"sr", "sr1"}, {"vdi", Vdi(i)},
                                {"vm", "1"}, {"dp", "d"}, {"read_write", true}});
      }
    });
  }
  for (auto& t : threads) t.join();
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf("burst, %d attach3 on %d volumes, Datapath.attach sleeps 100 ms, concurrent=%s: "
              "%.2f s\n", n, n, concurrent ? "true" : "false", secs);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2 || std::string(argv[1]) == "--help") {
    std::printf("usage: storage_script_bench <build dir>\n"
                "Measures xapi-storage-script dispatch overhead and burst behaviour with a real\n"
                "message switch and daemon in a temp dir.\n");
    return argc == 2 ? 0 : 2;
  }
  std::string build = fs::absolute(argv[1]).string();
  signal(SIGPIPE, SIG_IGN);
  Setup s;
  char tmpl[] = "/tmp/storage-script-bench-XXXXXX";
  s.dir = mkdtemp(tmpl);
  s.sock = s.dir + "/sock";
  s.root = s.dir + "/root";
  std::string vol = s.root + "/volume/org.xen.xapi.storage.bench";
  std::string dp = s.root + "/datapath/slow";
  fs::create_directories(vol);
  fs::create_directories(dp);
  std::string noop = build + "/bench/storage_script_noop_plugin";
  for (const char* m : {"Plugin.Query", "SR.attach", "SR.stat", "Volume.set", "Volume.stat"}) {
    fs::copy_file(noop, vol + "/" + m);
  }
  fs::copy_file(noop, dp + "/Plugin.Query");
  WriteFile(dp + "/Datapath.attach",
            "#!/bin/sh\ncat >/dev/null\nsleep 0.1\necho '{\"implementations\":[]}'\n", 0755);

  s.switch_pid = Spawn({build + "/bin/message-switch", "--path", s.sock}, s.dir + "/switch.log");
  for (auto end = Clock::now() + 10s; access(s.sock.c_str(), F_OK) != 0;) {
    if (Clock::now() > end) {
      std::fprintf(stderr, "the switch did not start\n");
      return 1;
    }
    std::this_thread::sleep_for(10ms);
  }
  msclient::ConnectOptions opts;
  opts.path = s.sock;
  for (bool concurrent : {true, false}) {
    StartDaemon(s, build, concurrent);
    {
      msclient::Client c(opts);
      WaitServed(c);
      Call(c, "SR.attach", {{"dbg", "b"}, {"sr", "sr1"}, {"device_config", nlohmann::json::object()}});
    }
    if (concurrent) {
      Dispatch(opts, 1, 2000, "SR.list");
      Dispatch(opts, 1, 2000);
      Dispatch(opts, 16, 4000);
    }
    Burst(opts, concurrent);
    Stop(s.daemon_pid);
  }
  Stop(s.switch_pid);
  fs::remove_all(s.dir);
  return 0;
}

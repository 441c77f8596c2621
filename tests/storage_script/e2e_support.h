// Helpers for the storage-script end-to-end tests: child processes started and stopped by PID,
// waits with deadlines, and a fixture running a real message switch and a real daemon on a
// socket in a temp dir.
#ifndef TESTS_STORAGE_SCRIPT_E2E_SUPPORT_H_
#define TESTS_STORAGE_SCRIPT_E2E_SUPPORT_H_

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "storage_script/test_support.h"
#include "switch_client/client.h"

extern char** environ;

namespace storage::e2e {

using Json = nlohmann::ordered_json;
using namespace std::chrono_literals;

inline std::string BinDir() {
  const char* d = std::getenv("SMAPI_BIN_DIR");
  return d ? d : "build/bin";
}
// The source tree: $SMAPI_SOURCE_DIR, else found from this file's own path (smapi_add_test's
// ENVIRONMENT currently reaches the tests with SMAPI_BIN_DIR only).
inline std::string SourceDir() {
  if (const char* d = std::getenv("SMAPI_SOURCE_DIR")) return d;
  return std::filesystem::path(__FILE__).parent_path().parent_path().parent_path().string();
}

// Polls `ready` every 10 ms until it holds or `deadline` passes.
inline bool WaitUntil(const std::function<bool()>& ready, std::chrono::milliseconds deadline = 15s) {
  auto end = std::chrono::steady_clock::now() + deadline;
  while (!ready()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

// A child process we started; stopped (by its PID only) when destroyed.
class Child {
 public:
  Child() = default;
  ~Child() { Stop(); }

  // Starts argv with stdout and stderr appended to `log`.
  void Start(const std::vector<std::string>& argv, const std::string& log) {
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ASSERT_EQ(posix_spawn(&pid_, args[0], &fa, nullptr, args.data(), environ), 0) << argv[0];
    posix_spawn_file_actions_destroy(&fa);
  }
  // SIGTERM, then SIGKILL if it has not exited within 10 s; reaps it.
  void Stop() { Signal(SIGTERM); }
  void Kill9() { Signal(SIGKILL); }
  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0; }

 private:
  void Signal(int sig) {
    if (pid_ <= 0) return;
    kill(pid_, sig);
    auto end = std::chrono::steady_clock::now() + 10s;
    int status;
    while (waitpid(pid_, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > end) {
        kill(pid_, SIGKILL);
        waitpid(pid_, &status, 0);
        break;
      }
      std::this_thread::sleep_for(5ms);
    }
    pid_ = -1;
  }
  pid_t pid_ = -1;
};

// True when process `pid` is gone or a zombie.
inline bool ProcessGone(pid_t pid) {
  std::string stat = testing::ReadFile("/proc/" + std::to_string(pid) + "/stat");
  return stat.empty() || stat[stat.find(')') + 2] == 'Z';
}

inline const char* const kQueue = "org.xen.xapi.storage.rec";

inline std::string QueryJson(const std::string& version = "5.0") {
  return R"({"plugin":"rec","name":"n","description":"d","vendor":"v","copyright":"c",)"
         R"("version":"1","required_api_version":")" + version +
         R"(","features":[],"configuration":{},"required_cluster_stack":[]})";
}

// A switch and a daemon over <tmp>/root, with one recording volume plugin `kQueue`.
class DaemonTest : public ::testing::Test {
 protected:
  DaemonTest()
      : root_(tmp_.path() + "/root"),
        sock_(tmp_.path() + "/switch.sock"),
        log_(tmp_.path() + "/daemon.log"),
        plugin_(root_ + "/volume/" + kQueue) {
    std::filesystem::create_directories(root_ + "/datapath");
    plugin_.Scripts({"Plugin.Query", "Plugin.diagnostics", "SR.attach", "SR.stat", "SR.ls",
                     "SR.detach", "Volume.stat"});
    plugin_.Out("Plugin.Query", QueryJson());
    plugin_.Out("SR.attach", R"("H")");
    plugin_.Out("SR.stat", R"({"sr":"H","name":"sr","description":"","free_space":1,)"
                           R"("total_space":2,"datasources":[],"clustered":false,)"
                           R"("health":["Healthy",""]})");
    plugin_.Out("SR.ls", "[]");
    plugin_.Out("Plugin.diagnostics", R"("diag")");
    testing::WriteFile(tmp_.path() + "/xss.conf", config_);
  }

  void SetUp() override {
    StartSwitch();
    msclient::ConnectOptions o;
    o.path = sock_;
    o.connect_deadline = 15s;
    client_ = std::make_unique<msclient::Client>(o);
  }
  void TearDown() override {
    daemon_.Stop();
    client_.reset();
    switch_.Stop();
  }

  void StartSwitch() {
    switch_.Start({BinDir() + "/message-switch", "--path", sock_}, tmp_.path() + "/switch.log");
    ASSERT_TRUE(WaitUntil([&] { return access(sock_.c_str(), F_OK) == 0; }));
  }
  // Starts the daemon and waits until `queue` answers.
  void StartDaemon(const std::string& extra_config = "") {
    testing::WriteFile(tmp_.path() + "/xss.conf", config_ + extra_config);
    daemon_.Start({BinDir() + "/xapi-storage-script", "--root=" + root_,
                   "--state=" + tmp_.path() + "/state.db", "--switch-path=" + sock_,
                   "--config=" + tmp_.path() + "/xss.conf",
                   "--config-dir=" + tmp_.path() + "/none"},
                  log_);
    ASSERT_TRUE(Served(kQueue)) << Log();
  }
  // True once `queue` answers an SR.list within the deadline.
  bool Served(const std::string& queue, std::chrono::milliseconds deadline = 15s) {
    return WaitUntil([&] {
      try {
        client_->Rpc(queue, R"({"method":"SR.list","params":[{"dbg":"ping"}],"id":1})", 300ms);
        return true;
      } catch (const msclient::SwitchError&) {
        return false;
      }
    }, deadline);
  }
  bool LogHas(const std::string& text, std::chrono::milliseconds deadline = 15s) {
    return WaitUntil([&] { return Log().find(text) != std::string::npos; }, deadline);
  }
  std::string Log() { return testing::ReadFile(log_); }

  // One SMAPIv2 call; returns the whole response envelope.
  Json Call(const std::string& method, Json params, const std::string& queue = kQueue,
            std::chrono::milliseconds timeout = 20s, const msclient::CancelToken* cancel = nullptr) {
    if (!params.contains("dbg")) params["dbg"] = "e2e";
    Json request = {{"method", method}, {"params", Json::array({params})}, {"id", 7}};
    return Json::parse(client_->Rpc(queue, request.dump(), timeout, cancel));
  }

  testing::TempDir tmp_;
  std::string root_, sock_, log_;
  testing::Recorder plugin_;
  std::string config_ = "script-timeout = 20\n";
  Child switch_, daemon_;
  std::unique_ptr<msclient::Client> client_;
};

}  // namespace storage::e2e

#endif  // TESTS_STORAGE_SCRIPT_E2E_SUPPORT_H_

#include "storage_script/process.h"

#include <signal.h>

#include <gtest/gtest.h>

#include <thread>

#include "storage_script/test_support.h"

namespace storage {
namespace {

ProcessResult Sh(const std::string& script, const std::string& input = "",
                 std::chrono::milliseconds timeout = std::chrono::seconds(20),
                 const CancelToken* cancel = nullptr, std::vector<std::string> env = {}) {
  ProcessSpec spec;
  spec.program = "/bin/sh";
  spec.argv = {"/bin/sh", "-c", script};
  spec.input = input;
  spec.timeout = timeout;
  spec.cancel = cancel;
  spec.extra_env = std::move(env);
  return RunProcess(spec);
}

TEST(Process, ExitStatusAndOutput) {
  auto ok = Sh("true");
  EXPECT_TRUE(ok.exited);
  EXPECT_EQ(ok.exit_code, 0);
  EXPECT_EQ(ok.out, "");
  auto bad = Sh("false");
  EXPECT_EQ(bad.exit_code, 1);
  auto cat = Sh("cat -", "@@@@@@");
  EXPECT_EQ(cat.out, "@@@@@@");
  auto missing = Sh("cat @@@@@@");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_EQ(missing.out, "");
  EXPECT_EQ(missing.err, "cat: @@@@@@: No such file or directory\n");
}

TEST(Process, LargeInputAndOutputDoNotDeadlock) {
  std::string big(1 << 20, 'x');
  auto r = Sh("cat", big);
  EXPECT_EQ(r.out.size(), big.size());
}

TEST(Process, ScriptThatIgnoresItsInputIsNotKilledBySigpipe) {
  auto r = Sh("exit 3", std::string(1 << 20, 'x'));
  EXPECT_TRUE(r.exited);
  EXPECT_EQ(r.exit_code, 3);
}

TEST(Process, EnvironmentIsPassedIntactWithExtras) {
  setenv("STORAGE_TEST_SPACES", "a b  c", 1);
  auto r = Sh("printf '%s|%s' \"$STORAGE_TEST_SPACES\" \"$EXTRA\"", "", std::chrono::seconds(20),
              nullptr, {"EXTRA=x y"});
  EXPECT_EQ(r.out, "a b  c|x y");
}

TEST(Process, TimeoutKillsTheWholeProcessGroup) {
  testing::TempDir dir;
  std::string pidfile = dir.path() + "/child";
  auto start = std::chrono::steady_clock::now();
  auto r = Sh("sleep 30 & echo $! > " + pidfile + "; wait", "", std::chrono::milliseconds(300));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_TRUE(r.timed_out);
  EXPECT_FALSE(r.exited);
  EXPECT_EQ(r.signal, SIGKILL);
  // The background child was in the group too: it is gone, or a zombie waiting for init.
  // SIGKILL is delivered asynchronously: wait (with a deadline) for it to take effect.
  pid_t child = std::stoi(testing::ReadFile(pidfile));
  auto gone = [child] {
    std::string stat = testing::ReadFile("/proc/" + std::to_string(child) + "/stat");
    return stat.empty() || stat[stat.find(')') + 2] == 'Z';
  };
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!gone() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_TRUE(gone());
}

TEST(Process, CancelFromAnotherThread) {
  CancelToken token;
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    token.Cancel();
  });
  auto r = Sh("sleep 30", "", std::chrono::seconds(20), &token);
  canceller.join();
  EXPECT_TRUE(r.cancelled);
  EXPECT_FALSE(r.timed_out);
}

TEST(Process, KilledBySignal) {
  auto r = Sh("kill -TERM $$");
  EXPECT_FALSE(r.exited);
  EXPECT_EQ(r.signal, SIGTERM);
  EXPECT_EQ(SignalName(r.signal), "SIGTERM");
}

TEST(Process, SpawnFailureIsReported) {
  ProcessSpec spec;
  spec.program = "/nonexistent/prog";
  spec.argv = {spec.program};
  auto r = RunProcess(spec);
  EXPECT_NE(r.spawn_error, "");
}

}  // namespace
}  // namespace storage

#include "process.h"

#include <unistd.h>

#include <filesystem>
#include <stdexcept>

#include <gtest/gtest.h>

namespace qdisk {
namespace {

using namespace std::chrono_literals;

TEST(Run, CapturesOutputAndExitCode) {
  RunResult r = qdisk::Run({"sh", "-c", "echo out; echo err >&2; exit 3"}, 5s);
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.output, "out\nerr\n");
}

TEST(Run, MissingProgramIsAnError) {
  try {
    qdisk::Run({"/nonexistent/qemu-img"}, 5s);
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/qemu-img"), std::string::npos);
  }
}

TEST(Run, ChildPastTheDeadlineIsKilled) {
  auto start = std::chrono::steady_clock::now();
  EXPECT_THROW(qdisk::Run({"sleep", "30"}, 100ms), std::runtime_error);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
}

TEST(StopProcess, StopsOnlyAMatchingProcess) {
  char tmpl[] = "/tmp/qdisk-proc-XXXXXX";
  std::string dir = ::mkdtemp(tmpl);
  pid_t pid = Spawn({"sleep", "30"}, dir + "/log");
  EXPECT_TRUE(IsOurProcess(pid, {"sleep", "30"}));
  EXPECT_FALSE(IsOurProcess(pid, {"qemu-storage-daemon"}));
  EXPECT_FALSE(StopProcess(pid, {"qemu-storage-daemon"}, 1s)) << "not ours: left alone";
  EXPECT_TRUE(IsOurProcess(pid, {"sleep"}));
  EXPECT_TRUE(StopProcess(pid, {"sleep"}, 1s));
  EXPECT_FALSE(IsOurProcess(pid, {"sleep"}));
  EXPECT_FALSE(StopProcess(pid, {"sleep"}, 1s)) << "already gone";
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace qdisk

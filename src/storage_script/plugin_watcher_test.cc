#include "storage_script/plugin_watcher.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "storage_script/test_support.h"

namespace storage {
namespace {

using namespace std::chrono_literals;

// A watcher over a temp root whose callbacks record "+v name", "-v name", "+d name", "-d name".
// A volume plugin is accepted when its directory holds Plugin.query.
class PluginWatcherTest : public ::testing::Test {
 protected:
  PluginWatcherTest() : log_(stderr) {
    std::filesystem::create_directories(root_.path() + "/volume");
    std::filesystem::create_directories(root_.path() + "/datapath");
  }
  ~PluginWatcherTest() override {
    if (watcher_) watcher_->Stop();
  }

  void Start() {
    PluginWatcher::Callbacks cb;
    cb.add_volume = [this](const std::string& name, const std::string& dir) {
      bool ok = std::filesystem::exists(dir + "/Plugin.query");
      Record((ok ? "+v " : "rejected ") + name);
      return ok ? PluginWatcher::AddResult::kServed : PluginWatcher::AddResult::kRejected;
    };
    cb.remove_volume = [this](const std::string& name) { Record("-v " + name); };
    cb.add_datapath = [this](const std::string& name, const std::string&) { Record("+d " + name); };
    cb.remove_datapath = [this](const std::string& name) { Record("-d " + name); };
    watcher_ = std::make_unique<PluginWatcher>(root_.path(), cb, log_);
    std::string error;
    ASSERT_TRUE(watcher_->Start(&error)) << error;
  }
  void Record(const std::string& e) {
    std::lock_guard<std::mutex> lock(mu_);
    events_.push_back(e);
  }
  // Waits (10 s at most) until `event` has been recorded `count` times.
  bool Saw(const std::string& event, int count = 1) {
    auto end = std::chrono::steady_clock::now() + 10s;
    for (;;) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (std::count(events_.begin(), events_.end(), event) >= count) return true;
      }
      if (std::chrono::steady_clock::now() > end) return false;
      std::this_thread::sleep_for(5ms);
    }
  }
  std::string Dump() {
    std::lock_guard<std::mutex> lock(mu_);
    std::string out;
    for (const auto& e : events_) out += e + "; ";
    return out;
  }
  void Plugin(const std::string& kind, const std::string& name) {
    testing::WriteScript(root_.path() + "/" + kind + "/" + name + "/Plugin.query", "true");
  }

  testing::TempDir root_;
  Logger log_;
  std::unique_ptr<PluginWatcher> watcher_;
  std::mutex mu_;
  std::vector<std::string> events_;
};

TEST_F(PluginWatcherTest, InitialScanThenAddRenameRemove) {
  Plugin("volume", "a");
  Plugin("datapath", "file");
  Start();
  EXPECT_TRUE(Saw("+v a"));
  EXPECT_TRUE(Saw("+d file"));
  Plugin("volume", "b");
  EXPECT_TRUE(Saw("+v b")) << Dump();
  std::filesystem::rename(root_.path() + "/volume/b", root_.path() + "/volume/c");
  EXPECT_TRUE(Saw("-v b")) << Dump();
  EXPECT_TRUE(Saw("+v c")) << Dump();
  std::filesystem::rename(root_.path() + "/volume/c", root_.path() + "/gone");
  EXPECT_TRUE(Saw("-v c")) << Dump();
  std::filesystem::rename(root_.path() + "/datapath/file", root_.path() + "/gone-dp");
  EXPECT_TRUE(Saw("-d file")) << Dump();
}

TEST_F(PluginWatcherTest, RejectedPluginIsRetriedWhenItsQueryScriptAppears) {
  Start();
  std::filesystem::create_directories(root_.path() + "/volume/late");
  EXPECT_TRUE(Saw("rejected late")) << Dump();
  // Other files do not retrigger the query...
  testing::WriteFile(root_.path() + "/volume/late/notes.txt", "x");
  // ...Plugin.query does.
  Plugin("volume", "late");
  EXPECT_TRUE(Saw("+v late")) << Dump();
  EXPECT_TRUE(Saw("rejected late", 1));
  std::lock_guard<std::mutex> lock(mu_);
  EXPECT_EQ(std::count(events_.begin(), events_.end(), "rejected late"), 1) << "notes.txt retried";
}

TEST_F(PluginWatcherTest, DatapathIsRequeriedWhenItsQueryScriptChanges) {
  Plugin("datapath", "nbd");
  Start();
  EXPECT_TRUE(Saw("+d nbd"));
  Plugin("datapath", "nbd");  // rewritten
  EXPECT_TRUE(Saw("+d nbd", 2)) << Dump();
}

TEST_F(PluginWatcherTest, VolumeDirectoryDeletedAndRecreated) {
  Plugin("volume", "a");
  Start();
  EXPECT_TRUE(Saw("+v a"));
  std::filesystem::rename(root_.path() + "/volume", root_.path() + "/old-volume");
  EXPECT_TRUE(Saw("-v a")) << Dump();
  std::filesystem::create_directories(root_.path() + "/volume");
  Plugin("volume", "a");
  EXPECT_TRUE(Saw("+v a", 2)) << Dump();
  // And the new directory is watched: a further plugin is seen.
  Plugin("volume", "b");
  EXPECT_TRUE(Saw("+v b")) << Dump();
}

TEST_F(PluginWatcherTest, RetryRequestServesAgain) {
  Plugin("volume", "a");
  Start();
  EXPECT_TRUE(Saw("+v a"));
  watcher_->RequestRetry("a");
  EXPECT_TRUE(Saw("+v a", 2)) << Dump();
}

}  // namespace
}  // namespace storage

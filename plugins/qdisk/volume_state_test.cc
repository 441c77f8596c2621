#include "volume_state.h"

#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

namespace qdisk {
namespace {

TEST(VolumeUri, SplitsSrPathAndKey) {
  VolumeUri v = VolumeUri::Parse("qdisk:///srv/sr1/vol-7");
  EXPECT_EQ(v.sr_path, "/srv/sr1");
  EXPECT_EQ(v.key, "vol-7");
  EXPECT_EQ(v.current_link(), "/srv/sr1/vol-7.current");
}

TEST(VolumeUri, RejectsOtherForms) {
  for (const char* bad : {"file:///srv/sr1/v", "qdisk://relative/v", "qdisk:///srv/sr1/",
                          "qdisk://", "qdisk:///"}) {
    try {
      VolumeUri::Parse(bad);
      ADD_FAILURE() << bad;
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(bad), std::string::npos) << e.what();
    }
  }
}

TEST(VolumeRunDir, IsTheUriHashUnderTheRoot) {
  ::setenv("QDISK_RUN_DIR", "/tmp/qdisk-root", 1);
  // sha256("qdisk:///a/b") starts with these 16 hex digits (python3 hashlib).
  EXPECT_EQ(VolumeRunDir("qdisk:///a/b"), "/tmp/qdisk-root/8197b739c9beb2dc");
  ::unsetenv("QDISK_RUN_DIR");
  EXPECT_EQ(RunRoot(), "/run/qdisk");
}

class StateFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/qdisk-state-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

TEST_F(StateFileTest, MissingFileIsTheDefaultState) {
  VolumeState s = ReadState(dir_);
  EXPECT_EQ(s.pid, 0);
  EXPECT_TRUE(s.domains.empty());
}

TEST_F(StateFileTest, RoundTripKeepsForeignKeys) {
  {
    std::ofstream out(dir_ + "/state.json");
    out << R"({"pid": 42, "domains": ["1"], "top_node": "snap-3", "bitmaps": ["cbt"]})";
  }
  VolumeState s = ReadState(dir_);
  EXPECT_EQ(s.pid, 42);
  EXPECT_EQ(s.top_node, "snap-3");
  s.active["1"] = "rw";
  WriteState(dir_, s);
  VolumeState again = ReadState(dir_);
  EXPECT_EQ(again.active.at("1"), "rw");
  EXPECT_EQ(again.extra.at("bitmaps"), nlohmann::json::array({"cbt"}));
}

TEST_F(StateFileTest, CorruptFileIsAClearError) {
  {
    std::ofstream out(dir_ + "/state.json");
    out << "{not json";
  }
  try {
    ReadState(dir_);
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), "corrupt state file " + dir_ + "/state.json (not a JSON object)");
  }
}

TEST_F(StateFileTest, LockIsExclusiveAndTimesOut) {
  VolumeLock held(dir_, std::chrono::milliseconds(100));
  // flock locks belong to the open file description: a second open in this process conflicts.
  EXPECT_THROW(VolumeLock(dir_, std::chrono::milliseconds(50)), std::runtime_error);
}

}  // namespace
}  // namespace qdisk

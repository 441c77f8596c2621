#include "copy_worker.h"

#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

namespace {

TEST(CopyWorker, ProgressFileSitsBesideTheRecord) {
  EXPECT_EQ(qdisk::ProgressPath("/r/operations/copy-1.json"), "/r/operations/copy-1.progress");
}

TEST(CopyWorker, ProgressRoundTripAndMissingFileIsAFailure) {
  char tmpl[] = "/tmp/qdisk-progress-XXXXXX";
  std::string dir = ::mkdtemp(tmpl);
  std::string record = dir + "/copy-1.json";
  nlohmann::json missing = qdisk::ReadProgress(record);
  EXPECT_EQ(missing["state"], "failed");
  EXPECT_NE(missing["error"].get<std::string>().find("copy-1.progress"), std::string::npos);
  qdisk::WriteProgress(record, "running", 65536, 131072);
  nlohmann::json p = qdisk::ReadProgress(record);
  EXPECT_EQ(p, nlohmann::json({{"state", "running"}, {"done", 65536}, {"total", 131072}}));
  qdisk::WriteProgress(record, "failed", 0, 10, "why");
  EXPECT_EQ(qdisk::ReadProgress(record)["error"], "why");
  std::filesystem::remove_all(dir);
}

TEST(CopyWorker, UnreadableRecordFailsWithItsName) {
  char tmpl[] = "/tmp/qdisk-progress-XXXXXX";
  std::string dir = ::mkdtemp(tmpl);
  std::string record = dir + "/copy-2.json";
  std::ofstream(record) << "not json";
  EXPECT_EQ(qdisk::RunCopyWorker(record), 1);
  nlohmann::json p = qdisk::ReadProgress(record);
  EXPECT_EQ(p["state"], "failed");
  EXPECT_NE(p["error"].get<std::string>().find(record), std::string::npos) << p.dump();
  std::filesystem::remove_all(dir);
}

}  // namespace

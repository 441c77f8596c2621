// Acceptance: `xapi-storage-script --root tests/plugins --self-test-only=true` exits 0 and logs,
// on stderr, the sequence of the reference's cram test (spec storage-script.md §6.1) once pids,
// uuids and the plugin root are masked.
#include <regex>

#include "e2e_support.h"

namespace storage::e2e {
namespace {

TEST(SelfTest, LogsTheReferenceSequenceAndExitsZero) {
  testing::TempDir tmp;
  std::string root = std::filesystem::absolute(SourceDir() + "/tests/plugins").string();
  std::string err = tmp.path() + "/stderr";
  std::string cmd = BinDir() + "/xapi-storage-script --root=" + root +
                    " --self-test-only=true --config=" + tmp.path() + "/none 2>" + err +
                    " >/dev/null";
  int status = std::system(cmd.c_str());
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << testing::ReadFile(err);
  std::string log = testing::ReadFile(err);
  log = std::regex_replace(log, std::regex(R"(\[[0-9]+\])"), "[PID]");
  log = std::regex_replace(
      log, std::regex("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"), "UUID");
  for (size_t at; (at = log.find(root)) != std::string::npos;) log.replace(at, root.size(), "ROOT");
  EXPECT_EQ(log, testing::ReadFile(SourceDir() + "/tests/storage_script/self_test.expected"));
}

TEST(SelfTest, FailsWithExitTwoWhenThePluginIsBroken) {
  testing::TempDir tmp;
  testing::Recorder plugin(tmp.path() + "/volume/org.xen.xapi.storage.dummyv5");
  plugin.Scripts({"Plugin.Query"});  // prints null: not a query result
  std::string err = tmp.path() + "/stderr";
  int status = std::system((BinDir() + "/xapi-storage-script --root=" + tmp.path() +
                            " --self-test-only=true --config=" + tmp.path() + "/none 2>" + err)
                               .c_str());
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 2);
  EXPECT_NE(testing::ReadFile(err).find("[ERROR] test thread failed with "), std::string::npos);
}

TEST(Cli, HelpAndBadOptions) {
  testing::TempDir tmp;
  std::string out = tmp.path() + "/out";
  int status = std::system((BinDir() + "/xapi-storage-script --help >" + out).c_str());
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_NE(testing::ReadFile(out).find("Issue SMAPIv3 calls concurrently"), std::string::npos);
  status = std::system((BinDir() + "/xapi-storage-script --self-test-only 2>" + out).c_str());
  EXPECT_EQ(WEXITSTATUS(status), 2);
  EXPECT_NE(testing::ReadFile(out).find("option --self-test-only needs a value"),
            std::string::npos);
  status = std::system((BinDir() + "/xapi-storage-script --config=" + tmp.path() +
                        "/none --root=" + tmp.path() + "/missing 2>" + out).c_str());
  EXPECT_EQ(WEXITSTATUS(status), 2);
  EXPECT_NE(testing::ReadFile(out).find("is not an accessible directory"), std::string::npos);
}

}  // namespace
}  // namespace storage::e2e

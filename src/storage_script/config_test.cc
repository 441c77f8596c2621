#include "storage_script/config.h"

#include <gtest/gtest.h>

#include "storage_script/test_support.h"

namespace storage {
namespace {

ParsedOptions Load(std::vector<std::string> args) {
  std::vector<const char*> argv = {"xapi-storage-script"};
  for (const auto& a : args) argv.push_back(a.c_str());
  return LoadOptions(static_cast<int>(argv.size()), argv.data());
}

TEST(ConfigText, CommentsQuotesAndBlanks) {
  std::string error;
  auto pairs = ParseConfigText("# a comment\n root = /srv/plugins  # trailing\n\nstate=\"/x y\"\n"
                               "concurrent='false'\n",
                               "f.conf", &error);
  ASSERT_EQ(error, "");
  ASSERT_EQ(pairs.size(), 3u);
  EXPECT_EQ(pairs[0], (std::pair<std::string, std::string>{"root", "/srv/plugins"}));
  EXPECT_EQ(pairs[1].second, "/x y");
  EXPECT_EQ(pairs[2].second, "false");
}

TEST(ConfigText, MalformedLineNamesFileAndLine) {
  std::string error;
  ParseConfigText("root = /a\njust words\n", "f.conf", &error);
  EXPECT_EQ(error, "f.conf:2: expected key = value: just words");
}

TEST(Options, DefaultsMatchTheReference) {
  testing::TempDir dir;
  auto p = Load({"--config=" + dir.path() + "/none.conf", "--config-dir=" + dir.path() + "/no"});
  ASSERT_FALSE(p.exit_now) << p.message;
  EXPECT_EQ(p.options.root, "/var/lib/xapi/storage-scripts");
  EXPECT_EQ(p.options.state, "/var/run/nonpersistent/xapi-storage-script/state.db");
  EXPECT_TRUE(p.options.concurrent);
  EXPECT_FALSE(p.options.self_test_only);
}

TEST(Options, ConfigFileOverridesCommandLineAndFragmentsComeLast) {
  testing::TempDir dir;
  testing::WriteFile(dir.path() + "/main.conf", "root = /from/file\nconcurrent = false\n");
  testing::WriteFile(dir.path() + "/d/20-b", "state = /from/b\n");
  testing::WriteFile(dir.path() + "/d/10-a", "state = /from/a\nscript-timeout = 7\n"
                                             "script-timeout/plug = 3\n"
                                             "script-timeout/plug/SR.attach = 0.5\n");
  auto p = Load({"--root=/from/cli", "--config", dir.path() + "/main.conf",
                 "--config-dir=" + dir.path() + "/d", "--state=/from/cli"});
  ASSERT_FALSE(p.exit_now) << p.message;
  EXPECT_EQ(p.options.root, "/from/file");
  EXPECT_EQ(p.options.state, "/from/b");
  EXPECT_FALSE(p.options.concurrent);
  EXPECT_EQ(p.options.TimeoutFor("other", "SR.attach").count(), 7000);
  EXPECT_EQ(p.options.TimeoutFor("plug", "SR.stat").count(), 3000);
  EXPECT_EQ(p.options.TimeoutFor("plug", "SR.attach").count(), 500);
}

TEST(Options, Errors) {
  testing::TempDir dir;
  std::string none = "--config=" + dir.path() + "/none";
  struct Case {
    std::vector<std::string> args;
    std::string message_start;
  } cases[] = {
      {{none, "--self-test-only"}, "option --self-test-only needs a value"},
      {{none, "--self-test-only=yes"}, "option self-test-only: expected true or false, got 'yes'"},
      {{none, "--bogus=1"}, "unknown option --bogus"},
      {{none, "--max-running=0"}, "option max-running: expected a whole number"},
      {{none, "--script-timeout=-1"}, "option script-timeout: expected a positive number"},
  };
  for (const auto& c : cases) {
    auto p = Load(c.args);
    EXPECT_TRUE(p.exit_now);
    EXPECT_EQ(p.exit_code, 2);
    EXPECT_EQ(p.message.rfind(c.message_start, 0), 0u) << p.message;
  }
}

TEST(Options, MalformedConfigValueIsAnError) {
  testing::TempDir dir;
  testing::WriteFile(dir.path() + "/c.conf", "concurrent = maybe\n");
  auto p = Load({"--config=" + dir.path() + "/c.conf"});
  EXPECT_EQ(p.exit_code, 2);
  EXPECT_NE(p.message.find(dir.path() + "/c.conf: option concurrent"), std::string::npos);
}

TEST(Options, HelpQuotesTheReferenceTexts) {
  auto p = Load({"--help"});
  EXPECT_TRUE(p.exit_now);
  EXPECT_EQ(p.exit_code, 0);
  EXPECT_NE(p.message.find("Do only a self-test and exit"), std::string::npos);
  EXPECT_NE(p.message.find("Issue SMAPIv3 calls concurrently"), std::string::npos);
}

}  // namespace
}  // namespace storage

#include "switch/config.h"

#include <gtest/gtest.h>

namespace msw {
namespace {

TEST(Config, ReadsTheShippedReferenceFile) {
  SwitchConfig c;
  std::string error;
  ASSERT_TRUE(ParseConfigFile(
      "((path /var/run/message-switch/sock)(pidfile())(configfile())"
      "(statedir (/var/run/message-switch/state)))\n",
      &c, &error))
      << error;
  EXPECT_EQ(c.path, "/var/run/message-switch/sock");
  EXPECT_FALSE(c.pidfile);
  EXPECT_EQ(c.statedir, "/var/run/message-switch/state");
}

TEST(Config, ReadsOurKeys) {
  SwitchConfig c;
  std::string error;
  ASSERT_TRUE(ParseConfigFile("; comment\n((fsync true)(max-queue-messages 10)(group \"wheel\"))",
                              &c, &error))
      << error;
  EXPECT_TRUE(c.fsync);
  EXPECT_EQ(c.max_queue_messages, 10u);
  EXPECT_EQ(c.group, "wheel");
}

TEST(Config, ErrorsNameTheProblem) {
  struct Case {
    const char* text;
    const char* error;
  } cases[] = {
      {"((path /x)", "config file: missing ')' at byte 10"},
      {"((trace-entries many))",
       "config file: trace-entries must be a non-negative integer, not \"many\""},
      {"(path)", "config file: expected (key value), found something else"},
      {"()) x", "config file: text after the closing ')'"},
  };
  for (const auto& c : cases) {
    SwitchConfig config;
    std::string error;
    EXPECT_FALSE(ParseConfigFile(c.text, &config, &error)) << c.text;
    EXPECT_EQ(error, c.error) << c.text;
  }
}

}  // namespace
}  // namespace msw

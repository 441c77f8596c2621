#include "storage_script/script_runner.h"

#include <gtest/gtest.h>

#include "storage_script/test_support.h"

namespace storage {
namespace {

class ScriptRunnerTest : public ::testing::Test {
 protected:
  ScriptRunnerTest() : log_file_(std::tmpfile()), log_(log_file_), runner_(log_, false) {}
  ~ScriptRunnerTest() override { std::fclose(log_file_); }

  void Script(const std::string& name, const std::string& body) {
    testing::WriteScript(dir_.path() + "/" + name, body);
  }
  Json Call(const std::string& method, Json params = Json{{"dbg", "d"}}) {
    ScriptCall c;
    c.dir = dir_.path();
    c.method = method;
    c.params = std::move(params);
    c.timeout = std::chrono::seconds(20);
    return runner_.Call(c);
  }
  // The error a call throws, as wire JSON.
  std::string Error(const std::string& method, Json params = Json{{"dbg", "d"}}) {
    try {
      Call(method, std::move(params));
    } catch (const StorageError& e) {
      return e.value().dump();
    }
    return "no error";
  }
  std::string Log() {
    std::fflush(log_file_);
    std::rewind(log_file_);
    std::string out;
    char buf[4096];
    while (size_t n = std::fread(buf, 1, sizeof buf, log_file_)) out.append(buf, n);
    return out;
  }
  std::string P(const std::string& name) { return dir_.path() + "/" + name; }

  testing::TempDir dir_;
  std::FILE* log_file_;
  Logger log_;
  ScriptRunner runner_;
};

TEST_F(ScriptRunnerTest, SuccessIsLoggedWithRawStdout) {
  Script("Plugin.diagnostics", "echo '\"text\"'");
  EXPECT_EQ(Call("Plugin.diagnostics"), "text");
  std::string log = Log();
  EXPECT_NE(log.find("[INFO] {\"method\":\"Plugin.diagnostics\",\"params\":[{\"dbg\":\"d\"}],\"id\":1}\n"),
            std::string::npos);
  EXPECT_NE(log.find(P("Plugin.diagnostics") + "["), std::string::npos);
  EXPECT_NE(log.find("] succeeded: \"text\"\n\n"), std::string::npos);
}

TEST_F(ScriptRunnerTest, StdinIsTheCompactParamsWithoutNewlineAndArgvHasJson) {
  Script("SR.attach", "cat > " + P("stdin") + "; printf '%s|%s' \"$0\" \"$1\" > " + P("argv") +
                          "; pwd > " + P("cwd") + "; echo '\"h\"'");
  Call("SR.attach", Json{{"configuration", {{"a", "b"}}}, {"dbg", "d"}});
  EXPECT_EQ(testing::ReadFile(P("stdin")), R"({"configuration":{"a":"b"},"dbg":"d"})");
  EXPECT_EQ(testing::ReadFile(P("argv")), P("SR.attach") + "|--json");
  char cwd[4096];
  ASSERT_NE(getcwd(cwd, sizeof cwd), nullptr);
  EXPECT_EQ(testing::ReadFile(P("cwd")), std::string(cwd) + "\n");
}

TEST_F(ScriptRunnerTest, CaseInsensitiveLookupPrefersTheSmallestSpelling) {
  Script("Plugin.Diagnostics", "echo '\"upper\"'");
  Script("plugin.diagnostics", "echo '\"lower\"'");
  // No cache yet: the exact name is tried first and wins.
  EXPECT_EQ(Call("plugin.diagnostics"), "lower");
  // A miss builds the cache; from then on the smallest spelling ("Plugin.Query") wins.
  EXPECT_NE(Error("Plugin.missing").find("SCRIPT_MISSING"), std::string::npos);
  EXPECT_EQ(Call("Plugin.diagnostics"), "upper");
  EXPECT_EQ(Call("PLUGIN.DIAGNOSTICS"), "upper");
}

TEST_F(ScriptRunnerTest, MissingAndNotExecutable) {
  testing::WriteFile(P("SR.stat"), "#!/bin/sh\n", 0644);
  std::filesystem::create_directory(P("SR.ls"));
  symlink("/nonexistent", P("SR.detach").c_str());
  EXPECT_EQ(Error("SR.stat"),
            R"(["Backend_error",["SCRIPT_NOT_EXECUTABLE",[")" + P("SR.stat") +
                R"j(","Unix.Unix_error(Unix.EACCES, \"access\", \")j" + P("SR.stat") +
                R"j(\")"]]])j");
  std::string missing = R"(","Check whether the file exists and has correct permissions"]]])";
  EXPECT_EQ(Error("SR.ls"), R"(["Backend_error",["SCRIPT_MISSING",[")" + P("SR.ls") + missing);
  EXPECT_EQ(Error("SR.detach"),
            R"(["Backend_error",["SCRIPT_MISSING",[")" + P("SR.detach") + missing);
  EXPECT_NE(Log().find("[ERROR] " + P("SR.ls") + " is not a file"), std::string::npos);
  EXPECT_NE(Log().find("[ERROR] " + P("SR.stat") + " is not executable"), std::string::npos);
}

TEST_F(ScriptRunnerTest, OutcomesOfSection4_3) {
  Script("SR.attach", "echo 'not json'");
  EXPECT_EQ(Error("SR.attach"), R"(["Backend_error",["SCRIPT_FAILED",[")" + P("SR.attach") +
                                    R"(","bad json on stdout","not json\n"]]])");
  Script("SR.stat", "echo null");
  EXPECT_EQ(Error("SR.stat"),
            R"(["Backend_error",["SCRIPT_FAILED",["Unexpected exception:SR.stat result: expected an object, got null"]]])");
  Script("SR.detach", "echo '{\"code\":\"C\",\"params\":[\"p\"]}'; echo oops >&2; exit 1");
  EXPECT_EQ(Error("SR.detach"),
            R"(["Backend_error",["SCRIPT_FAILED",[")" + P("SR.detach") +
                R"(","non-zero exit and bad json on stdout","1","{\"code\":\"C\",\"params\":[\"p\"]}\n","{\"code\":\"C\",\"params\":[\"p\"]}\n"]]])");
  EXPECT_NE(Log().find("failed, stderr: oops"), std::string::npos);
  Script("SR.destroy",
         "echo '{\"Code\":\"SR_BACKEND_FAILURE\",\"params\":[\"X\",\"y\"],\"extra\":1,"
         "\"backtrace\":{\"files\":[\"f.py\"],\"error\":\"e\",\"lines\":[3]}}'; exit 1");
  EXPECT_EQ(Error("SR.destroy"),
            R"(["Backend_error_with_backtrace",["SR_BACKEND_FAILURE",["{\"error\":\"e\",\"files\":[\"f.py\"],\"lines\":[3]}","X","y"]]])");
  Script("Volume.snapshot",
         "echo '{\"code\":\"ANY\",\"params\":[\"Activated_on_another_host\",\"h1\"],"
         "\"backtrace\":{\"error\":\"\",\"files\":[],\"lines\":[]}}'; exit 1");
  EXPECT_EQ(Error("Volume.snapshot"), R"(["Activated_on_another_host","h1"])");
  Script("Volume.stat", "echo partial; kill -KILL $$");
  EXPECT_EQ(Error("Volume.stat"), R"(["Backend_error",["SCRIPT_FAILED",[")" + P("Volume.stat") +
                                      R"(","signalled","SIGKILL","partial\n","partial\n"]]])");
  EXPECT_NE(Log().find("caught a signal and failed"), std::string::npos);
}

TEST_F(ScriptRunnerTest, TimeoutNamesScriptAndLimit) {
  Script("SR.ls", "sleep 30");
  ScriptCall c;
  c.dir = dir_.path();
  c.method = "SR.ls";
  c.params = Json{{"dbg", "d"}};
  c.timeout = std::chrono::milliseconds(200);
  try {
    runner_.Call(c);
    FAIL();
  } catch (const StorageError& e) {
    EXPECT_EQ(e.value().dump(), R"(["Backend_error",["SCRIPT_TIMEOUT",[")" + P("SR.ls") +
                                    R"(","timed out after 0.2 s and was killed"]]])");
  }
}

TEST_F(ScriptRunnerTest, MissingIsNoopForPvsSet) {
  ScriptCall c;
  c.dir = dir_.path();
  c.method = "Volume.set";
  c.params = Json{{"dbg", "d"}};
  c.missing_is_noop = true;
  EXPECT_EQ(runner_.Call(c), nullptr);
  EXPECT_NE(Log().find("[WARNING] Deprecated: script '" + P("Volume.set") +
                       "' is missing, treating as no-op. Update your plugin!"),
            std::string::npos);
}

TEST_F(ScriptRunnerTest, TraceparentReachesTheScript) {
  Script("SR.ls", "printf '%s' \"$TRACEPARENT\" > " + P("tp") + "; echo '[]'");
  Call("SR.ls", Json{{"dbg", "x\n{\"traceparent\":\"00-aa-bb-01\",\"baggage\":null}"}});
  EXPECT_EQ(testing::ReadFile(P("tp")), "00-aa-bb-01");
}

TEST(Traceparent, ParsingRules) {
  EXPECT_EQ(TraceparentOfDbg("plain"), "");
  EXPECT_EQ(TraceparentOfDbg("log\n00-a-b-01"), "00-a-b-01");
  EXPECT_EQ(TraceparentOfDbg("log\n{\"traceparent\":\"00-a-b-01\"}"), "00-a-b-01");
  EXPECT_EQ(TraceparentOfDbg("log\n{\"traceparent\":null}"), "");
  EXPECT_EQ(TraceparentOfDbg("log\n[1]"), "");
  EXPECT_EQ(TraceparentOfDbg("log\n01-a-b-01"), "");
  EXPECT_EQ(TraceparentOfDbg("a\nb\n00-a-b-01"), "");
}

}  // namespace
}  // namespace storage

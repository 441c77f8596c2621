#include "storage_script/attached_srs.h"

#include <gtest/gtest.h>

#include "storage_script/test_support.h"

namespace storage {
namespace {

TEST(AttachedSrs, FormatOfTheReference) {
  std::map<std::string, AttachedSr> t = {{"dummySR", {"file:///tmp/dummy", {}}}};
  EXPECT_EQ(AttachedSrs::Serialize(t), "((dummySR((sr file:///tmp/dummy)(uids()))))");
}

TEST(AttachedSrs, QuotedAtomsRoundTrip) {
  std::map<std::string, AttachedSr> t = {{"b", {"with space (and) \"quotes\";", {"u1", ""}}},
                                         {"a", {"h", {}}}};
  std::string text = AttachedSrs::Serialize(t);
  EXPECT_EQ(text.rfind("((a((sr h)", 0), 0u) << "sorted by uuid: " << text;
  std::map<std::string, AttachedSr> back;
  std::string error;
  ASSERT_TRUE(AttachedSrs::Parse(text, &back, &error)) << error;
  EXPECT_EQ(back["b"].handle, t["b"].handle);
  EXPECT_EQ(back["b"].uids, t["b"].uids);
}

TEST(AttachedSrs, ParseErrors) {
  std::map<std::string, AttachedSr> t;
  std::string error;
  EXPECT_FALSE(AttachedSrs::Parse("((a((sr h)", &t, &error));
  EXPECT_EQ(error, "unclosed '(' at offset 10");
  EXPECT_FALSE(AttachedSrs::Parse("((a((uids()))))", &t, &error));
  EXPECT_EQ(error, "the entry for a has no sr");
}

TEST(AttachedSrs, PersistAcrossInstancesAndRemove) {
  testing::TempDir dir;
  std::string path = dir.path() + "/sub/dir/state.db";
  Logger log(stderr);
  {
    AttachedSrs srs(path, log);
    srs.Load();
    ASSERT_TRUE(srs.Put("sr1", {"h1", {}}));
    ASSERT_TRUE(srs.Put("sr2", {"h2", {"uid"}}));
    ASSERT_TRUE(srs.Remove("sr1"));
  }
  EXPECT_EQ(testing::ReadFile(path), "((sr2((sr h2)(uids(uid)))))");
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  AttachedSrs again(path, log);
  again.Load();
  EXPECT_EQ(again.List(), std::vector<std::string>{"sr2"});
  EXPECT_EQ(again.Find("sr2")->handle, "h2");
  EXPECT_FALSE(again.Find("sr1"));
}

TEST(AttachedSrs, CorruptFileIsSetAside) {
  testing::TempDir dir;
  std::string path = dir.path() + "/state.db";
  testing::WriteFile(path, "((half");
  std::FILE* f = std::tmpfile();
  {
    Logger log(f);
    AttachedSrs srs(path, log);
    srs.Load();
    EXPECT_TRUE(srs.List().empty());
  }
  EXPECT_EQ(testing::ReadFile(path + ".corrupt"), "((half");
  EXPECT_FALSE(std::filesystem::exists(path));
  std::rewind(f);
  char buf[512] = {};
  EXPECT_GT(std::fread(buf, 1, sizeof buf - 1, f), 0u);
  EXPECT_NE(std::string(buf).find("[ERROR] State file " + path + " is corrupt"), std::string::npos);
  std::fclose(f);
}

}  // namespace
}  // namespace storage

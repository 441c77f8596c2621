#include "switch/queue_store.h"

#include <gtest/gtest.h>

namespace msw {
namespace {

Entry Request(const std::string& payload) {
  Entry e;
  e.origin = "cli";
  e.message.payload = payload;
  e.message.reply_to = "cli";
  return e;
}

std::vector<int64_t> Seqs(const QueueStore& s, std::vector<std::string> names, int64_t from) {
  std::vector<int64_t> out;
  for (const auto& [id, e] : s.Select(names, from)) out.push_back(id.seq);
  return out;
}

TEST(QueueStore, IdsStartAtZeroAndSelectIsNewestFirst) {
  QueueStore s;
  ASSERT_TRUE(s.Create("q", std::nullopt));
  Queue* q = s.Find("q");
  EXPECT_EQ(s.Append(q, Request("a")), 0);
  EXPECT_EQ(s.Append(q, Request("b")), 1);
  EXPECT_EQ(s.Append(q, Request("c")), 2);
  EXPECT_EQ(Seqs(s, {"q"}, -1), (std::vector<int64_t>{2, 1, 0}));
  EXPECT_EQ(Seqs(s, {"q"}, 1), (std::vector<int64_t>{2}));
  EXPECT_TRUE(s.Remove("q", 1));
  EXPECT_FALSE(s.Remove("q", 1));
  EXPECT_EQ(Seqs(s, {"q"}, -1), (std::vector<int64_t>{2, 0}));
  EXPECT_TRUE(s.AnyAfter({"missing", "q"}, 1));
  EXPECT_FALSE(s.AnyAfter({"q"}, 2));
  EXPECT_EQ(s.message_count(), 2u);
}

TEST(QueueStore, CreateIsIdempotentAndKeepsTheOwner) {
  QueueStore s;
  EXPECT_TRUE(s.Create("t", std::string("owner")));
  EXPECT_FALSE(s.Create("t", std::nullopt));
  EXPECT_EQ(s.Find("t")->owner, "owner");
  EXPECT_EQ(s.OwnedBy("owner"), std::vector<std::string>{"t"});
}

TEST(QueueStore, DestroyAndRecreateRestartsIds) {
  QueueStore s;
  s.Create("q", std::nullopt);
  s.Append(s.Find("q"), Request("a"));
  EXPECT_TRUE(s.Destroy("q"));
  EXPECT_FALSE(s.Destroy("q"));
  s.Create("q", std::nullopt);
  EXPECT_EQ(s.Append(s.Find("q"), Request("b")), 0);
}

TEST(QueueStore, ListIsDescendingAndFilteredByPrefix) {
  QueueStore s;
  for (auto n : {"a.x", "a.y", "b", "a"}) s.Create(n, std::nullopt);
  EXPECT_EQ(s.List("a"), (std::vector<std::string>{"a.y", "a.x", "a"}));
  EXPECT_EQ(s.List(""), (std::vector<std::string>{"b", "a.y", "a.x", "a"}));
}

TEST(QueueStore, RestoreRaisesNextId) {
  QueueStore s;
  s.Create("q", std::nullopt);
  s.Restore(s.Find("q"), 7, Request("x"));
  EXPECT_EQ(s.Append(s.Find("q"), Request("y")), 8);
  EXPECT_EQ(s.Clear("q"), 2u);
  EXPECT_EQ(s.Append(s.Find("q"), Request("z")), 9);
}

TEST(QueueStore, DeadlinesOfMissingQueuesArePruned) {
  QueueStore s;
  s.Create("live", std::nullopt);
  s.SetTransferDeadline("live", 5);
  s.SetTransferDeadline("gone", 5);
  s.PruneTransferDeadlines(10);
  EXPECT_TRUE(s.TransferDeadline("live"));
  EXPECT_FALSE(s.TransferDeadline("gone"));
}

}  // namespace
}  // namespace msw

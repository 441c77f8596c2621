#include "switch/journal.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

namespace msw {
namespace {

namespace fs = std::filesystem;

class JournalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/journal_test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::unique_ptr<Journal> Open(QueueStore* store) {
    std::string error;
    auto j = Journal::Open(dir_, false, 0, store, &error);
    EXPECT_TRUE(j) << error;
    return j;
  }

  void Create(Journal* j, QueueStore* s, const std::string& q) {
    s->Create(q, std::nullopt);
    Op op;
    op.type = Op::kCreate;
    op.queue = q;
    j->Append(op);
  }
  int64_t Send(Journal* j, QueueStore* s, const std::string& q, const std::string& payload) {
    Entry e;
    e.origin = "me";
    e.time_ns = 42;
    e.message.payload = payload;
    e.message.reply_to = "me";
    int64_t seq = s->Find(q)->next_id;
    j->AppendSend(q, seq, e);
    s->Append(s->Find(q), e);
    return seq;
  }
  void Ack(Journal* j, QueueStore* s, const std::string& q, int64_t seq) {
    s->Remove(q, seq);
    Op op;
    op.type = Op::kAck;
    op.queue = q;
    op.seq = seq;
    j->Append(op);
  }
  void Sync(Journal* j) {
    std::string error;
    ASSERT_TRUE(j->Sync(&error)) << error;
  }

  std::string dir_;
};

TEST_F(JournalTest, RecordsRoundTrip) {
  Op op;
  op.type = Op::kCreate;
  op.queue = "q";
  op.owner = "o";
  op.seq = 9;
  std::string buf;
  EncodeRecord(op, &buf);
  Op back;
  std::size_t used = 0;
  ASSERT_TRUE(DecodeRecord(buf, &used, &back));
  EXPECT_EQ(used, buf.size());
  EXPECT_EQ(back.queue, "q");
  EXPECT_EQ(back.owner, "o");
  EXPECT_EQ(back.seq, 9);
  buf[buf.size() - 1] ^= 1;  // a flipped bit fails the checksum
  EXPECT_FALSE(DecodeRecord(buf, &used, &back));
  EXPECT_FALSE(DecodeRecord(std::string_view(buf).substr(0, 5), &used, &back));
}

TEST_F(JournalTest, ReplayRestoresUnackedMessagesAndNeverReusesIds) {
  {
    QueueStore s;
    auto j = Open(&s);
    Create(j.get(), &s, "q");
    Send(j.get(), &s, "q", "a");
    int64_t b = Send(j.get(), &s, "q", "b");
    int64_t c = Send(j.get(), &s, "q", "c");
    Ack(j.get(), &s, "q", b);
    Ack(j.get(), &s, "q", c);  // the newest is acked: its id must still not come back
    Sync(j.get());
  }
  QueueStore s;
  auto j = Open(&s);
  ASSERT_NE(s.Find("q"), nullptr);
  EXPECT_EQ(s.Find("q")->contents.size(), 1u);
  EXPECT_EQ(s.Find("q")->contents.at(0).message.payload, "a");
  EXPECT_EQ(s.Find("q")->next_id, 3);
}

TEST_F(JournalTest, TornTailIsCutOff) {
  {
    QueueStore s;
    auto j = Open(&s);
    Create(j.get(), &s, "q");
    Send(j.get(), &s, "q", "kept");
    Sync(j.get());
  }
  // A crash in mid-write leaves half a record.
  {
    std::ofstream f(dir_ + "/journal.0", std::ios::app | std::ios::binary);
    f << std::string("\x40\x00\x00\x00garbage", 11);
  }
  QueueStore s;
  auto j = Open(&s);
  EXPECT_EQ(j->dropped_tail_bytes(), 11u);
  EXPECT_EQ(s.Find("q")->contents.size(), 1u);
  // New records after the cut replay too.
  Send(j.get(), &s, "q", "after");
  Sync(j.get());
  j.reset();
  QueueStore again;
  j = Open(&again);
  EXPECT_EQ(again.Find("q")->contents.size(), 2u);
}

TEST_F(JournalTest, CompactionKeepsStateAndStartsANewGeneration) {
  {
    QueueStore s;
    auto j = Open(&s);
    Create(j.get(), &s, "q");
    for (int i = 0; i < 10; ++i) Send(j.get(), &s, "q", std::string("m").append(std::to_string(i)));
    for (int i = 0; i < 9; ++i) Ack(j.get(), &s, "q", i);
    std::string error;
    ASSERT_TRUE(j->Compact(s, &error)) << error;
    EXPECT_EQ(j->generation(), 1);
    EXPECT_FALSE(fs::exists(dir_ + "/journal.0"));
    Send(j.get(), &s, "q", "later");
    Sync(j.get());
  }
  QueueStore s;
  auto j = Open(&s);
  const Queue* q = s.Find("q");
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->contents.size(), 2u);
  EXPECT_EQ(q->contents.at(9).message.payload, "m9");
  EXPECT_EQ(q->contents.at(10).message.payload, "later");
  EXPECT_EQ(q->next_id, 11);
}

TEST_F(JournalTest, SnapshotWithoutItsJournal) {
  {
    QueueStore s;
    auto j = Open(&s);
    Create(j.get(), &s, "q");
    Send(j.get(), &s, "q", "a");
    std::string error;
    ASSERT_TRUE(j->Compact(s, &error)) << error;
  }
  fs::remove(dir_ + "/journal.1");
  {
    QueueStore s;
    auto j = Open(&s);
    EXPECT_EQ(j->journal_bytes(), 0u);
    EXPECT_EQ(s.Find("q")->contents.size(), 1u);
    Send(j.get(), &s, "q", "b");
    Sync(j.get());
  }
  QueueStore s;
  auto j = Open(&s);
  EXPECT_EQ(j->dropped_tail_bytes(), 0u);
  EXPECT_EQ(s.Find("q")->contents.size(), 2u);
}

TEST_F(JournalTest, SecondSwitchOnTheSameDirectoryIsRefused) {
  QueueStore s;
  auto j = Open(&s);
  QueueStore s2;
  std::string error;
  EXPECT_FALSE(Journal::Open(dir_, false, 0, &s2, &error));
  EXPECT_EQ(error, "state directory " + dir_ + " is in use by another message-switch");
}

TEST_F(JournalTest, MissingDirectoryIsAnError) {
  QueueStore s;
  std::string error;
  EXPECT_FALSE(Journal::Open(dir_ + "/nope", false, 0, &s, &error));
  EXPECT_EQ(error, dir_ + "/nope does not exist");
}

}  // namespace
}  // namespace msw

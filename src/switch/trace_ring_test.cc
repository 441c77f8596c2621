#include "switch/trace_ring.h"

// GCC 12 reports a false -Wrestrict for short string assignments at -O3 (GCC bug 105651).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wrestrict"
#endif

#include <gtest/gtest.h>

namespace msw {
namespace {

TraceEvent Event(const std::string& payload) {
  TraceEvent e;
  e.queue = "q";
  e.input = "me";
  e.message.payload = payload;
  e.message.reply_to = "me";
  return e;
}

TEST(TraceRing, BoundedInEntries) {
  TraceRing ring(3, 1 << 20, 256);
  for (int i = 0; i < 5; ++i) ring.Add(Event("m"));
  EXPECT_EQ(ring.size(), 3u);
  EXPECT_EQ(ring.next_index(), 5);
  std::string out;
  ring.AppendJson(&out, 0);
  EXPECT_EQ(out.find("[0,"), std::string::npos);
  EXPECT_NE(out.find("[2,"), std::string::npos);
}

TEST(TraceRing, BoundedInBytes) {
  TraceRing ring(100, 4096, 1 << 20);
  for (int i = 0; i < 10; ++i) ring.Add(Event(std::string(1000, 'x')));
  EXPECT_LE(ring.bytes(), 4096u);
  EXPECT_GE(ring.size(), 1u);
  EXPECT_LT(ring.size(), 10u);
  // One payload over the whole budget is cut rather than kept whole.
  ring.Add(Event(std::string(100000, 'y')));
  EXPECT_LE(ring.bytes(), 4096u);
  std::string out;
  ring.AppendJson(&out, 10);
  std::string cut(2048, 'y');
  cut.append("\xe2\x80\xa6");
  EXPECT_NE(out.find(cut), std::string::npos);
  EXPECT_LT(out.size(), 4096u);
}

TEST(TraceRing, ZeroEntriesKeepsNothingButCounts) {
  TraceRing ring(0, 4096, 256);
  ring.Add(Event("m"));
  EXPECT_EQ(ring.size(), 0u);
  EXPECT_EQ(ring.next_index(), 1);
  EXPECT_FALSE(ring.keeps_events());
}

TEST(TraceRing, CompactionOfJsonAndText) {
  TraceRing ring(4, 4096, 4);
  EXPECT_EQ(ring.Compact(R"({ "method" : "abcdef", "id": 1 })"),
            "{\"meth\xe2\x80\xa6\":\"abcd\xe2\x80\xa6\",\"id\":1}");
  EXPECT_EQ(ring.Compact("plain text"), "plai\xe2\x80\xa6");
  EXPECT_EQ(ring.Compact("{broken"), "{bro\xe2\x80\xa6");
  EXPECT_EQ(ring.Compact(std::string(1000, '[')), "[[[[\xe2\x80\xa6");  // too deep to parse
}

TEST(TraceRing, NestingCheckIgnoresBracketsInStrings) {
  EXPECT_FALSE(JsonNestsDeeperThan(R"({"a":"[[[[[[[[[["})", 2));
  EXPECT_TRUE(JsonNestsDeeperThan("[[[", 2));
}

}  // namespace
}  // namespace msw

// Broker tests without sockets: requests in, exact replies out.
#include "switch/broker.h"

#include <gtest/gtest.h>

namespace msw {
namespace {

class BrokerTest : public ::testing::Test {
 protected:
  BrokerTest() : broker_(BrokerOptions{}, [this] { return now_; }, [] { return 1.5; }, nullptr) {}

  Reply Do(uint64_t conn, const std::string& method, const std::string& target,
           const std::string& body = "") {
    HttpRequest req;
    req.method = method;
    req.target = target;
    req.body = body;
    auto r = broker_.Handle(conn, req, [this](Reply later) { parked_.push_back(later); });
    if (!r) return Reply{-1, "parked"};
    return *r;
  }
  std::string Get(const std::string& target) { return Do(1, "GET", target).body; }

  int64_t now_ = 1000;
  Broker broker_;
  std::vector<Reply> parked_;
};

TEST_F(BrokerTest, IdAllocationAndTransferCursor) {
  EXPECT_EQ(Do(1, "GET", "/login/c").status, 200);
  EXPECT_EQ(Get("/persistent/q"), "q");
  EXPECT_EQ(Do(1, "POST", "/request/q/c", "a").body, "[[\"q\",0]]");
  EXPECT_EQ(Do(1, "POST", "/request/q/c", "b").body, "[[\"q\",1]]");
  EXPECT_EQ(Do(1, "POST", "/request/q/c", "c").body, "[[\"q\",2]]");
  EXPECT_EQ(Do(1, "POST", "/transfer", R"({"timeout":0,"queues":["q"]})").body,
            R"({"messages":[[["q",2],{"payload":"c","kind":["Request","c"]}],)"
            R"([["q",1],{"payload":"b","kind":["Request","c"]}],)"
            R"([["q",0],{"payload":"a","kind":["Request","c"]}]],"next":"2"})");
  EXPECT_EQ(Do(1, "POST", "/transfer", R"({"from":"1","timeout":0,"queues":["q"]})").body,
            R"({"messages":[[["q",2],{"payload":"c","kind":["Request","c"]}]],"next":"2"})");
  EXPECT_EQ(Do(1, "GET", "/ack/q/1").body, "");
  EXPECT_EQ(Do(1, "POST", "/transfer", R"({"timeout":0,"queues":["q"]})").body,
            R"({"messages":[[["q",2],{"payload":"c","kind":["Request","c"]}],)"
            R"([["q",0],{"payload":"a","kind":["Request","c"]}]],"next":"2"})");
}

TEST_F(BrokerTest, SessionRules) {
  EXPECT_EQ(Do(1, "POST", "/request/q/c", "a").body, "Please log in.");
  EXPECT_EQ(Do(1, "POST", "/transfer", R"({"timeout":5,"queues":["q"]})").body,
            "Please log in.");
  EXPECT_EQ(Do(1, "GET", "/nonsense").body, "Not found: /nonsense");
  Do(1, "GET", "/login/c");
  EXPECT_EQ(Do(1, "POST", "/request/missing/c", "a").body, "[]");
  EXPECT_EQ(Do(1, "GET", "/persistent/q", "body").status, 404);  // GET with a body
  EXPECT_EQ(Do(1, "GET", "/ack/q/x").status, 500);
  EXPECT_EQ(Do(1, "GET", "/persistent/a%2Fb").body,
            "Bad queue name \"a/b\": '/' is not allowed in names");
  EXPECT_EQ(Do(1, "GET", "/persistent/..").status, 400);
}

TEST_F(BrokerTest, TransientQueuesGoWithTheirSessionsLastConnection) {
  Do(1, "GET", "/login/s");
  Do(2, "GET", "/login/s");
  EXPECT_EQ(Do(1, "GET", "/transient/s").body, "s");
  broker_.ConnectionClosed(1);
  EXPECT_NE(broker_.store().Find("s"), nullptr);
  broker_.ConnectionClosed(2);
  EXPECT_EQ(broker_.store().Find("s"), nullptr);
}

TEST_F(BrokerTest, LongPollWakesOnSendToItsQueueOnly) {
  Do(1, "GET", "/login/c");
  Get("/persistent/q");
  Get("/persistent/other");
  EXPECT_EQ(Do(2, "GET", "/login/d").status, 200);
  EXPECT_EQ(Do(2, "POST", "/transfer", R"({"timeout":30.0,"queues":["q"]})").status, -1);
  Do(1, "POST", "/request/other/c", "x");
  EXPECT_TRUE(parked_.empty());
  Do(1, "POST", "/request/q/c", "y");
  ASSERT_EQ(parked_.size(), 1u);
  EXPECT_EQ(parked_[0].body,
            R"({"messages":[[["q",0],{"payload":"y","kind":["Request","c"]}]],"next":"0"})");
  // The woken poll is gone from every index: later sends find nothing to wake.
  EXPECT_EQ(broker_.parked(), 0u);
  Do(1, "POST", "/request/q/c", "z");
  EXPECT_EQ(parked_.size(), 1u);
  // A poll naming the same queue twice is answered once.
  EXPECT_EQ(Do(2, "POST", "/transfer", R"({"from":"0","timeout":30.0,"queues":["q","q"]})").status,
            200);
  EXPECT_EQ(Do(2, "POST", "/transfer", R"({"from":"9","timeout":30.0,"queues":["q","q"]})").status,
            -1);
  Do(1, "POST", "/request/q/c", "a");
  Do(1, "POST", "/request/q/c", "b");
  EXPECT_EQ(parked_.size(), 1u);
  now_ += 31'000'000'000;
  broker_.Expire();
  EXPECT_EQ(parked_.size(), 2u);
  EXPECT_EQ(broker_.parked(), 0u);
}

TEST_F(BrokerTest, LongPollTimesOutEmpty) {
  Do(1, "GET", "/login/c");
  EXPECT_EQ(Do(1, "POST", "/transfer", R"({"timeout":0.5,"queues":["q"]})").status, -1);
  now_ += 400'000'000;
  broker_.Expire();
  EXPECT_TRUE(parked_.empty());
  now_ += 100'000'000;
  broker_.Expire();
  ASSERT_EQ(parked_.size(), 1u);
  EXPECT_EQ(parked_[0].body, R"({"messages":[],"next":"-1"})");
  EXPECT_EQ(Get("/list/alive/"), "[]");  // q does not exist
  Get("/persistent/q");
  EXPECT_EQ(Get("/list/alive/"), "[\"q\"]");
}

TEST_F(BrokerTest, CancelRepliesWithAJsonRpcError) {
  Do(1, "GET", "/login/cli");
  Get("/transient/cli");
  Get("/persistent/svc");
  Get("/persistent/svc.cancel");
  Do(1, "POST", "/request/svc/cli", R"({"method":"SR.ls","params":[],"id":7})");
  EXPECT_EQ(Do(1, "POST", "/cancel/svc/0").status, 200);
  EXPECT_EQ(Do(1, "POST", "/cancel/svc/0").body, "No such message");
  EXPECT_EQ(Do(1, "POST", "/transfer", R"({"timeout":0,"queues":["cli","svc.cancel"]})").body,
            R"({"messages":[[["cli",0],{"payload":"{\"result\":null,\"error\":[\"Cancelled\",)"
            R"(\"svc/0\"],\"id\":7}","kind":["Response",["svc",0]]}],)"
            R"([["svc.cancel",0],{"payload":"{\"queue\":\"svc\",\"id\":0}",)"
            R"("kind":["Request","cli"]}]],"next":"0"})");
}

TEST_F(BrokerTest, ReplyByHandAndClear) {
  Do(1, "GET", "/login/cli");
  Get("/transient/cli");
  Get("/persistent/svc");
  Do(1, "POST", "/request/svc/cli", "ping");
  Do(1, "POST", "/request/svc/cli", "ping2");
  EXPECT_EQ(Do(1, "POST", "/reply/svc/0", "pong").status, 200);
  EXPECT_EQ(Do(1, "POST", "/reply/svc/0", "pong").status, 404);
  EXPECT_EQ(broker_.store().Find("cli")->contents.at(0).message.payload, "pong");
  EXPECT_EQ(Do(1, "POST", "/clear/svc").body, "1");
  EXPECT_EQ(Do(1, "POST", "/delete/cli/0").status, 200);
  EXPECT_EQ(Do(1, "POST", "/delete/cli/0").body, "No such message");
}

TEST_F(BrokerTest, QueueLimitRefusesSends) {
  BrokerOptions o;
  o.max_queue_messages = 1;
  Broker b(o, [] { return 0; }, [] { return 0.0; }, nullptr);
  HttpRequest req;
  req.method = "GET";
  req.target = "/login/c";
  b.Handle(1, req, nullptr);
  req.target = "/persistent/q";
  b.Handle(1, req, nullptr);
  req.method = "POST";
  req.target = "/request/q/c";
  EXPECT_EQ(b.Handle(1, req, nullptr)->status, 200);
  auto full = b.Handle(1, req, nullptr);
  EXPECT_EQ(full->status, 507);
  EXPECT_EQ(full->body, "Queue q is full: it holds 1 messages (--max-queue-messages)");
}

TEST_F(BrokerTest, TraceIsInclusiveAndAcksAreTraced) {
  Do(1, "GET", "/login/c");
  Get("/persistent/q");
  Do(1, "POST", "/request/q/c", "a");
  Do(1, "GET", "/ack/q/5");  // missing: still an event
  EXPECT_EQ(Get("/trace/1/0"),
            R"({"events":[[1,{"time":1.5,"input":"c","queue":"q","message":["Ack",["q",5]]}]]})");
  EXPECT_EQ(Do(1, "GET", "/trace/2/5").status, -1);
  Do(1, "GET", "/ack/q/0");
  ASSERT_EQ(parked_.size(), 1u);
  EXPECT_EQ(parked_[0].body,
            R"({"events":[[2,{"time":1.5,"input":"c","queue":"q","message":["Ack",["q",0]]}]]})");
}

}  // namespace
}  // namespace msw

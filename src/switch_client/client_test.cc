// The client library against a real message-switch process.
#include <gtest/gtest.h>

// g++ 12 reports a false -Wrestrict on string concatenation at -O3 (GCC bug 105329).
#pragma GCC diagnostic ignored "-Wrestrict"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include "switch_client/client.h"
#include "switch_client/server.h"
#include "switch_client/test_switch.h"

namespace msclient {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Requests a server received, for the test thread to wait on.
class Inbox {
 public:
  void Put(IncomingRequest r) {
    std::lock_guard<std::mutex> lock(mu_);
    items_.push_back(std::move(r));
    cv_.notify_all();
  }
  void PutCancel(int64_t id) {
    std::lock_guard<std::mutex> lock(mu_);
    cancels_.push_back(id);
    cv_.notify_all();
  }
  // Waits (up to 10 s) until `n` requests have arrived.
  std::vector<IncomingRequest> WaitFor(size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, 10s, [&] { return items_.size() >= n; });
    return {items_.begin(), items_.end()};
  }
  std::vector<IncomingRequest> Snapshot() {
    std::lock_guard<std::mutex> lock(mu_);
    return {items_.begin(), items_.end()};
  }
  std::vector<int64_t> WaitForCancels(size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, 10s, [&] { return cancels_.size() >= n; });
    return cancels_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<IncomingRequest> items_;
  std::vector<int64_t> cancels_;
};

class ClientTest : public ::testing::Test {
 protected:
  void StartSwitch(bool statedir = false) {
    TestSwitch::Options o;
    o.statedir = statedir;
    switch_ = std::make_unique<TestSwitch>(o);
  }
  ConnectOptions Options(const std::string& whoami) {
    ConnectOptions o;
    o.path = switch_->socket();
    o.whoami = whoami;
    o.connect_deadline = 5s;
    o.request_timeout = 5s;
    return o;
  }
  // An echo server replying straight from the delivery callback.
  std::unique_ptr<Server> StartEcho(const std::string& queue) {
    auto server = std::make_unique<Server>(
        Options("echo-server:1"), queue,
        [this](IncomingRequest r) { echo_->Reply(r, "echo:" + r.body); }, nullptr);
    echo_ = server.get();
    server->Start();
    return server;
  }
  // A server that only records what it gets; the test answers.
  std::unique_ptr<Server> StartRecorder(const std::string& queue, Inbox* inbox) {
    auto server = std::make_unique<Server>(
        Options("recorder:1"), queue, [inbox](IncomingRequest r) { inbox->Put(std::move(r)); },
        [inbox](int64_t id) { inbox->PutCancel(id); });
    server->Start();
    return server;
  }

  std::unique_ptr<TestSwitch> switch_;
  Server* echo_ = nullptr;
};

TEST_F(ClientTest, RpcGetsTheServersReply) {
  StartSwitch();
  auto server = StartEcho("svc");
  Client client(Options("caller:1"));
  EXPECT_EQ(client.Rpc("svc", "hello", 5s), "echo:hello");
  EXPECT_EQ(client.Rpc("svc", "", 5s), "echo:");
  std::string big(300000, 'b');
  EXPECT_EQ(client.Rpc("svc", big, 5s), "echo:" + big);
}

TEST_F(ClientTest, RpcToAnUnservedQueueTimesOut) {
  StartSwitch();
  Client client(Options("caller:1"));
  auto start = Clock::now();
  try {
    client.Rpc("nobody", "hello", 300ms);
    FAIL() << "no timeout";
  } catch (const TimeoutError& e) {
    EXPECT_STREQ(e.what(), "Timeout");
  }
  EXPECT_LT(Clock::now() - start, 5s);
  // The request stays queued, like the reference.
  EXPECT_EQ(client.Clear("nobody"), 1);
}

TEST_F(ClientTest, CancelUnblocksTheCallerAndTellsTheServer) {
  StartSwitch();
  Inbox inbox;
  auto server = StartRecorder("svc", &inbox);
  Client client(Options("caller:1"));
  CancelToken token;
  std::atomic<bool> cancelled{false};
  std::thread caller([&] {
    try {
      client.Rpc("svc", "slow work", 20s, &token);
    } catch (const CancelledError&) {
      cancelled = true;
    }
  });
  auto got = inbox.WaitFor(1);
  ASSERT_EQ(got.size(), 1u);
  token.Cancel();
  caller.join();
  EXPECT_TRUE(cancelled);
  auto cancels = inbox.WaitForCancels(1);
  ASSERT_EQ(cancels.size(), 1u);
  EXPECT_EQ(cancels[0], got[0].id);
}

TEST_F(ClientTest, AdminCancelSendsTheCallerAnErrorReply) {
  StartSwitch();
  Inbox inbox;
  auto server = StartRecorder("svc", &inbox);
  Client caller(Options("caller:1"));
  std::string reply;
  std::thread t([&] { reply = caller.Rpc("svc", R"({"method":"x","params":[],"id":7})", 20s); });
  auto got = inbox.WaitFor(1);
  ASSERT_EQ(got.size(), 1u);
  Client admin(Options("admin:1"));
  admin.Cancel({"svc", got[0].id});
  t.join();
  EXPECT_EQ(reply, R"({"result":null,"error":["Cancelled","svc/)" + std::to_string(got[0].id) +
                       R"("],"id":7})");
  EXPECT_EQ(inbox.WaitForCancels(1).size(), 1u);
  try {
    admin.Cancel({"svc", got[0].id});
    FAIL() << "cancelled twice";
  } catch (const ProtocolError& e) {
    EXPECT_EQ(e.status(), 404);
  }
}

TEST_F(ClientTest, ManyConcurrentCallsEachGetTheirOwnReply) {
  StartSwitch();
  auto server = StartEcho("svc");
  Client client(Options("caller:1"));
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 16; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        std::string body = std::to_string(t) + "/" + std::to_string(i);
        if (client.Rpc("svc", body, 10s) != "echo:" + body) ++wrong;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong, 0);
}

// Results of RpcAsync calls, for the test thread to wait on.
class AsyncResults {
 public:
  RpcCallback Callback(std::string tag) {
    return [this, tag = std::move(tag)](RpcResult&& r) {
      std::string text;
      try {
        text = r.get();
      } catch (const SwitchError& e) {
        text = std::string("error:") + e.what();
      }
      std::lock_guard<std::mutex> lock(mu_);
      results_.emplace_back(tag, std::move(text));
      cv_.notify_all();
    };
  }
  // Waits (up to `timeout`) until `n` calls have finished.
  std::vector<std::pair<std::string, std::string>> WaitFor(
      size_t n, std::chrono::milliseconds timeout = 20s) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, timeout, [&] { return results_.size() >= n; });
    return results_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::pair<std::string, std::string>> results_;
};

TEST_F(ClientTest, AsyncCallsFromOneThreadEachGetTheirOwnReply) {
  StartSwitch();
  auto server = StartEcho("svc");
  Client client(Options("caller:1"));
  AsyncResults results;
  // Calls issued from the callbacks too, as a caller keeping N in flight does.
  std::atomic<int> chained{0};
  std::function<void(int)> chain = [&](int i) {
    client.RpcAsync("svc", "chain" + std::to_string(i), 10s, [&, i](RpcResult&& r) {
      if (r.ok() && r.reply == "echo:chain" + std::to_string(i)) ++chained;
      if (r.ok() && i < 50) chain(i + 1);
    });
  };
  chain(0);
  for (int i = 0; i < 300; ++i) {
    std::string body = "m" + std::to_string(i);
    client.RpcAsync("svc", body, 10s, results.Callback(body));
  }
  auto got = results.WaitFor(300);
  ASSERT_EQ(got.size(), 300u);
  for (auto& [body, reply] : got) EXPECT_EQ(reply, "echo:" + body);
  for (int i = 0; i < 200 && chained < 51; ++i) std::this_thread::sleep_for(50ms);
  EXPECT_EQ(chained, 51);
  // Every reply was acked: the reply queue is empty.
  EXPECT_EQ(client.Clear("caller:1"), 0);
}

TEST_F(ClientTest, AsyncCallToAnUnservedQueueTimesOut) {
  StartSwitch();
  Client client(Options("caller:1"));
  AsyncResults results;
  auto start = Clock::now();
  client.RpcAsync("nobody", "hello", 300ms, results.Callback("a"));
  client.RpcAsync("nobody", "hello", 200ms, results.Callback("b"));
  auto got = results.WaitFor(2);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], (std::pair<std::string, std::string>{"b", "error:Timeout"}));
  EXPECT_EQ(got[1], (std::pair<std::string, std::string>{"a", "error:Timeout"}));
  EXPECT_LT(Clock::now() - start, 5s);
  EXPECT_EQ(client.Clear("nobody"), 2);
}

TEST_F(ClientTest, AsyncCallCompletesAcrossASwitchRestartWithStatedir) {
  StartSwitch(/*statedir=*/true);
  Inbox inbox;
  auto server = StartRecorder("svc", &inbox);
  Client client(Options("caller:1"));
  AsyncResults results;
  client.RpcAsync("svc", "survive", 30s, results.Callback("a"));
  auto got = inbox.WaitFor(1);
  ASSERT_EQ(got.size(), 1u);
  switch_->Kill();
  server->Reply(got[0], "after restart");
  switch_->Restart();
  // If the switch died before the client read the send's answer, the client sends the request
  // again (services must be idempotent): answer every copy that arrives.
  size_t answered = 1;
  std::vector<std::pair<std::string, std::string>> done;
  for (auto until = Clock::now() + 20s; done.empty() && Clock::now() < until;) {
    auto all = inbox.Snapshot();
    for (; answered < all.size(); ++answered) server->Reply(all[answered], "after restart");
    done = results.WaitFor(1, 50ms);
  }
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].second, "after restart");
  size_t seen = inbox.Snapshot().size();
  client.RpcAsync("svc", "again", 10s, results.Callback("b"));
  auto more = inbox.WaitFor(seen + 1);
  ASSERT_EQ(more.size(), seen + 1);
  server->Reply(more.back(), "second");
  EXPECT_EQ(results.WaitFor(2).at(1).second, "second");
}

TEST_F(ClientTest, AsyncCallsInFlightFailWhenTheClientCloses) {
  StartSwitch();
  AsyncResults results;
  {
    Client client(Options("caller:1"));
    client.RpcAsync("nobody", "hello", 30s, results.Callback("a"));
    // Answered in order on the same connection: once this times out, the async send is confirmed.
    EXPECT_THROW(client.Rpc("nobody", "sync", 300ms), TimeoutError);
  }
  auto got = results.WaitFor(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].second, "error:the message-switch client was closed");
}

TEST_F(ClientTest, ServerHandsRequestsOutInArrivalOrder) {
  StartSwitch();
  Client client(Options("caller:1"));
  client.CreatePersistent("svc");
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(client.Send("svc", "caller:1", "m" + std::to_string(i)));
  }
  Inbox inbox;
  auto server = StartRecorder("svc", &inbox);
  auto got = inbox.WaitFor(20);
  ASSERT_EQ(got.size(), 20u);
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(got[i].id, i);
    EXPECT_EQ(got[i].body, "m" + std::to_string(i));
    EXPECT_EQ(got[i].reply_to, "caller:1");
  }
}

TEST_F(ClientTest, CallCompletesAcrossASwitchRestartWithStatedir) {
  StartSwitch(/*statedir=*/true);
  Inbox inbox;
  auto server = StartRecorder("svc", &inbox);
  Client client(Options("caller:1"));
  std::string reply;
  std::string error;
  std::atomic<bool> finished{false};
  std::thread caller([&] {
    try {
      reply = client.Rpc("svc", "survive", 30s);
    } catch (const std::exception& e) {
      error = e.what();
    }
    finished = true;
  });
  auto got = inbox.WaitFor(1);
  ASSERT_EQ(got.size(), 1u);
  switch_->Kill();
  // Answered while the switch is away: held until the server is back.
  server->Reply(got[0], "after restart");
  switch_->Restart();
  // If the switch died before the client read the send's answer, the client sends the request
  // again (services must be idempotent): answer every copy that arrives until the call returns.
  // The call's own 30 s timeout bounds this loop.
  for (size_t answered = 1; !finished;) {
    auto all = inbox.Snapshot();
    for (; answered < all.size(); ++answered) server->Reply(all[answered], "after restart");
    std::this_thread::sleep_for(20ms);
  }
  caller.join();
  EXPECT_EQ(error, "");
  EXPECT_EQ(reply, "after restart");
  // And both carry on.
  auto echo = StartEcho("svc2");
  EXPECT_EQ(client.Rpc("svc2", "again", 10s), "echo:again");
}

// Spec §9.2: the reference keeps its cursor and forgets its reply queue, so after a restart
// without state (sequence numbers start again at 0) calls hang.
TEST_F(ClientTest, CallsWorkAfterARestartWithoutState) {
  StartSwitch();
  auto server = StartEcho("svc");
  Client client(Options("caller:1"));
  for (int i = 0; i < 5; ++i) ASSERT_EQ(client.Rpc("svc", "before", 5s), "echo:before");
  switch_->Restart();
  for (int i = 0; i < 3; ++i) EXPECT_EQ(client.Rpc("svc", "after", 10s), "echo:after");
}

// After a restart without state, ids start again at 0: a late answer to a request the switch
// lost must not be taken as the answer to a new request with the same id.
TEST_F(ClientTest, LateReplyToALostRequestIsDropped) {
  StartSwitch();
  Inbox inbox;
  auto server = StartRecorder("svc", &inbox);
  Client client(Options("caller:1"));
  EXPECT_THROW(client.Rpc("svc", "lost", 300ms), TimeoutError);
  auto got = inbox.WaitFor(1);
  ASSERT_EQ(got.size(), 1u);
  switch_->Restart();
  std::string reply;
  std::thread caller([&] { reply = client.Rpc("svc", "new", 10s); });
  got = inbox.WaitFor(2);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1].id, got[0].id);  // the id was reused
  server->Reply(got[0], "late answer to the lost request");
  server->Reply(got[1], "answer to the new request");
  caller.join();
  EXPECT_EQ(reply, "answer to the new request");
}

TEST_F(ClientTest, NoSwitchMeansUnreachableWithinTheDeadline) {
  ConnectOptions o;
  o.path = "/nonexistent/dir/sock";
  o.connect_deadline = 300ms;
  auto start = Clock::now();
  try {
    Client client(o);
    FAIL() << "connected to nothing";
  } catch (const UnreachableError& e) {
    EXPECT_EQ(std::string(e.what()),
              "cannot connect to the message-switch at /nonexistent/dir/sock: No such file or "
              "directory");
  }
  EXPECT_LT(Clock::now() - start, 3s);
}

TEST_F(ClientTest, AdminRoutes) {
  StartSwitch();
  Client client(Options("admin:1"));
  client.CreatePersistent("q");
  for (int i = 0; i < 3; ++i) client.Send("q", "nobody", "x");
  EXPECT_TRUE(client.Delete({"q", 1}));
  EXPECT_FALSE(client.Delete({"q", 1}));
  EXPECT_EQ(client.Clear("q"), 2);
  EXPECT_EQ(client.Send("missing", "nobody", "x"), std::nullopt);
  auto names = client.List("", ListFilter::kAll);
  EXPECT_NE(std::find(names.begin(), names.end(), "q"), names.end());
}

TEST_F(ClientTest, AThrowingRequestCallbackBecomesTheReply) {
  StartSwitch();
  Server server(Options("thrower:1"), "svc",
                [](IncomingRequest r) { throw std::runtime_error("cannot take " + r.body); },
                nullptr);
  server.Start();
  Client client(Options("caller:1"));
  EXPECT_EQ(client.Rpc("svc", "this", 5s), "cannot take this");
}

TEST_F(ClientTest, HandlerServerSerialAndStopIsBounded) {
  StartSwitch();
  HandlerServer server(Options("handler:1"), "svc",
                       [](const IncomingRequest& r) -> std::string {
                         if (r.body == "throw") throw std::runtime_error("handler failed");
                         return "ok:" + r.body;
                       },
                       ServeMode::kSerial);
  server.Start();
  Client client(Options("caller:1"));
  EXPECT_EQ(client.Rpc("svc", "a", 5s), "ok:a");
  EXPECT_EQ(client.Rpc("svc", "throw", 5s), "handler failed");
  auto start = Clock::now();
  server.Stop();
  EXPECT_LT(Clock::now() - start, 3s);
}

}  // namespace
}  // namespace msclient

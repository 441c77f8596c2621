#include "switch_client/protocol.h"

#include <gtest/gtest.h>

namespace msclient {
namespace {

TEST(Protocol, EncodesSegmentsLikeTheReference) {
  EXPECT_EQ(EncodeSegment("reply to"), "reply%20to");
  EXPECT_EQ(EncodeSegment("message-cli:100"), "message-cli:100");
  EXPECT_EQ(EncodeSegment("a/b%c@d"), "a%2Fb%25c@d");
  EXPECT_EQ(EncodeSegment("org.xen.xapi.storage"), "org.xen.xapi.storage");
}

TEST(Protocol, FramesRequests) {
  EXPECT_EQ(HttpRequest("GET", "/login/hello"), "GET /login/hello HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(HttpRequest("POST", "/request/service/reply%20to", "hello"),
            "POST /request/service/reply%20to HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello");
}

TEST(Protocol, TransferBodyMatchesGolden) {
  EXPECT_EQ(TransferBody(3, 5.0, {"one", "two"}),
            R"({"from":"3","timeout":5.0,"queues":["one","two"]})");
  EXPECT_EQ(TransferBody(std::nullopt, 30.0, {"cli:100"}),
            R"({"timeout":30.0,"queues":["cli:100"]})");
}

TEST(Protocol, ParsesGoldenTransfer) {
  TransferResult r = ParseTransfer(
      R"({"messages":[[["q",1],{"payload":"hello","kind":["Request","reply to"]}],)"
      R"([["q2",2],{"payload":"hello","kind":["Response",["q",1]]}]],"next":"0"})");
  ASSERT_EQ(r.messages.size(), 2u);
  EXPECT_EQ(r.next, 0);
  EXPECT_EQ(r.messages[0].id, (MessageId{"q", 1}));
  EXPECT_TRUE(r.messages[0].is_request);
  EXPECT_EQ(r.messages[0].reply_to, "reply to");
  EXPECT_FALSE(r.messages[1].is_request);
  EXPECT_EQ(r.messages[1].request, (MessageId{"q", 1}));
  EXPECT_EQ(r.messages[1].payload, "hello");
}

TEST(Protocol, RejectsBadTransfers) {
  const char* cases[] = {
      "[]",
      R"({"messages":[]})",
      R"({"messages":[[["q",1],{"payload":"x","kind":["Other","y"]}]],"next":"1"})",
      R"({"messages":[[["q","x"],{"payload":"x","kind":["Request","y"]}]],"next":"1"})",
      R"({"messages":[],"next":"abc"})",
  };
  for (const char* c : cases) EXPECT_THROW(ParseTransfer(c), std::runtime_error) << c;
}

TEST(Protocol, ParsesSendResults) {
  EXPECT_EQ(ParseSendResult(R"([["svc",2]])"), (MessageId{"svc", 2}));
  EXPECT_EQ(ParseSendResult("[]"), std::nullopt);
  EXPECT_THROW(ParseSendResult("{}"), std::runtime_error);
  EXPECT_EQ(ParseNameList(R"(["b","a"])"), (std::vector<std::string>{"b", "a"}));
}

}  // namespace
}  // namespace msclient

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

// Our switch's exact layout takes a fast path; other layouts the generic parser. Both must agree.
TEST(Protocol, ParsesTransfersInAnyLayoutAlike) {
  const char* compact =
      R"({"messages":[[["q",7],{"payload":"a\"b\\c\n\u0041","kind":["Request","r"]}],)"
      R"([["q",8],{"payload":"","kind":["Response",["s","9"]]}]],"next":"8"})";
  const char* spaced =
      R"({ "next": 8, "messages": [ [ ["q", 7], {"kind": ["Request", "r"], )"
      R"("payload": "a\"b\\c\nA"} ], [["q",8],{"kind":["Response",["s",9]],"payload":""}]]})";
  for (const char* text : {compact, spaced}) {
    TransferResult r = ParseTransfer(text);
    ASSERT_EQ(r.messages.size(), 2u) << text;
    EXPECT_EQ(r.next, 8);
    EXPECT_EQ(r.messages[0].id, (MessageId{"q", 7}));
    EXPECT_EQ(r.messages[0].payload, "a\"b\\c\nA");
    EXPECT_EQ(r.messages[0].reply_to, "r");
    EXPECT_FALSE(r.messages[1].is_request);
    EXPECT_EQ(r.messages[1].request, (MessageId{"s", 9}));
    EXPECT_EQ(r.messages[1].payload, "");
  }
  EXPECT_EQ(ParseTransfer(R"({"messages":[],"next":"-1"})").next, -1);
}

TEST(Protocol, RejectsBadTransfers) {
  const char* cases[] = {
      "[]",
      R"({"messages":[]})",
      R"({"messages":[[["q",1],{"payload":"x","kind":["Other","y"]}]],"next":"1"})",
      R"({"messages":[[["q","x"],{"payload":"x","kind":["Request","y"]}]],"next":"1"})",
      R"({"messages":[],"next":"abc"})",
      R"({"messages":[],"next":"1"}trailing)",
      R"({"messages":[[["q",1],{"payload":"x,"kind":["Request","y"]}]],"next":"1"})",
  };
  for (const char* c : cases) EXPECT_THROW(ParseTransfer(c), std::runtime_error) << c;
}

TEST(Protocol, ParsesSendResults) {
  EXPECT_EQ(ParseSendResult(R"([["svc",2]])"), (MessageId{"svc", 2}));
  EXPECT_EQ(ParseSendResult("[]"), std::nullopt);
  EXPECT_EQ(ParseSendResult(R"([ ["svc", "3"] ])"), (MessageId{"svc", 3}));
  EXPECT_THROW(ParseSendResult("{}"), std::runtime_error);
  EXPECT_THROW(ParseSendResult(R"([["svc",2]]x)"), std::runtime_error);
  EXPECT_EQ(ParseNameList(R"(["b","a"])"), (std::vector<std::string>{"b", "a"}));
}

}  // namespace
}  // namespace msclient

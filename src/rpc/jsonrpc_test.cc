#include "rpc/jsonrpc.h"

#include <gtest/gtest.h>

#include "rpc/codec.h"

namespace rpc {
namespace {

std::string ProtocolErrorOf(const std::string& text) {
  try {
    ParseResponse(ParseJson(text));
    return "";
  } catch (const ProtocolError& e) {
    return e.what();
  }
}

TEST(JsonRpcTest, BuildsV1Calls) {
  EXPECT_EQ(Serialize(BuildCall("SR.stat", Json{{"dbg", "x"}}, 7)),
            R"({"id":7,"method":"SR.stat","params":[{"dbg":"x"}]})");
}

TEST(JsonRpcTest, ParsesCalls) {
  Call call = ParseCall(ParseJson(R"({"method":"SR.stat","params":[{"dbg":"x","sr":"s"}],"id":"a"})"));
  EXPECT_EQ(call.method, "SR.stat");
  EXPECT_EQ(call.params, ParseJson(R"({"dbg":"x","sr":"s"})"));
  EXPECT_EQ(call.id, "a");
  EXPECT_THROW(ParseCall(ParseJson(R"({"method":"SR.stat","params":["x"],"id":1})")), ProtocolError);
  EXPECT_THROW(ParseCall(ParseJson(R"({"params":[{}],"id":1})")), ProtocolError);
  EXPECT_THROW(ParseCall(ParseJson(R"([1])")), ProtocolError);
  Call v2 = ParseCall(ParseJson(R"({"jsonrpc":"2.0","method":"m","params":{"a":1},"id":1})"));
  EXPECT_EQ(v2.params, ParseJson(R"({"a":1})"));
}

TEST(JsonRpcTest, NamedArguments) {
  Json params = ParseJson(R"({"dbg":"x","extra":1})");
  EXPECT_EQ(NamedArgument(params, "dbg"), "x");
  try {
    NamedArgument(params, "DBG");
    FAIL();
  } catch (const DecodeError& e) {
    EXPECT_STREQ(e.what(), "Expecting named argument 'DBG'");
  }
}

TEST(JsonRpcTest, V1ResponseRules) {
  Response ok = ParseResponse(ParseJson(R"({"result":null,"error":null,"id":0})"));
  EXPECT_TRUE(ok.ok);
  Response failed = ParseResponse(ParseJson(R"({"result":null,"error":["Sr_not_attached","s"],"id":"x"})"));
  EXPECT_FALSE(failed.ok);
  EXPECT_EQ(failed.error, ParseJson(R"(["Sr_not_attached","s"])"));
  EXPECT_EQ(ProtocolErrorOf(R"({"result":1,"error":2,"id":0})"),
            "response has both a 'result' and an 'error'");
  EXPECT_EQ(ProtocolErrorOf(R"({"result":1,"id":0})"), "response has no member 'error'");
  EXPECT_EQ(ProtocolErrorOf(R"({"error":null,"id":0})"), "response has no member 'result'");
  EXPECT_EQ(ProtocolErrorOf(R"({"result":1,"error":null})"), "response has no integer or string 'id'");
  EXPECT_EQ(ProtocolErrorOf(R"({"result":1,"error":null,"id":1.5})"),
            "response has no integer or string 'id'");
  EXPECT_EQ(ProtocolErrorOf(R"(["Internal_error","x"])"), "response is not a JSON object");
}

TEST(JsonRpcTest, V2ResponseRules) {
  EXPECT_TRUE(ParseResponse(ParseJson(R"({"jsonrpc":"2.0","result":5,"id":1})")).ok);
  Response e = ParseResponse(ParseJson(R"({"jsonrpc":"2.0","error":{"code":1,"message":"m"},"id":1})"));
  EXPECT_FALSE(e.ok);
  EXPECT_NE(ProtocolErrorOf(R"({"jsonrpc":"2.0","result":5,"error":{"code":1,"message":"m"},"id":1})"), "");
  EXPECT_NE(ProtocolErrorOf(R"({"jsonrpc":"2.0","error":{"code":"1","message":"m"},"id":1})"), "");
}

TEST(JsonRpcTest, TransportCountsIdsAndThrowsRemoteErrors) {
  std::vector<std::string> sent;
  std::string reply = R"({"result":"ok","error":null,"id":1})";
  Transport t = MakeTransport([&](const std::string& request) {
    sent.push_back(request);
    return reply;
  });
  EXPECT_EQ(t("Plugin.query", Json{{"dbg", "d"}}), "ok");
  reply = R"({"result":null,"error":["Unimplemented","x"],"id":2})";
  try {
    t("Plugin.ls", Json{{"dbg", "d"}});
    FAIL();
  } catch (const RemoteError& e) {
    EXPECT_EQ(e.error(), ParseJson(R"(["Unimplemented","x"])"));
  }
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(ParseJson(sent[0])["id"], 1);
  EXPECT_EQ(ParseJson(sent[1])["id"], 2);
  reply = "not json";
  EXPECT_THROW(t("Plugin.ls", Json::object()), ProtocolError);
}

}  // namespace
}  // namespace rpc

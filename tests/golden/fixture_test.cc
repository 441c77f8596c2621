// Exercises the C++ generated for the golden fixture (idl/fixture.smapi): every kind of
// field, default and constructor, keyword names, and a client talking to a server through the
// JSON-RPC envelope.
#include <gtest/gtest.h>

#include "smapi/fixture.h"

namespace {

using nlohmann::json;

json RoundTrip(const std::string& type, const std::string& text) {
  json in = rpc::ParseJson(text);
  if (type == "item") return rpc::Encode(rpc::Decode<fixture::item>(in));
  if (type == "thing") return rpc::Encode(rpc::Decode<fixture::thing>(in));
  return rpc::Encode(rpc::Decode<fixture::failure>(in));
}

TEST(FixtureTest, RecordDefaultsAndKeywordFields) {
  auto item = rpc::Decode<fixture::item>(rpc::ParseJson(
      R"({"name":"n","count":"7","ratio":1,"ranges":[[1,2]],"extra":{"any":[1]},"class":"c","enabled":"no"})"));
  EXPECT_EQ(item.name, "n");
  EXPECT_EQ(item.note, std::nullopt);
  EXPECT_EQ(item.shape, std::nullopt);  // absent option: no default
  EXPECT_EQ(item.kind, "plain");        // absent with a default
  EXPECT_TRUE(item.enabled);            // malformed: the default
  EXPECT_EQ(item.count, 7);
  EXPECT_EQ(item.ratio, 1.0);
  EXPECT_EQ(item.class_, "c");
  EXPECT_EQ(rpc::Serialize(rpc::Encode(item)),
            R"({"class":"c","count":7,"enabled":true,"extra":{"any":[1]},"kind":"plain","labels":{},"name":"n","ranges":[[1,2]],"ratio":1.0,"size":0,"tags":[]})");
  auto shaped = rpc::Decode<fixture::item>(rpc::ParseJson(
      R"({"name":"n","count":1,"ratio":1,"ranges":[],"extra":null,"class":"c","shape":"Hexagon"})"));
  ASSERT_TRUE(shaped.shape.has_value());
  EXPECT_EQ(shaped.shape->Tag(), "Circle");  // present but malformed: the default
}

TEST(FixtureTest, EveryConstructorShape) {
  for (const char* text : {R"("Nothing")", R"(["Label","x"])", R"(["Pair",[1,"Square"]])",
                           R"(["Maybe",[]])", R"(["Maybe",["x"]])", R"("Empty")"}) {
    SCOPED_TRACE(text);
    EXPECT_EQ(RoundTrip("thing", text), rpc::ParseJson(text));
  }
  EXPECT_EQ(RoundTrip("thing", R"(["Empty",null])"), json("Empty"));
  EXPECT_THROW(RoundTrip("thing", R"(["Pair",[1]])"), rpc::DecodeError);
  EXPECT_THROW(RoundTrip("thing", R"("Gone")"), rpc::DecodeError);  // removed: not generated
  EXPECT_EQ(RoundTrip("failure", R"(["Mismatch",["a","b"]])"), rpc::ParseJson(R"(["Mismatch",["a","b"]])"));
  EXPECT_EQ(RoundTrip("failure", R"(["Whatever",1])"), json("Unknown"));
}

class Keeper : public fixture::KeeperHandler {
 public:
  fixture::name put(const std::string& dbg, const fixture::item& item) override {
    if (item.name.empty()) {
      throw fixture::failure_exception(fixture::failure{fixture::failure::Not_found{dbg}});
    }
    items_[item.name] = item;
    return item.name;
  }
  std::tuple<std::vector<fixture::item>, std::string> get(
      const std::string&, const fixture::names& names,
      const std::optional<int64_t>& timeout) override {
    std::vector<fixture::item> found;
    for (const auto& n : names) {
      if (items_.count(n)) found.push_back(items_.at(n));
    }
    return {found, timeout ? std::to_string(*timeout) : "none"};
  }
  int64_t count() override { return static_cast<int64_t>(items_.size()); }

 private:
  std::map<std::string, fixture::item> items_;
};

TEST(FixtureTest, ClientAndServerTalkThroughTheEnvelope) {
  Keeper keeper;
  fixture::Handlers handlers;
  handlers.Keeper = &keeper;
  std::vector<std::string> requests;
  fixture::KeeperClient client(rpc::MakeTransport([&](const std::string& request) {
    requests.push_back(request);
    return fixture::HandleRequestText(handlers, request);
  }));
  fixture::item item{};
  item.name = "a";
  item.class_ = "k";
  item.shape = fixture::shape{fixture::shape::Square{}};
  EXPECT_EQ(client.put("dbg", item), "a");
  auto [found, token] = client.get("dbg", {"a", "b"}, 5);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0], item);
  EXPECT_EQ(token, "5");
  EXPECT_EQ(std::get<1>(client.get("dbg", {}, std::nullopt)), "none");
  EXPECT_EQ(rpc::ParseJson(requests.back())["params"][0], rpc::ParseJson(R"({"dbg":"dbg","names":[]})"));
  EXPECT_EQ(client.count(), 1);
  EXPECT_EQ(rpc::ParseJson(requests.back())["params"][0], rpc::ParseJson(R"({"unit":null})"));

  try {
    client.delete_("dbg", "a");
    FAIL() << "no exception";
  } catch (const fixture::failure_exception& e) {
    EXPECT_EQ(std::get<fixture::failure::Unimplemented>(e.error().value).value, "Keeper.delete");
  }
  try {
    client.put("ctx", fixture::item{});
    FAIL() << "no exception";
  } catch (const fixture::failure_exception& e) {
    EXPECT_STREQ(e.what(), R"(["Not_found","ctx"])");
  }
  // No handler for Top: its methods are unknown.
  fixture::TopClient top(rpc::MakeTransport([&](const std::string& request) {
    return fixture::HandleRequestText(handlers, request);
  }));
  try {
    top.describe("dbg", fixture::thing{});
    FAIL() << "no exception";
  } catch (const fixture::failure_exception& e) {
    EXPECT_STREQ(e.what(), R"(["Unimplemented","describe"])");
  }
}

TEST(FixtureTest, MetadataListsLiveMethodsOnly) {
  std::vector<std::string> wire_names;
  for (const auto& m : fixture::Methods()) wire_names.push_back(m.wire_name);
  EXPECT_EQ(wire_names, (std::vector<std::string>{"Keeper.put", "Keeper.get", "Keeper.delete",
                                                  "Keeper.count", "describe"}));
  const rpc::MethodInfo* get = rpc::FindMethod(fixture::Methods(), "Keeper.get");
  ASSERT_NE(get, nullptr);
  EXPECT_TRUE(get->deprecated);
  EXPECT_EQ(get->arguments[1].type, "names");
  EXPECT_EQ(get->arguments[1].resolved_type, "list<name>");
  EXPECT_EQ(get->result_type, "(list<item>, string)");
  ASSERT_EQ(fixture::Interfaces().size(), 2u);
  EXPECT_EQ(fixture::Interfaces()[1].wire_namespace, "");
  EXPECT_EQ(fixture::Interfaces()[0].version, "1.2.3");
}

}  // namespace

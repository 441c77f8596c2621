#include "message_cli/views.h"

#include <gtest/gtest.h>

// g++ 12 reports a false -Wrestrict on "literal" + std::string chains at -O3 (GCC bug 105329).
#pragma GCC diagnostic ignored "-Wrestrict"

namespace mcli {
namespace {

using msclient::Json;
using msclient::ParseJson;

constexpr int64_t kS = 1000000000;

TEST(TimeAgo, Phrases) {
  struct Case {
    int64_t ns;
    const char* text;
  } cases[] = {
      {5 * kS, "5 seconds ago"},
      {125 * kS, "2 mins and 5 seconds ago"},
      {(86400 + 3 * 3600 + 121) * kS, "1 day, 3 hours, 2 mins and 1 second ago"},
      {2 * 86400 * kS, "2 days ago"},
      {3600 * kS + 999999, "1 hour ago"},
      {666000000, "666ms ago"},
      {12300, "12.3\xce\xbcs ago"},
      {0, "0ns ago"},
      {-5, "0ns ago"},
      {1500, "1.5\xce\xbcs ago"},
      {1234, "1.24\xce\xbcs ago"},
      {999999999, "1s ago"},
  };
  for (const Case& c : cases) EXPECT_EQ(TimeAgo(c.ns), c.text) << c.ns;
}

TEST(OcamlEscaped, Escapes) {
  EXPECT_EQ(OcamlEscaped("a\"b\\c\nd\te\x01\xc3"), "a\\\"b\\\\c\\nd\\te\\001\\195");
}

TEST(RenderDiagnostics, SpecExample) {
  int64_t now = 125 * kS;
  std::string json = R"({"start_time":0,"current_time":)" + std::to_string(now) +
                     R"(,"permanent_queues":{)"
                     R"("org.xen.xapi.storage":{"next_transfer_expected":)" +
                     std::to_string(now + 20 * kS) + R"(,"queue_contents":[]},)"
                     R"("foo":{"queue_contents":[[["foo",0],{"origin":["Name","message-cli:100"],"time":)" +
                     std::to_string(now - 3 * kS) +
                     R"(,"message":{"payload":"hello","kind":["Request","message-cli:100"]}}]]}},)"
                     R"("transient_queues":{"message-cli:300":{"queue_contents":[]},)"
                     R"("message-cli:100":{"next_transfer_expected":)" +
                     std::to_string(now + 10 * kS) + R"(,"queue_contents":[]}}})";
  EXPECT_EQ(RenderDiagnostics(ParseJson(json), false),
            "Switch started 2 mins and 5 seconds ago\n"
            "\n"
            "The following services are running:\n"
            "- org.xen.xapi.storage\n"
            "\n"
            "The following services have been called but have never started:\n"
            "- foo\n"
            "    0: request from: message-cli:100 sent 3 seconds ago\n"
            "      - hello\n"
            "      - message-cli:100 is waiting for a response\n"
            "Temporary queues containing replies:\n"
            "- message-cli:300\n");
}

TEST(RenderDiagnostics, CrashedServiceJsonRpcAndDeadCaller) {
  int64_t now = 1000 * kS;
  std::string long_param(100, 'x');
  std::string payload = R"({\"method\":\"VM.stat\",\"params\":[\"dbg-123\",\")" + long_param +
                        R"(\"],\"id\":7})";
  std::string json =
      R"({"start_time":0,"current_time":)" + std::to_string(now) +
      R"(,"permanent_queues":{"svc":{"next_transfer_expected":)" + std::to_string(now - 64 * kS) +
      R"(,"queue_contents":[[["svc",12],{"origin":["Name","xapi:2345"],"time":)" +
      std::to_string(now - 64 * kS) + R"(,"message":{"payload":")" + payload +
      R"(","kind":["Request","xapi:2345"]}}]]}},"transient_queues":{}})";
  std::string expected =
      "Switch started 16 mins and 40 seconds ago\n"
      "No known services are running.\n"
      "\n"
      "The following services have crashed or deadlocked:\n"
      "- svc: service crashed or deadlocked 1 min and 4 seconds ago\n"
      "    12: request from: xapi:2345 sent 1 min and 4 seconds ago\n"
      "      - VM.stat\n"
      "        - \"dbg-123\"\n"
      "        - \"";
  expected.append(69, 'x');
  expected.append("\n       - xapi:2345 appears to have crashed\n");
  EXPECT_EQ(RenderDiagnostics(ParseJson(json), false), expected);
}

TEST(RenderDiagnostics, HidesEmptyCancelQueuesOfServices) {
  std::string json = R"({"start_time":0,"current_time":1000,"permanent_queues":{)"
                     R"("svc":{"next_transfer_expected":1000,"queue_contents":[]}},)"
                     R"("transient_queues":{"svc.cancel":{"queue_contents":[]},)"
                     R"("other.cancel":{"queue_contents":[]}}})";
  EXPECT_EQ(RenderDiagnostics(ParseJson(json), false),
            "Switch started 1\xce\xbcs ago\n"
            "\n"
            "The following services are running:\n"
            "- svc\n"
            "Temporary queues containing replies:\n"
            "- other.cancel\n");
}

TEST(RenderDiagnostics, NoServices) {
  EXPECT_EQ(RenderDiagnostics(ParseJson(R"({"start_time":0,"current_time":5000000000,)"
                                        R"("permanent_queues":{},"transient_queues":{}})"),
                              false),
            "Switch started 5 seconds ago\nThere are no known services (yet).\n");
}

// The round trip of spec §5.1.
const char* kTrace =
    R"({"events":[)"
    R"([0,{"time":1724.10,"input":"message-cli:100","queue":"foo","message":["Message",["foo",0],{"payload":"hello","kind":["Request","message-cli:100"]}]}],)"
    R"([1,{"time":1724.11,"queue":"foo","output":"message-cli:200","message":["Message",["foo",0],{"payload":"hello","kind":["Request","message-cli:100"]}]}],)"
    R"([2,{"time":1724.12,"input":"message-cli:200","queue":"message-cli:100","message":["Message",["message-cli:100",0],{"payload":"hello","kind":["Response",["foo",0]]}]}],)"
    R"([3,{"time":1724.12,"input":"message-cli:200","queue":"foo","message":["Ack",["foo",0]]}],)"
    R"([4,{"time":1724.13,"queue":"message-cli:100","output":"message-cli:100","message":["Message",["message-cli:100",0],{"payload":"hello","kind":["Response",["foo",0]]}]}],)"
    R"([5,{"time":1724.13,"input":"message-cli:100","queue":"message-cli:100","message":["Ack",["message-cli:100",0]]}]]})";

TEST(Tail, SpecExampleRows) {
  std::vector<TraceEvent> events = ParseTrace(ParseJson(kTrace));
  ASSERT_EQ(events.size(), 6u);
  std::string rows;
  for (const TraceEvent& e : events) rows += TailRow(e, events[0].time) + "\n";
  EXPECT_EQ(rows,
            "0.0   message-cli:100 ->   foo                            ->   -                     foo.0:hello \n"
            "0.0   -               ->   foo                            ->   message-cli:200       foo.0:hello \n"
            "0.0   -               <-   message-cli:100                <-   message-cli:200       message-cli:100.0:hello \n"
            "0.0   message-cli:200 ->   foo                                                       foo.0:ack \n"
            "0.0   message-cli:100 <-   message-cli:100                <-   -                     message-cli:100.0:hello \n"
            "0.0   message-cli:100 ->   message-cli:100                                           message-cli:100.0:ack \n");
}

TEST(Tail, CutsFromTheLeftAndShowsMilliseconds) {
  TraceEvent e;
  e.time = 12.25;
  e.input = "a-very-long-session-name:12345";
  e.queue = "q";
  e.is_request = false;
  e.id_queue = "q";
  e.payload = "x";
  e.processing_time_ns = 2500000;
  EXPECT_EQ(TailRow(e, 10.0),
            "2.2   -               <-   q                              <-   sion-name:12345 2.5   q.0:x ");
}

TEST(Mscgen, SpecExample) {
  EXPECT_EQ(MscChart(ParseTrace(ParseJson(kTrace))),
            "msc {\n"
            "\"foo\",\"message-cli:100\",\"message-cli:200\";\n"
            "\"message-cli:100\" => \"foo\" [ label = \"hello\" ] ;\n"
            "\"foo\" => \"message-cli:200\" [ label = \"hello\" ] ;\n"
            "\"message-cli:100\" << \"message-cli:200\" [ label = \"hello\" ] ;\n"
            "}\n");
}

TEST(Mscgen, LabelsForJsonRpcAndEmptyTrace) {
  EXPECT_EQ(MscChart({}), "msc {\n;\n}\n");
  TraceEvent call;
  call.input = "xapi:1";
  call.queue = "svc";
  call.payload = R"({"method":"VM.stat","params":[],"id":1})";
  TraceEvent ok = call;
  ok.is_request = false;
  ok.payload = R"({"result":1,"error":null,"id":1})";
  TraceEvent fail = ok;
  fail.payload = R"({"result":null,"error":["X"],"id":1})";
  TraceEvent raw = call;
  raw.payload = "0123456789abc\"";
  EXPECT_EQ(MscChart({call, ok, fail, raw}),
            "msc {\n\"svc\",\"xapi:1\";\n"
            "\"xapi:1\" => \"svc\" [ label = \"VM.stat\" ] ;\n"
            "\"svc\" << \"xapi:1\" [ label = \"OK\" ] ;\n"
            "\"svc\" << \"xapi:1\" [ label = \"FAILURE\" ] ;\n"
            "\"xapi:1\" => \"svc\" [ label = \"0123456789\" ] ;\n"
            "}\n");
}

}  // namespace
}  // namespace mcli

// libFuzzer target: HTTP request parsing and broker handling, without sockets.
//
// The input is a byte stream as three connections would send it: the first byte of each chunk
// picks the connection, the next two give the chunk's length. Each connection's bytes are parsed
// incrementally like the server does, every complete request goes to one broker, and a few
// control bytes close connections or advance the clock to expire parked long-polls. The broker
// must answer everything without crashing, and a parked request must be answered at most once.
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>

#include "switch/broker.h"
#include "switch/http_parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  int64_t now = 0;
  msw::BrokerOptions options;
  options.trace_entries = 8;
  options.max_queue_messages = 16;
  msw::Broker broker(options, [&now] { return now; }, [] { return 1.0; }, nullptr);
  msw::HttpLimits limits;
  limits.max_body_bytes = 4096;
  limits.max_header_bytes = 4096;
  std::string buffers[3];
  std::set<uint64_t> answered;
  uint64_t next_token = 0;

  size_t pos = 0;
  while (pos + 3 <= size) {
    uint8_t control = data[pos];
    size_t len = static_cast<size_t>(data[pos + 1]) | (static_cast<size_t>(data[pos + 2]) << 8);
    pos += 3;
    len = std::min(len, size - pos);
    unsigned conn = control % 3;
    if (control >= 0xf0) {  // close the connection
      broker.ConnectionClosed(conn + 1);
      buffers[conn].clear();
      continue;
    }
    if (control >= 0xe0) {  // let time pass
      now += static_cast<int64_t>(control - 0xe0) * 1'000'000'000;
      broker.Expire();
      continue;
    }
    buffers[conn].append(reinterpret_cast<const char*>(data + pos), len);
    pos += len;
    for (;;) {
      msw::HttpRequest req;
      msw::ParseResult r = msw::ParseHttpRequest(buffers[conn], limits, &req);
      if (r.status == msw::ParseStatus::kNeedMore) break;
      if (r.status != msw::ParseStatus::kComplete) {
        buffers[conn].clear();  // the server closes such a connection
        broker.ConnectionClosed(conn + 1);
        break;
      }
      buffers[conn].erase(0, r.consumed);
      uint64_t token = next_token++;
      auto reply = broker.Handle(conn + 1, req, [&answered, token](msw::Reply) {
        if (!answered.insert(token).second) __builtin_trap();  // answered twice
      });
      if (reply && reply->status < 200) __builtin_trap();
    }
  }
  now += 4000'000'000'000;
  broker.Expire();
  broker.Housekeeping();
  return 0;
}

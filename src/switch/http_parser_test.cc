#include "switch/http_parser.h"

#include <gtest/gtest.h>

namespace msw {
namespace {

ParseResult Parse(std::string_view data, HttpRequest* req, HttpLimits limits = {}) {
  return ParseHttpRequest(data, limits, req);
}

TEST(HttpParser, ParsesAGoldenFrame) {
  HttpRequest req;
  std::string frame = "POST /request/service/reply%20to HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello";
  ParseResult r = Parse(frame, &req);
  ASSERT_EQ(r.status, ParseStatus::kComplete);
  EXPECT_EQ(r.consumed, frame.size());
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.target, "/request/service/reply%20to");
  EXPECT_EQ(req.body, "hello");
  EXPECT_TRUE(req.keep_alive);
}

TEST(HttpParser, EveryPrefixNeedsMore) {
  std::string frame = "POST /transfer HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc";
  for (std::size_t n = 0; n < frame.size(); ++n) {
    HttpRequest req;
    EXPECT_EQ(Parse(frame.substr(0, n), &req).status, ParseStatus::kNeedMore) << n;
  }
}

TEST(HttpParser, PipelinedRequestsAreParsedOneAtATime) {
  std::string two = "GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\nContent-Length: 0\r\n\r\n";
  HttpRequest req;
  ParseResult r = Parse(two, &req);
  ASSERT_EQ(r.status, ParseStatus::kComplete);
  EXPECT_EQ(req.target, "/a");
  r = Parse(std::string_view(two).substr(r.consumed), &req);
  ASSERT_EQ(r.status, ParseStatus::kComplete);
  EXPECT_EQ(req.target, "/b");
}

TEST(HttpParser, ChunkedBody) {
  HttpRequest req;
  std::string frame =
      "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n3;ext=1\r\n, w\r\n0\r\n\r\n";
  ParseResult r = Parse(frame, &req);
  ASSERT_EQ(r.status, ParseStatus::kComplete);
  EXPECT_EQ(req.body, "hello, w");
  EXPECT_EQ(r.consumed, frame.size());
  EXPECT_EQ(Parse(frame.substr(0, frame.size() - 1), &req).status, ParseStatus::kNeedMore);
}

TEST(HttpParser, ConnectionCloseAndHttp10) {
  HttpRequest req;
  ASSERT_EQ(Parse("GET / HTTP/1.1\r\nConnection: close\r\n\r\n", &req).status,
            ParseStatus::kComplete);
  EXPECT_FALSE(req.keep_alive);
  ASSERT_EQ(Parse("GET / HTTP/1.0\r\n\r\n", &req).status, ParseStatus::kComplete);
  EXPECT_FALSE(req.keep_alive);
}

TEST(HttpParser, BadInputIsRejectedWithAReason) {
  struct Case {
    const char* input;
    ParseStatus status;
    const char* error;
  } cases[] = {
      {"garbage\r\n\r\n", ParseStatus::kBadRequest, "malformed request line"},
      {"GET / HTTP/2.0\r\n\r\n", ParseStatus::kBadRequest, "unsupported HTTP version"},
      {"GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n", ParseStatus::kBadRequest,
       "bad Content-Length"},
      {"GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
       ParseStatus::kBadRequest, "conflicting Content-Length headers"},
      {"GET / HTTP/1.1\r\nno colon\r\n\r\n", ParseStatus::kBadRequest, "malformed header line"},
      {"GET / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", ParseStatus::kBadRequest,
       "unsupported Transfer-Encoding"},
      {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", ParseStatus::kBadRequest,
       "bad chunk size"},
      {"GET / HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\n", ParseStatus::kTooLarge,
       "request body exceeds 16777216 bytes"},
  };
  for (const auto& c : cases) {
    HttpRequest req;
    ParseResult r = Parse(c.input, &req);
    EXPECT_EQ(r.status, c.status) << c.input;
    EXPECT_EQ(r.error, c.error) << c.input;
  }
}

TEST(HttpParser, OversizedHeaderWithoutEnd) {
  HttpLimits limits;
  limits.max_header_bytes = 100;
  HttpRequest req;
  std::string big = "GET / HTTP/1.1\r\nX: " + std::string(200, 'a');
  EXPECT_EQ(Parse(big, &req, limits).status, ParseStatus::kTooLarge);
}

TEST(HttpParser, ChunkedBodyOverTheLimit) {
  HttpLimits limits;
  limits.max_body_bytes = 4;
  HttpRequest req;
  EXPECT_EQ(Parse("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
                  &req, limits)
                .status,
            ParseStatus::kTooLarge);
}

}  // namespace
}  // namespace msw

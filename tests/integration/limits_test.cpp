// Every configured limit, proven against the real binary.
#include <gtest/gtest.h>
#include <boost/json/parse.hpp>

#include "tests/support/clients.hpp"
#include "tests/support/process.hpp"

namespace gw::test {
namespace {

std::string error_code_of(const http_response& r) {
  return std::string(boost::json::parse(r.body()).at("error").as_string());
}

TEST(Limits, OversizedHeadersGet431) {
  gateway_process gw({}, {"GATEWAY_HTTP_MAX_HEADER_BYTES=2048"});
  tcp_client c(gw.port());
  c.send("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(4000, 'a') + "\r\n\r\n");
  auto res = c.read_response();
  EXPECT_EQ(res.result_int(), 431);
  EXPECT_EQ(error_code_of(res), "header_too_large");
  EXPECT_NE(res.body().find("2048"), std::string::npos);
  // Just under the limit is fine.
  EXPECT_EQ(tcp_client(gw.port())
                .request([] {
                  http::request<http::string_body> r{http::verb::get, "/healthz", 11};
                  r.set("X-Big", std::string(1500, 'a'));
                  return r;
                }())
                .result_int(),
            200);
}

TEST(Limits, OversizedBodyIs413FromTheHeadersAlone) {
  gateway_process gw({}, {"GATEWAY_HTTP_MAX_BODY_BYTES=1000"});
  tcp_client c(gw.port());
  // Only the headers are sent: the answer must come without the body.
  c.send("POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n");
  auto res = c.read_response();
  EXPECT_EQ(res.result_int(), 413);
  EXPECT_EQ(error_code_of(res), "payload_too_large");
  EXPECT_FALSE(res.keep_alive());
  // Routing did not happen: no 404 or 405 for /healthz was counted.
  auto m = http_get(gw.port(), "/metrics").body();
  EXPECT_EQ(m.find("status=\"405\""), std::string::npos);
  EXPECT_NE(m.find("status=\"413\"} 1\n"), std::string::npos);
}

TEST(Limits, OversizedChunkedBodyIs413) {
  gateway_process gw({}, {"GATEWAY_HTTP_MAX_BODY_BYTES=1000"});
  tcp_client c(gw.port());
  std::string chunk(800, 'x');
  c.send(
      "POST /nope HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "320\r\n" +
      chunk + "\r\n320\r\n" + chunk + "\r\n0\r\n\r\n");
  auto res = c.read_response();
  EXPECT_EQ(res.result_int(), 413);
}

TEST(Limits, SlowHeadersAreDropped) {
  gateway_process gw({}, {"GATEWAY_HTTP_HEADER_TIMEOUT_MS=800"});
  tcp_client c(gw.port());
  // One byte every 300 ms never completes the headers within 800 ms.
  std::string request = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: abcdefghijklmnop\r\n\r\n";
  bool dropped = false;
  for (std::size_t i = 0; i < request.size() && !dropped; ++i) {
    try {
      c.send(request.substr(i, 1));
    } catch (const std::exception&) {
      dropped = true;
      break;
    }
    dropped = c.wait_closed(300ms);
  }
  EXPECT_TRUE(dropped);
  EXPECT_NE(http_get(gw.port(), "/metrics").body().find("gateway_http_timeouts_total 1\n"),
            std::string::npos);
}

TEST(Limits, IdleKeepAliveConnectionsAreClosed) {
  gateway_process gw({}, {"GATEWAY_HTTP_IDLE_TIMEOUT_MS=300"});
  tcp_client c(gw.port());
  EXPECT_EQ(c.get("/healthz").result_int(), 200);
  EXPECT_TRUE(c.wait_closed(3s));
}

TEST(Limits, MaxConnectionsRefusesWith503) {
  gateway_process gw({}, {"GATEWAY_HTTP_MAX_CONNECTIONS=2"});
  tcp_client a(gw.port()), b(gw.port());
  EXPECT_EQ(a.get("/healthz").result_int(), 200);
  EXPECT_EQ(b.get("/healthz").result_int(), 200);
  tcp_client third(gw.port());
  auto res = third.read_response();
  EXPECT_EQ(res.result_int(), 503);
  EXPECT_EQ(error_code_of(res), "unavailable");
  EXPECT_TRUE(third.wait_closed(2s));
  EXPECT_EQ(a.get("/healthz").result_int(), 200);  // the admitted ones are unaffected
}

// A closed connection gives its slot back: with a limit of one, connections
// one after another all get in (allowing the server a moment to notice).
TEST(Limits, ClosedConnectionsFreeTheirSlot) {
  gateway_process gw({}, {"GATEWAY_HTTP_MAX_CONNECTIONS=1"});
  for (int i = 0; i < 5; ++i) {
    bool served = false;
    for (int attempt = 0; attempt < 100 && !served; ++attempt) {
      try {
        tcp_client c(gw.port());
        c.send("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        served = c.read_response().result_int() == 200;
      } catch (const std::exception&) {
      }
      if (!served) std::this_thread::sleep_for(20ms);
    }
    ASSERT_TRUE(served) << "connection " << i << " never got a slot";
  }
}

}  // namespace
}  // namespace gw::test

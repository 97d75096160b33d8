// SIGTERM/SIGINT: stop accepting, finish in-flight requests, close
// WebSockets with 1001, exit 0 within the grace period.
#include <signal.h>

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>

#include "tests/support/clients.hpp"
#include "tests/support/process.hpp"

namespace gw::test {
namespace {

TEST(Shutdown, DrainsInFlightRequestsAndClosesWebSocketsWith1001) {
  gateway_process gw;
  ws_client ws(gw.port());
  ws.send_text(R"({"c":"ping","id":"before"})");
  ASSERT_NE(ws.read_text().find("pong"), std::string::npos);

  tcp_client idle(gw.port());
  ASSERT_EQ(idle.get("/healthz").result_int(), 200);

  // A request in flight: headers sent, body not yet.
  tcp_client busy(gw.port());
  busy.send("GET /readyz HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n");
  std::this_thread::sleep_for(100ms);

  gw.signal(SIGTERM);
  ASSERT_TRUE(gw.wait_log("\"msg\":\"shutting down\"", 5s));

  int messages = -1;
  EXPECT_EQ(ws.read_until_close(&messages), 1001);
  EXPECT_EQ(messages, 0);
  EXPECT_TRUE(idle.wait_closed(2s));

  busy.send("hello");
  auto res = busy.read_response();
  EXPECT_EQ(res.result_int(), 503);  // readiness reports draining
  EXPECT_EQ(boost::json::parse(res.body()).at("status").as_string(), "draining");
  EXPECT_FALSE(res.keep_alive());
  EXPECT_TRUE(busy.wait_closed(2s));

  EXPECT_EQ(gw.wait_exit(10s), 0);
  EXPECT_TRUE(gw.wait_log("\"msg\":\"stopped\"", 1s));
  // No longer accepting.
  EXPECT_THROW(tcp_client(gw.port(), 1s), std::exception);
}

TEST(Shutdown, GracePeriodBoundsAStuckClient) {
  gateway_process gw({}, {"GATEWAY_SHUTDOWN_GRACE_MS=500", "GATEWAY_HTTP_HEADER_TIMEOUT_MS=60000"});
  tcp_client stuck(gw.port());
  stuck.send("GET /healthz HTTP/1.1\r\nHost: x\r\n");  // headers never finish
  std::this_thread::sleep_for(100ms);
  auto started = std::chrono::steady_clock::now();
  gw.signal(SIGINT);
  EXPECT_EQ(gw.wait_exit(10s), 0);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
  EXPECT_TRUE(gw.wait_log("grace period over", 1s));
}

TEST(Shutdown, IdleServerStopsAtOnce) {
  gateway_process gw;
  gw.signal(SIGTERM);
  EXPECT_EQ(gw.wait_exit(5s), 0);
}

}  // namespace
}  // namespace gw::test

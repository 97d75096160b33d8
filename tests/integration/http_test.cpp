// The real binary over loopback: operational routes, keep-alive, errors.
#include <gtest/gtest.h>
#include <boost/json/parse.hpp>
#include <thread>

#include "tests/support/clients.hpp"
#include "tests/support/process.hpp"

namespace gw::test {
namespace {

std::string json_field(const std::string& body, const char* key) {
  return std::string(boost::json::parse(body).at(key).as_string());
}

TEST(Http, HealthReadyAndMetrics) {
  gateway_process gw;
  auto h = http_get(gw.port(), "/healthz");
  EXPECT_EQ(h.result_int(), 200);
  EXPECT_EQ(json_field(h.body(), "status"), "ok");
  auto r = http_get(gw.port(), "/readyz");
  EXPECT_EQ(r.result_int(), 200);
  EXPECT_EQ(json_field(r.body(), "status"), "ready");

  // A request is counted when its answer's write completes, and a
  // connection closed when the gateway reads its end, both in the gateway's
  // own time: this client may already be on its next request. Scrape until
  // the two before show, as a scraper a moment later would see them.
  auto settled = [](const std::string& t) {
    return t.find("gateway_http_requests_total{route=\"/healthz\",status=\"200\"} 1\n") !=
               std::string::npos &&
           t.find("gateway_http_requests_total{route=\"/readyz\",status=\"200\"} 1\n") !=
               std::string::npos &&
           t.find("gateway_connections_open 1\n") != std::string::npos;
  };
  auto m = http_get(gw.port(), "/metrics");
  for (auto deadline = std::chrono::steady_clock::now() + 5s;
       !settled(m.body()) && std::chrono::steady_clock::now() < deadline;) {
    std::this_thread::sleep_for(20ms);
    m = http_get(gw.port(), "/metrics");
  }
  EXPECT_EQ(m.result_int(), 200);
  EXPECT_EQ(m[http::field::content_type], "text/plain; version=0.0.4; charset=utf-8");
  const auto& text = m.body();
  EXPECT_NE(text.find("gateway_build_info{version="), std::string::npos);
  EXPECT_NE(text.find("gateway_http_requests_total{route=\"/healthz\",status=\"200\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("gateway_http_requests_total{route=\"/readyz\",status=\"200\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("gateway_connections_open 1\n"), std::string::npos);  // this request's own
  EXPECT_NE(text.find("gateway_http_request_duration_seconds_count{route=\"/healthz\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("gateway_journal_healthy 1\n"), std::string::npos);
  EXPECT_NE(text.find("gateway_journal_events_total 0\n"), std::string::npos);
  // The process's own families, and every thread by its name (two shards).
  for (const char* family :
       {"process_cpu_seconds_total ", "process_resident_memory_bytes ",
        "process_start_time_seconds ", "process_open_fds ", "process_max_fds "})
    EXPECT_NE(text.find(std::string("\n") + family), std::string::npos) << family;
  for (const char* thread :
       {"gateway", "gw-shard-0", "gw-shard-1", "gw-sync", "gw-sync-dir", "gw-sync-bal"})
    EXPECT_NE(
        text.find("gateway_thread_cpu_seconds_total{thread=\"" + std::string(thread) + "\"} "),
        std::string::npos)
        << thread;
}

TEST(Http, KeepAliveServesManyRequestsOnOneConnection) {
  gateway_process gw;
  tcp_client c(gw.port());
  for (int i = 0; i < 50; ++i) {
    auto res = c.get("/healthz");
    ASSERT_EQ(res.result_int(), 200);
    ASSERT_TRUE(res.keep_alive());
  }
  // Pipelined: three requests in one write, three answers in order.
  c.send(
      "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(c.read_response().result_int(), 200);
  EXPECT_EQ(c.read_response().result_int(), 404);
  EXPECT_EQ(c.read_response().result_int(), 200);
  auto m = http_get(gw.port(), "/metrics").body();
  EXPECT_NE(m.find("route=\"/healthz\",status=\"200\"} 51\n"), std::string::npos);
  EXPECT_NE(m.find("gateway_connections_accepted_total 2\n"), std::string::npos);
}

// A request is parsed from what one read brought when it is all there, and
// read on when it is not: a header cut mid-line, a body in two pieces, and
// a whole request after them in the same segment are answered alike.
TEST(Http, RequestsInPiecesAndWholeAreAnsweredAlike) {
  gateway_process gw;
  tcp_client c(gw.port());
  auto pause = [] { std::this_thread::sleep_for(50ms); };
  c.send("POST /webhooks/whatsapp/nope HTTP/1.1\r\nHost: x\r\nContent-");
  pause();
  c.send("Length: 10\r\n\r\n01234");
  pause();
  c.send("56789GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  auto first = c.read_response();
  EXPECT_EQ(first.result_int(), 404);
  EXPECT_EQ(json_field(first.body(), "error"), "not_found");
  EXPECT_EQ(c.read_response().result_int(), 200);
  c.send("POST /webhooks/whatsapp/nope HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc");
  EXPECT_EQ(c.read_response().result_int(), 404);
  EXPECT_TRUE(c.get("/healthz").keep_alive());
}

TEST(Http, UnknownRouteAndMethodGetJsonErrors) {
  gateway_process gw;
  auto nf = http_get(gw.port(), "/no/such/thing?x=1");
  EXPECT_EQ(nf.result_int(), 404);
  EXPECT_EQ(nf[http::field::content_type], "application/json");
  EXPECT_EQ(json_field(nf.body(), "error"), "not_found");
  EXPECT_EQ(json_field(nf.body(), "message"), "no route for /no/such/thing");

  tcp_client c(gw.port());
  auto na = c.request({http::verb::post, "/metrics", 11, "x"});
  EXPECT_EQ(na.result_int(), 405);
  EXPECT_EQ(na[http::field::allow], "GET");
  EXPECT_EQ(json_field(na.body(), "error"), "method_not_allowed");
  EXPECT_TRUE(na.keep_alive());  // a routing error does not cost the connection

  auto ws_only = c.get("/v1/agent");
  EXPECT_EQ(ws_only.result_int(), 426);
  EXPECT_EQ(json_field(ws_only.body(), "error"), "upgrade_required");
}

TEST(Http, MalformedRequestIs400AndCloses) {
  gateway_process gw;
  tcp_client c(gw.port());
  c.send("GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header Line\r\n\r\n");
  auto res = c.read_response();
  EXPECT_EQ(res.result_int(), 400);
  EXPECT_EQ(json_field(res.body(), "error"), "bad_request");
  EXPECT_NE(json_field(res.body(), "message").find("malformed request"), std::string::npos);
  EXPECT_TRUE(c.wait_closed(2s));
  // The process is unharmed.
  EXPECT_EQ(http_get(gw.port(), "/healthz").result_int(), 200);
}

TEST(Http, ExpectContinueGetsInterimResponse) {
  gateway_process gw;
  tcp_client c(gw.port());
  c.send("POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n");
  auto interim = c.read_response();
  EXPECT_EQ(interim.result_int(), 100);
  c.send("abcd");
  EXPECT_EQ(c.read_response().result_int(), 405);
}

}  // namespace
}  // namespace gw::test

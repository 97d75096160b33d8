#include "gateway/obs/metrics.hpp"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace gw::metrics {
namespace {

using namespace std::chrono_literals;

TEST(Metrics, CountsRequestsByRouteAndStatus) {
  registry r("1.2.3", "epoll");
  r.set_routes({"unmatched", "/healthz"});
  r.count_request(1, 200, 300us);
  r.count_request(1, 200, 2ms);
  r.count_request(0, 404, 10us);
  r.count_request(5, 200, 1ms);  // unknown route: ignored, not a crash
  r.count_request(1, 999, 1ms);  // impossible status: ignored
  EXPECT_EQ(r.requests(1, 200), 2u);
  EXPECT_EQ(r.requests(0, 404), 1u);
  auto text = r.render();
  EXPECT_NE(text.find("gateway_http_requests_total{route=\"/healthz\",status=\"200\"} 2\n"),
            std::string::npos);
  EXPECT_NE(text.find("gateway_http_requests_total{route=\"unmatched\",status=\"404\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("gateway_build_info{version=\"1.2.3\",backend=\"epoll\"} 1\n"),
            std::string::npos);
}

TEST(Metrics, HistogramBucketsAreCumulative) {
  registry r("v", "b");
  r.set_routes({"unmatched", "/x"});
  r.count_request(1, 200, 300us);  // le 0.0005
  r.count_request(1, 200, 2ms);    // le 0.0025
  r.count_request(1, 200, 10s);    // only +Inf
  auto text = r.render();
  EXPECT_NE(text.find("_bucket{route=\"/x\",le=\"0.00025\"} 0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("_bucket{route=\"/x\",le=\"0.0005\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("_bucket{route=\"/x\",le=\"0.0025\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("_bucket{route=\"/x\",le=\"5\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("_bucket{route=\"/x\",le=\"+Inf\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("gateway_http_request_duration_seconds_count{route=\"/x\"} 3\n"),
            std::string::npos);
  EXPECT_NE(text.find("gateway_http_request_duration_seconds_sum{route=\"/x\"} 10.0023\n"),
            std::string::npos);
}

TEST(Metrics, WebSocketClosesByCode) {
  registry r("v", "b");
  r.count_ws_close(1001);
  r.count_ws_close(1001);
  r.count_ws_close(4001);
  r.count_ws_close(3333);
  auto text = r.render();
  EXPECT_NE(text.find("gateway_ws_closes_total{code=\"1001\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("gateway_ws_closes_total{code=\"4001\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("gateway_ws_closes_total{code=\"other\"} 1\n"), std::string::npos);
}

// Every thread's updates count, whether it owns a line or shares the last
// one; a gauge may go up on one thread and down on another.
TEST(Metrics, StripedCountersSumEveryThread) {
  striped<std::uint64_t> frames;
  striped<std::int64_t> queued;
  std::vector<std::thread> threads;
  for (int t = 0; t < 80; ++t)  // more threads than lines of their own
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10'000; ++i) {
        frames.fetch_add(1);
        if (t % 2 == 0)
          queued.fetch_add(3);
        else
          queued.fetch_sub(3);
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(frames.load(), 800'000u);
  EXPECT_EQ(queued.load(), 0);
  queued.fetch_sub(5);
  EXPECT_EQ(queued.load(), -5);

  registry r("test", "epoll");
  r.ws_frames_sent.fetch_add(7);
  EXPECT_NE(r.render().find("gateway_ws_frames_total{direction=\"out\"} 7\n"), std::string::npos);
}

TEST(Metrics, EveryFamilyHasHelpAndType) {
  registry r("v", "b");
  auto text = r.render();
  std::size_t pos = 0;
  int families = 0;
  while ((pos = text.find("# TYPE ", pos)) != std::string::npos) {
    auto name_end = text.find(' ', pos + 7);
    auto name = text.substr(pos + 7, name_end - pos - 7);
    EXPECT_NE(text.find("# HELP " + name + " "), std::string::npos) << name;
    ++families;
    ++pos;
  }
  EXPECT_GE(families, 12);
  EXPECT_THROW(r.set_routes({}), std::invalid_argument);
}

}  // namespace
}  // namespace gw::metrics

// Route lookup cost per request: exact paths and a parameterised path.
#include <benchmark/benchmark.h>

#include "gateway/net/router.hpp"

namespace {

using namespace gw::net;

router make_router() {
  router r;
  auto noop = [](request_context&, responder a) { a.json(http::status::ok, "{}"); };
  r.add(http::verb::get, "/healthz", noop);
  r.add(http::verb::get, "/readyz", noop);
  r.add(http::verb::get, "/metrics", noop);
  r.add(http::verb::post, "/webhooks/whatsapp/{channel}", noop);
  r.add(http::verb::post, "/webhooks/twilio/{channel}", noop);
  r.add(http::verb::post, "/webhooks/twilio/{channel}/status", noop);
  r.add_websocket("/v1/agent");
  return r;
}

void BM_RouterExact(benchmark::State& state) {
  auto r = make_router();
  request req{http::verb::get, "/metrics", 11};
  for (auto _ : state) {
    request_context ctx{req, "/metrics", {}, {}};
    benchmark::DoNotOptimize(r.find(http::verb::get, "/metrics", &ctx));
  }
}
BENCHMARK(BM_RouterExact);

void BM_RouterParam(benchmark::State& state) {
  auto r = make_router();
  request req{http::verb::post, "/webhooks/twilio/clinic-42/status", 11};
  for (auto _ : state) {
    request_context ctx{req, "/webhooks/twilio/clinic-42/status", {}, {}};
    benchmark::DoNotOptimize(r.find(http::verb::post, "/webhooks/twilio/clinic-42/status", &ctx));
  }
}
BENCHMARK(BM_RouterParam);

}  // namespace

// Cost of counting one request, single-threaded and contended, and of a scrape.
#include <benchmark/benchmark.h>

#include "gateway/obs/metrics.hpp"

namespace {

// Shared so that the two-thread run measures contention on the same counters.
gw::metrics::registry& shared_registry() {
  static gw::metrics::registry r("bench", "epoll");
  return r;
}

void BM_CountRequest(benchmark::State& state) {
  auto& r = shared_registry();
  for (auto _ : state) r.count_request(0, 200, std::chrono::microseconds(120));
}
BENCHMARK(BM_CountRequest)->Threads(1)->Threads(2);

void BM_Render(benchmark::State& state) {
  gw::metrics::registry r("bench", "epoll");
  r.set_routes({"unmatched", "/healthz", "/readyz", "/metrics", "/v1/agent"});
  for (unsigned s : {200u, 404u, 405u, 413u})
    for (std::size_t i = 0; i < 5; ++i) r.count_request(i, s, std::chrono::microseconds(100));
  for (auto _ : state) benchmark::DoNotOptimize(r.render());
}
BENCHMARK(BM_Render);

}  // namespace

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

// One hot counter updated by every thread: a plain shared atomic against the
// striped one the fan-out path uses (bytes and frames sent per frame).
void BM_SharedCounter(benchmark::State& state) {
  static std::atomic<std::uint64_t> counter{0};
  for (auto _ : state) counter.fetch_add(1, std::memory_order_relaxed);
}
BENCHMARK(BM_SharedCounter)->Threads(1)->Threads(2);

void BM_StripedCounter(benchmark::State& state) {
  static gw::metrics::striped<std::uint64_t> counter;
  for (auto _ : state) counter.fetch_add(1);
  if (state.thread_index() == 0) benchmark::DoNotOptimize(counter.load());
}
BENCHMARK(BM_StripedCounter)->Threads(1)->Threads(2);

void BM_Render(benchmark::State& state) {
  gw::metrics::registry r("bench", "epoll");
  r.set_routes({"unmatched", "/healthz", "/readyz", "/metrics", "/v1/agent"});
  for (unsigned s : {200u, 404u, 405u, 413u})
    for (std::size_t i = 0; i < 5; ++i) r.count_request(i, s, std::chrono::microseconds(100));
  for (auto _ : state) benchmark::DoNotOptimize(r.render());
}
BENCHMARK(BM_Render);

}  // namespace

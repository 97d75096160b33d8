// A tenant stream's release (event_bus::publish): each event is put in
// offset order, kept for resume (the window full, so the oldest goes), and
// handed to one subscriber. Offsets come from one counter, as the
// conversations' clock hands them out, and are published by one thread, or
// by two at once as by two shards whose events share a tenant. The events
// are made in the loop, as the conversations make them; the difference
// between builds is the stream's own.
#include <benchmark/benchmark.h>

#include <atomic>
#include <memory>

#include "gateway/domain/event_bus.hpp"

namespace {

using gw::domain::event_bus;
using gw::domain::published_event;

constexpr std::size_t window = 100'000;

struct rig {
  rig() {
    bus.start({});
    bus.subscribe("clinic-1", 0, [this](const gw::domain::event_ptr& e) {
      seen.fetch_add(e->ev.offset != 0, std::memory_order_relaxed);
      return true;
    });
    for (std::size_t i = 0; i < window; ++i) publish();  // a full window: the oldest goes
  }
  void publish() {
    published_event p;
    p.ev.offset = next.fetch_add(1, std::memory_order_relaxed) + 1;
    bus.publish("clinic-1", std::make_shared<const published_event>(std::move(p)));
  }
  event_bus bus{window};
  std::atomic<std::uint64_t> next{0};
  std::atomic<std::uint64_t> seen{0};
};

rig* shared_rig = nullptr;

void BM_BusPublish(benchmark::State& state) {
  if (state.thread_index() == 0) shared_rig = new rig;
  // Google Benchmark starts every thread's timing together, after setup.
  for (auto _ : state) shared_rig->publish();
  state.SetItemsProcessed(state.iterations());
  if (state.thread_index() == 0) {
    delete shared_rig;
    shared_rig = nullptr;
  }
}
BENCHMARK(BM_BusPublish)->Threads(1)->Threads(2)->UseRealTime();

}  // namespace

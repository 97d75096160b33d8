// Mailbox push+pop throughput (1 and 2 producers) and the cross-shard actor
// hop: the latency from tell() on one thread to the message running on
// another shard.
#include <benchmark/benchmark.h>

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "gateway/runtime/actor.hpp"
#include "gateway/runtime/mailbox.hpp"
#include "gateway/runtime/shards.hpp"

namespace {

using gw::runtime::mailbox;
using gw::runtime::mailbox_node;

// One thread pushes a node and pops it: the uncontended cost of one pass.
void BM_MailboxPushPop(benchmark::State& state) {
  mailbox box;
  std::vector<mailbox_node> nodes(1024);
  std::size_t i = 0;
  for (auto _ : state) {
    box.push(&nodes[i++ & 1023]);
    benchmark::DoNotOptimize(box.pop());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_MailboxPushPop);

// `producers` threads push as fast as they can; the consumer pops them all.
// Items are push+pop pairs per second, producers and consumer running at once.
void BM_MailboxProducers(benchmark::State& state) {
  const int producers = static_cast<int>(state.range(0));
  constexpr int per = 1 << 20;
  std::vector<std::unique_ptr<mailbox_node[]>> nodes;  // allocated once, outside the timing
  for (int p = 0; p < producers; ++p) nodes.push_back(std::make_unique<mailbox_node[]>(per));
  for (auto _ : state) {
    mailbox box;
    std::vector<std::thread> threads;
    for (int p = 0; p < producers; ++p)
      threads.emplace_back([&, p] {
        for (int i = 0; i < per; ++i) box.push(&nodes[p][i]);
      });
    long got = 0;
    while (got < static_cast<long>(producers) * per)
      if (box.pop()) ++got;
    for (auto& t : threads) t.join();
  }
  state.SetItemsProcessed(state.iterations() * producers * per);
}
BENCHMARK(BM_MailboxProducers)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

// Round trip between two actors on two shards: A tells B, B tells A. Each
// iteration is two hops; the reported time / 2 is one hop.
void BM_ActorHopRoundTrip(benchmark::State& state) {
  gw::runtime::shard_set shards(2);
  gw::runtime::actor<int> a(shards.at(0).ioc, 64), b(shards.at(1).ioc, 64);
  shards.start();
  std::atomic<long> done{0};
  for (auto _ : state) {
    long target = done.load() + 1;
    b.tell([&](int&) { a.tell([&](int&) { done.fetch_add(1, std::memory_order_release); }); });
    while (done.load(std::memory_order_acquire) < target) {
    }
  }
  shards.stop();
}
BENCHMARK(BM_ActorHopRoundTrip)->UseRealTime();

}  // namespace

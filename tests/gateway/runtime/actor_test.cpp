// The actor runtime under load: several producer threads tell actors on
// several shards. Run under the tsan preset in CI.
#include "gateway/runtime/actor.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "gateway/runtime/shards.hpp"

namespace gw::runtime {
namespace {

struct counter_state {
  std::vector<int> next;  // per producer: the next number expected
  int received = 0;
  bool in_order = true;
  std::thread::id thread;
  bool one_thread = true;
};

TEST(Actor, StressManyProducersManyShardsNoLossOrderKept) {
  constexpr unsigned shard_count = 3;
  constexpr int producers = 4, actors_n = 8, per_actor = 20'000;
  shard_set shards(shard_count);
  std::vector<std::unique_ptr<actor<counter_state>>> actors;
  for (int a = 0; a < actors_n; ++a)
    actors.push_back(std::make_unique<actor<counter_state>>(shards.at(a % shard_count).ioc, 16));
  shards.start();
  std::atomic<int> total{0};
  for (auto& a : actors)  // initialise state on the home thread
    a->tell([](counter_state& s) { s.next.assign(producers, 0); });

  std::vector<std::thread> threads;
  for (int p = 0; p < producers; ++p)
    threads.emplace_back([&, p] {
      for (int i = 0; i < per_actor; ++i)
        for (auto& a : actors)
          a->tell([p, i, &total](counter_state& s) {
            if (s.received == 0) s.thread = std::this_thread::get_id();
            if (s.thread != std::this_thread::get_id()) s.one_thread = false;
            if (s.next[p] != i) s.in_order = false;
            s.next[p] = i + 1;
            ++s.received;
            total.fetch_add(1, std::memory_order_relaxed);
          });
    });
  for (auto& t : threads) t.join();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (total.load() < producers * actors_n * per_actor &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));

  // Read the results on each home thread.
  std::atomic<int> checked{0};
  std::vector<counter_state> seen(actors_n);
  for (int a = 0; a < actors_n; ++a)
    actors[a]->tell([&, a](counter_state& s) {
      seen[a] = s;
      ++checked;
    });
  while (checked.load() < actors_n && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  shards.stop();
  ASSERT_EQ(checked.load(), actors_n);
  for (int a = 0; a < actors_n; ++a) {
    EXPECT_EQ(seen[a].received, producers * per_actor) << "actor " << a;
    EXPECT_TRUE(seen[a].in_order) << "actor " << a;
    EXPECT_TRUE(seen[a].one_thread) << "actor " << a;
  }
}

// A drain handles at most `batch` messages, then lets other work on the
// shard run: a flood to one actor does not hold back another's message.
TEST(Actor, BusyActorYieldsItsShard) {
  shard_set shards(1);
  actor<int> busy(shards.at(0).ioc, 8), other(shards.at(0).ioc, 8);
  std::atomic<int> busy_done{0};
  std::atomic<int> busy_when_other_ran{-1};
  for (int i = 0; i < 10'000; ++i) busy.tell([&](int&) { busy_done.fetch_add(1); });
  other.tell([&](int&) { busy_when_other_ran = busy_done.load(); });
  shards.start();
  while (busy_done.load() < 10'000 || busy_when_other_ran.load() < 0)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  shards.stop();
  EXPECT_LT(busy_when_other_ran.load(), 10'000);
  EXPECT_LE(busy_when_other_ran.load(), 16);  // after at most two of busy's batches
}

}  // namespace
}  // namespace gw::runtime

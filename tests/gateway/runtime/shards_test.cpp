#include "gateway/runtime/shards.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

namespace gw::runtime {
namespace {

struct fake_session : session_base {
  int shutdowns = 0;
  void shutdown() override { ++shutdowns; }
};

TEST(SessionRegistry, AddRemoveAndShutdownAll) {
  session_registry reg;
  fake_session a, b, c;
  reg.add(&a);
  reg.add(&b);
  reg.add(&c);
  EXPECT_EQ(reg.size(), 3u);
  reg.remove(&b);
  reg.remove(&b);  // twice: no effect
  EXPECT_EQ(reg.size(), 2u);
  reg.shutdown_all();
  EXPECT_TRUE(reg.stopping);
  EXPECT_EQ(a.shutdowns, 1);
  EXPECT_EQ(b.shutdowns, 0);
  EXPECT_EQ(c.shutdowns, 1);
  reg.remove(&a);
  reg.remove(&c);
  EXPECT_EQ(reg.size(), 0u);
}

TEST(ShardSet, PostAllRunsOnEveryShardThread) {
  shard_set shards(3);
  shards.start();
  std::mutex mu;
  std::set<std::thread::id> threads;
  std::set<unsigned> indexes;
  std::atomic<int> done{0};
  shards.post_all([&](shard& s) {
    std::lock_guard lock(mu);
    threads.insert(std::this_thread::get_id());
    indexes.insert(s.index);
    ++done;
  });
  while (done.load() < 3) std::this_thread::yield();
  shards.stop();
  EXPECT_EQ(threads.size(), 3u);
  EXPECT_EQ(indexes, (std::set<unsigned>{0, 1, 2}));
  EXPECT_EQ(threads.count(std::this_thread::get_id()), 0u);
}

}  // namespace
}  // namespace gw::runtime

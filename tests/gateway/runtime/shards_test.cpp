#include "gateway/runtime/shards.hpp"

#include <gtest/gtest.h>

#include "gateway/runtime/cpus.hpp"
#include "gateway/runtime/thread_name.hpp"
#include "tests/support/process.hpp"

#include <unistd.h>

#include <atomic>
#include <mutex>
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
  std::set<std::string> names;
  std::atomic<int> done{0};
  shards.post_all([&](shard& s) {
    std::lock_guard lock(mu);
    threads.insert(std::this_thread::get_id());
    indexes.insert(s.index);
    names.insert(this_thread_name());
    ++done;
  });
  while (done.load() < 3) std::this_thread::yield();
  shards.stop();
  EXPECT_EQ(threads.size(), 3u);
  EXPECT_EQ(indexes, (std::set<unsigned>{0, 1, 2}));
  // Named for top -H and perf: one name per shard, its index in it.
  EXPECT_EQ(names, (std::set<std::string>{"gw-shard-0", "gw-shard-1", "gw-shard-2"}));
  EXPECT_EQ(threads.count(std::this_thread::get_id()), 0u);
}

// Pinned, shard i runs on the i-th CPU the process may use (round robin);
// unpinned, each shard may run wherever the process may.
TEST(ShardSet, PinnedShardsRunEachOnOneCpu) {
  const auto cpus = allowed_cpus();
  ASSERT_FALSE(cpus.empty());
  for (bool pin : {true, false}) {
    shard_set shards(3);
    shards.start(pin);
    std::mutex mu;
    std::vector<std::vector<int>> seen(3);
    std::vector<std::vector<int>> helpers(3);
    std::atomic<int> done{0};
    shards.post_all([&](shard& s) {
      auto mine = allowed_cpus();
      // A helper thread the shard starts, once it unpins itself.
      std::vector<int> helper;
      std::thread([&] {
        unpin_this_thread();
        helper = allowed_cpus();
      }).join();
      std::lock_guard lock(mu);
      seen[s.index] = std::move(mine);
      helpers[s.index] = std::move(helper);
      ++done;
    });
    while (done.load() < 3) std::this_thread::yield();
    shards.stop();
    for (unsigned i = 0; i < 3; ++i) {
      if (pin)
        EXPECT_EQ(seen[i], std::vector<int>{cpus[i % cpus.size()]}) << "shard " << i;
      else
        EXPECT_EQ(seen[i], cpus) << "shard " << i;
      EXPECT_EQ(helpers[i], cpus) << "shard " << i << "'s helper";
    }
  }
  EXPECT_EQ(allowed_cpus(), cpus) << "the caller's own thread is never pinned";
}

// start() returns once every shard thread has its name and its CPU, so that
// whoever looks at the process right after it (top -H, taskset, a test
// reading /proc) sees the shards as they will run.
TEST(ShardSet, StartReturnsWithEveryShardNamedAndPlaced) {
  const auto cpus = allowed_cpus();
  ASSERT_FALSE(cpus.empty());
  for (int round = 0; round < 20; ++round) {  // a race shows in some rounds, not all
    shard_set shards(3);
    shards.start(true);
    const auto placed = gw::test::cpus_by_thread(::getpid());  // name -> its CPUs
    shards.stop();
    for (unsigned i = 0; i < 3; ++i) {
      const auto name = "gw-shard-" + std::to_string(i);
      ASSERT_TRUE(placed.count(name)) << "round " << round << ": " << name << " not named yet";
      EXPECT_EQ(placed.at(name), std::to_string(cpus[i % cpus.size()])) << name;
    }
  }
}

}  // namespace
}  // namespace gw::runtime

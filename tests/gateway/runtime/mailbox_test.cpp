#include "gateway/runtime/mailbox.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <thread>
#include <vector>

namespace gw::runtime {
namespace {

struct item : mailbox_node {
  int producer = 0;
  int n = 0;
};

TEST(Mailbox, FifoOnOneThread) {
  mailbox box;
  EXPECT_FALSE(box.maybe_nonempty());
  EXPECT_EQ(box.pop(), nullptr);
  std::vector<item> items(100);
  for (int i = 0; i < 100; ++i) {
    items[i].n = i;
    box.push(&items[i]);
  }
  EXPECT_TRUE(box.maybe_nonempty());
  for (int i = 0; i < 100; ++i) {
    auto* p = static_cast<item*>(box.pop());
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(p->n, i);
    if (i == 49) {  // interleave: push after partial drain
      EXPECT_TRUE(box.maybe_nonempty());
    }
  }
  EXPECT_EQ(box.pop(), nullptr);
  EXPECT_FALSE(box.maybe_nonempty());
  box.push(&items[0]);  // reusable after emptying (the sentinel goes around)
  EXPECT_EQ(box.pop(), &items[0]);
  EXPECT_FALSE(box.maybe_nonempty());
}

// Several producers, one consumer: nothing lost, each producer's order kept.
TEST(Mailbox, ManyProducersKeepTheirOrder) {
  constexpr int producers = 4, per = 50'000;
  mailbox box;
  std::vector<std::unique_ptr<item[]>> items;
  for (int p = 0; p < producers; ++p) items.push_back(std::make_unique<item[]>(per));
  std::vector<std::thread> threads;
  for (int p = 0; p < producers; ++p)
    threads.emplace_back([&, p] {
      for (int i = 0; i < per; ++i) {
        items[p][i].producer = p;
        items[p][i].n = i;
        box.push(&items[p][i]);
      }
    });
  std::vector<int> next(producers, 0);
  int got = 0;
  while (got < producers * per) {
    auto* n = static_cast<item*>(box.pop());
    if (!n) {
      std::this_thread::yield();
      continue;
    }
    ASSERT_EQ(n->n, next[n->producer]) << "producer " << n->producer;
    ++next[n->producer];
    ++got;
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(box.pop(), nullptr);
  EXPECT_FALSE(box.maybe_nonempty());
}

}  // namespace
}  // namespace gw::runtime

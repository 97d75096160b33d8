#include "gateway/domain/event_bus.hpp"

#include <gtest/gtest.h>

#include <numeric>
#include <thread>

namespace gw::domain {
namespace {

event_ptr at(std::uint64_t offset) {
  published_event p;
  p.ev.offset = offset;
  p.ev.conv = {"t", "wa", "+1"};
  return std::make_shared<const published_event>(std::move(p));
}

std::vector<std::uint64_t> offsets(const std::vector<event_ptr>& v) {
  std::vector<std::uint64_t> out;
  for (const auto& e : v) out.push_back(e->ev.offset);
  return out;
}

TEST(EventBus, ReleasesInOffsetOrderAcrossGapsAndSkips) {
  event_bus bus;
  bus.start({});
  std::vector<std::uint64_t> seen;
  auto sub = bus.subscribe("t", 0, [&](const event_ptr& e) {
    seen.push_back(e->ev.offset);
    return true;
  });
  ASSERT_TRUE(sub);
  bus.publish("t", at(2));  // 1 is still being written on another shard
  bus.publish("t", at(4));
  EXPECT_TRUE(seen.empty());
  EXPECT_EQ(bus.head("t"), 0u);
  bus.publish("t", at(1));
  EXPECT_EQ(seen, (std::vector<std::uint64_t>{1, 2}));
  bus.skip("t", 3);  // its append failed: nothing to deliver, but no longer a gap
  EXPECT_EQ(seen, (std::vector<std::uint64_t>{1, 2, 4}));
  EXPECT_EQ(bus.head("t"), 4u);
  EXPECT_EQ(bus.head("other"), 0u);  // tenants are separate streams
}

TEST(EventBus, ALongRunReleasedAtOnceKeepsOnlyTheWindow) {
  event_bus bus(3);
  bus.start({});
  std::vector<std::uint64_t> seen;
  ASSERT_TRUE(bus.subscribe("t", 0, [&](const event_ptr& e) {
    seen.push_back(e->ev.offset);
    return true;
  }));
  for (std::uint64_t o = 20; o >= 2; --o) bus.publish("t", at(o));  // the newest first
  EXPECT_TRUE(seen.empty());
  bus.publish("t", at(1));  // releases all twenty; seventeen leave the window at once
  std::vector<std::uint64_t> all(20);
  std::iota(all.begin(), all.end(), 1);
  EXPECT_EQ(seen, all);
  auto kept = bus.since("t", 17);
  ASSERT_TRUE(kept);
  EXPECT_EQ(offsets(kept->events), (std::vector<std::uint64_t>{18, 19, 20}));
  EXPECT_FALSE(bus.since("t", 16));  // no longer kept: resync
  bus.publish("t", at(21));
  EXPECT_EQ(seen.back(), 21u);
}

TEST(EventBus, SubscribeReplaysWhatWasMissedThenGoesLive) {
  event_bus bus(3);  // keeps the last 3
  bus.start({});
  for (std::uint64_t o = 1; o <= 5; ++o) bus.publish("t", at(o));
  // 3, 4, 5 are kept; after 2 everything is there, after 1 it is not.
  auto from2 = bus.subscribe("t", 2, [](const event_ptr&) { return true; });
  ASSERT_TRUE(from2);
  EXPECT_EQ(offsets(from2->replay), (std::vector<std::uint64_t>{3, 4, 5}));
  EXPECT_EQ(from2->head, 5u);
  EXPECT_FALSE(bus.subscribe("t", 1, [](const event_ptr&) { return true; }));
  EXPECT_FALSE(bus.subscribe("t", 6, [](const event_ptr&) { return true; }));  // the future
  auto caught_up = bus.subscribe("t", 5, [](const event_ptr&) { return true; });
  ASSERT_TRUE(caught_up);
  EXPECT_TRUE(caught_up->replay.empty());
}

TEST(EventBus, AfterARestartOnlyNewEventsAreKept) {
  event_bus bus;
  bus.start({{"t", 100}});  // recovered up to 100
  EXPECT_EQ(bus.head("t"), 100u);
  EXPECT_FALSE(bus.subscribe("t", 90, [](const event_ptr&) { return true; }));  // gone
  bus.publish("t", at(101));
  auto s = bus.subscribe("t", 100, [](const event_ptr&) { return true; });
  ASSERT_TRUE(s);
  EXPECT_EQ(offsets(s->replay), std::vector<std::uint64_t>{101});
}

TEST(EventBus, DroppedAndUnsubscribedSubscribersStopReceiving) {
  event_bus bus;
  bus.start({});
  int a = 0, b = 0;
  auto sa = bus.subscribe("t", 0, [&](const event_ptr&) { return ++a < 2; });  // gone after 2
  auto sb = bus.subscribe("t", 0, [&](const event_ptr&) {
    ++b;
    return true;
  });
  for (std::uint64_t o = 1; o <= 4; ++o) bus.publish("t", at(o));
  EXPECT_EQ(a, 2);
  EXPECT_EQ(b, 4);
  bus.unsubscribe("t", sb->id);
  bus.publish("t", at(5));
  EXPECT_EQ(b, 4);
}

// Offsets published from several threads in any order come out once each,
// in order, and a subscriber joining midway sees replay + live without a
// gap or a repeat.
TEST(EventBus, ConcurrentPublishersAndALateSubscriberSeeEveryOffsetOnceInOrder) {
  event_bus bus(1'000'000);
  bus.start({});
  constexpr std::uint64_t n = 20'000;
  std::vector<std::uint64_t> early;
  bus.subscribe("t", 0, [&](const event_ptr& e) {
    early.push_back(e->ev.offset);
    return true;
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (std::uint64_t o = n - static_cast<std::uint64_t>(t); o >= 1 && o <= n; o -= 4) {
        if (o % 97 == 0)
          bus.skip("t", o);
        else
          bus.publish("t", at(o));
      }
    });
  std::vector<std::uint64_t> late;
  std::mutex late_mu;
  std::this_thread::yield();
  auto joined = bus.subscribe("t", 0, [&](const event_ptr& e) {
    std::lock_guard lock(late_mu);
    late.push_back(e->ev.offset);
    return true;
  });
  for (auto& t : threads) t.join();
  ASSERT_TRUE(joined);
  std::vector<std::uint64_t> all = offsets(joined->replay);
  all.insert(all.end(), late.begin(), late.end());
  std::vector<std::uint64_t> expected;
  for (std::uint64_t o = 1; o <= n; ++o)
    if (o % 97 != 0) expected.push_back(o);
  EXPECT_EQ(early, expected);
  EXPECT_EQ(all, expected);
}

}  // namespace
}  // namespace gw::domain

#include "protocol/pacing.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

namespace gw::protocol {
namespace {

constexpr nanos ms = 1'000'000;
constexpr nanos s = ns_per_second;

TEST(WindowLimiter, BurstsToTheLimitThenWaitsForTheOldest) {
  window_limiter w(3, s);
  EXPECT_EQ(w.try_take(0), 0);
  EXPECT_EQ(w.try_take(100 * ms), 0);
  EXPECT_EQ(w.try_take(200 * ms), 0);
  EXPECT_EQ(w.try_take(300 * ms), 700 * ms);  // the send at 0 leaves the window at 1 s
  EXPECT_EQ(w.wait(999 * ms), 1 * ms);
  EXPECT_EQ(w.try_take(1 * s), 0);
  EXPECT_EQ(w.wait(1 * s), 100 * ms);
}

TEST(WindowLimiter, PauseHoldsEverySend) {
  window_limiter w(80, s);
  w.pause_until(5 * s);
  EXPECT_EQ(w.wait(2 * s), 3 * s);
  w.pause_until(4 * s);  // an earlier pause does not shorten it
  EXPECT_EQ(w.try_take(5 * s), 0);
}

// Greedy senders at random times never put more than `limit` sends in any
// window, and are never held back when the window has room.
TEST(WindowLimiter, NoWindowEverHoldsMoreThanTheLimit) {
  std::mt19937_64 rng(42);
  for (std::uint32_t limit : {1u, 5u, 80u}) {
    window_limiter w(limit, s);
    std::vector<nanos> sent;
    nanos now = 0;
    for (int i = 0; i < 20'000; ++i) {
      now += static_cast<nanos>(rng() % (3 * s / limit));
      auto wait = w.try_take(now);
      if (wait == 0) {
        sent.push_back(now);
      } else {
        auto in_window = std::count_if(sent.begin(), sent.end(),
                                       [&](nanos t) { return t > now - s && t <= now; });
        EXPECT_EQ(static_cast<std::uint32_t>(in_window), limit) << "refused with room at " << now;
        ASSERT_EQ(w.try_take(now + wait), 0);
        sent.push_back(now += wait);
      }
    }
    for (std::size_t i = 0; i + limit < sent.size(); ++i)
      ASSERT_GE(sent[i + limit] - sent[i], s) << "limit " << limit << " at send " << i;
  }
}

TEST(PairPacer, BurstThenOneEveryInterval) {
  pair_pacer p(6 * s, 3);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(p.try_take("+34600000001", 0), 0);
  EXPECT_EQ(p.try_take("+34600000001", 1 * s), 5 * s);
  EXPECT_EQ(p.try_take("+34600000002", 1 * s), 0);  // another recipient is not held
  EXPECT_EQ(p.try_take("+34600000001", 6 * s), 0);
  EXPECT_EQ(p.wait("+34600000001", 6 * s), 6 * s);
  // A quiet spell of burst x interval refills the burst.
  for (int i = 0; i < 3; ++i) EXPECT_EQ(p.try_take("+34600000001", 30 * s), 0) << i;
  EXPECT_GT(p.wait("+34600000001", 30 * s), 0);
}

TEST(PairPacer, HoldAndPrune) {
  pair_pacer p(6 * s, 1);
  p.hold("+1", 10 * s);
  EXPECT_EQ(p.wait("+1", 4 * s), 6 * s);
  EXPECT_EQ(p.try_take("+1", 10 * s), 0);
  EXPECT_EQ(p.wait("+1", 10 * s), 6 * s);
  p.take("+2", 0);
  EXPECT_EQ(p.tracked(), 2u);
  p.prune(6 * s);  // +2 is back to a full burst, +1 is not
  EXPECT_EQ(p.tracked(), 1u);
  EXPECT_EQ(p.wait("+2", 6 * s), 0);
  p.prune(16 * s);
  EXPECT_EQ(p.tracked(), 0u);
}

}  // namespace
}  // namespace gw::protocol

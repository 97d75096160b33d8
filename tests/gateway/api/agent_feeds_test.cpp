// The fan-out's wait between drains: the whole interval for a large hub,
// proportionally less for a small one, never more than configured.
#include <gtest/gtest.h>

#include "gateway/api/agent_feeds.hpp"

namespace gw::api {
namespace {

using std::chrono::microseconds;

TEST(DrainInterval, AHubOfFullSizeOrMoreWaitsTheWholeInterval) {
  EXPECT_EQ(drain_interval(microseconds(1000), full_hub_sessions), microseconds(1000));
  EXPECT_EQ(drain_interval(microseconds(1000), 500), microseconds(1000));
  EXPECT_EQ(drain_interval(microseconds(1000), 100'000), microseconds(1000));
}

TEST(DrainInterval, ASmallHubWaitsInProportionToItsSessions) {
  // A clinic's five receptionists on a shard: 5/64 of a millisecond.
  EXPECT_EQ(drain_interval(microseconds(1000), 5), microseconds(78));
  EXPECT_EQ(drain_interval(microseconds(1000), full_hub_sessions / 2), microseconds(500));
  EXPECT_EQ(drain_interval(microseconds(6400), 1), microseconds(100));
  EXPECT_EQ(drain_interval(microseconds(1000), 0), microseconds(0));
}

TEST(DrainInterval, ZeroStaysZero) {
  // ws.fanout_interval_us = 0: every hub drains at once.
  for (std::size_t n : {std::size_t{0}, std::size_t{1}, full_hub_sessions, std::size_t{1000}})
    EXPECT_EQ(drain_interval(microseconds(0), n), microseconds(0));
}

TEST(DrainInterval, GrowsWithTheHub) {
  auto last = microseconds(0);
  for (std::size_t n = 0; n <= 2 * full_hub_sessions; ++n) {
    auto d = drain_interval(microseconds(100'000), n);  // the setting's maximum
    EXPECT_GE(d, last) << n;
    EXPECT_LE(d, microseconds(100'000)) << n;
    last = d;
  }
}

}  // namespace
}  // namespace gw::api

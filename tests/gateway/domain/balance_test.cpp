#include "gateway/domain/balance.hpp"

#include <gtest/gtest.h>

#include <random>

namespace gw::domain {
namespace {

// Decide and apply in one step, as the owning shard does.
template <class Decision>
std::optional<movement> run(balance_ledger& l, Decision d) {
  if (!d) return std::nullopt;
  l.apply(*d);
  return d;
}

std::optional<movement> reserve(balance_ledger& l, std::string id, std::int64_t amount) {
  auto d = l.reserve(id, amount, 1);
  if (std::holds_alternative<insufficient_balance>(d)) return std::nullopt;
  return run(l, std::get<std::optional<movement>>(d));
}

TEST(Balance, ReserveCommitRefundTopUp) {
  balance_ledger l;
  ASSERT_TRUE(run(l, l.top_up(1000, "topup-1", 1)));
  EXPECT_EQ(l.balance(), 1000);
  ASSERT_TRUE(reserve(l, "m1", 8));
  ASSERT_TRUE(reserve(l, "m2", 16));
  EXPECT_EQ(l.reserved(), 24);
  EXPECT_EQ(l.available(), 976);
  EXPECT_EQ(l.held("m2"), 16);
  ASSERT_TRUE(run(l, l.commit("m1", 2)));
  EXPECT_EQ(l.balance(), 992);
  ASSERT_TRUE(run(l, l.refund("m2", 3)));
  EXPECT_EQ(l.balance(), 992);
  EXPECT_EQ(l.reserved(), 0);
  EXPECT_EQ(l.available(), 992);
  ASSERT_EQ(l.statement().size(), 5u);
  EXPECT_EQ(l.statement()[2].type, movement::kind::reserve);
  EXPECT_EQ(l.statement()[3].type, movement::kind::commit);
  EXPECT_EQ(l.statement()[3].balance_after, 992);
  EXPECT_EQ(l.statement()[4].ref, "m2");
  EXPECT_EQ(l.statement()[4].available_after, 992);
}

TEST(Balance, RepeatsChangeNothing) {
  balance_ledger l;
  run(l, l.top_up(100, "k", 1));
  EXPECT_FALSE(l.top_up(100, "k", 2));  // a retried top-up request
  reserve(l, "m1", 10);
  EXPECT_FALSE(std::get<std::optional<movement>>(l.reserve("m1", 10, 2)));
  run(l, l.commit("m1", 3));
  EXPECT_FALSE(l.commit("m1", 4));
  EXPECT_FALSE(l.refund("m1", 4));  // a late failure after the commit refunds nothing
  EXPECT_FALSE(std::get<std::optional<movement>>(l.reserve("m1", 10, 5)));  // paid once
  EXPECT_EQ(l.balance(), 90);
  EXPECT_FALSE(l.top_up(0, "zero", 1));
  EXPECT_FALSE(l.top_up(-5, "negative", 1));
}

TEST(Balance, NeverOverdrawnAndSaysWhatIsAvailable) {
  balance_ledger l;
  run(l, l.top_up(20, "k", 1));
  reserve(l, "m1", 16);
  auto d = l.reserve("m2", 8, 2);
  ASSERT_TRUE(std::holds_alternative<insufficient_balance>(d));
  EXPECT_EQ(std::get<insufficient_balance>(d).available, 4);
  EXPECT_EQ(std::get<insufficient_balance>(d).needed, 8);
  // A replayed reserve that would overdraw is refused by apply() as well.
  movement forged{movement::kind::reserve, 8, "m2", "", 3};
  EXPECT_FALSE(l.apply(forged));
  EXPECT_EQ(l.reserved(), 16);
  movement wrong_amount{movement::kind::commit, 3, "m1", "", 3};
  EXPECT_FALSE(l.apply(wrong_amount));
  EXPECT_EQ(l.balance(), 20);
}

TEST(Balance, ReportsCrossingTheLowThresholdOnce) {
  balance_ledger l(100, 50);
  auto t = l.top_up(100, "k", 1);
  EXPECT_FALSE(l.apply(*t));
  auto r = std::get<std::optional<movement>>(l.reserve("m1", 40, 1));
  EXPECT_FALSE(l.apply(*r));  // 60 left
  r = std::get<std::optional<movement>>(l.reserve("m2", 20, 1));
  EXPECT_TRUE(l.apply(*r));  // 40 < 50: crossed
  r = std::get<std::optional<movement>>(l.reserve("m3", 20, 1));
  EXPECT_FALSE(l.apply(*r));  // already below
  auto f = l.refund("m3", 2);
  EXPECT_FALSE(l.apply(*f));
  t = l.top_up(100, "k2", 3);
  EXPECT_FALSE(l.apply(*t));  // back above
  r = std::get<std::optional<movement>>(l.reserve("m4", 100, 1));
  EXPECT_TRUE(l.apply(*r));  // and below again
}

// Many senders racing for a small balance, then every message settling:
// never overdrawn, and the statement adds up to the balance exactly; a
// replay of the statement into a fresh ledger rebuilds the same state.
TEST(Balance, StatementSumsToTheBalanceAfterARandomRun) {
  std::mt19937 rng(7);
  balance_ledger l(1'000'000);
  std::vector<std::string> open;
  std::int64_t refused = 0;
  for (int i = 0; i < 20'000; ++i) {
    switch (rng() % 8) {
      case 0:
        run(l, l.top_up(1 + rng() % 50, "t" + std::to_string(i), i));
        break;
      case 1:
      case 2:
        if (!open.empty()) {
          auto k = rng() % open.size();
          run(l, rng() % 3 ? l.commit(open[k], i) : l.refund(open[k], i));
          open.erase(open.begin() + k);
        }
        break;
      default:
        if (reserve(l, "m" + std::to_string(i), 1 + rng() % 12))
          open.push_back("m" + std::to_string(i));
        else
          ++refused;
    }
    ASSERT_GE(l.available(), 0);
  }
  EXPECT_GT(refused, 0);  // the balance did run short
  std::int64_t sum = 0, held = 0;
  balance_ledger replayed(1'000'000);
  for (auto m : l.statement()) {
    if (m.type == movement::kind::top_up) sum += m.amount;
    if (m.type == movement::kind::commit) sum -= m.amount;
    if (m.type == movement::kind::reserve) held += m.amount;
    if (m.type == movement::kind::commit || m.type == movement::kind::refund) held -= m.amount;
    auto copy = m;
    replayed.apply(copy);
    ASSERT_EQ(copy.balance_after, m.balance_after);
  }
  EXPECT_EQ(sum, l.balance());
  EXPECT_EQ(held, l.reserved());
  EXPECT_EQ(replayed.balance(), l.balance());
  EXPECT_EQ(replayed.reserved(), l.reserved());
}

}  // namespace
}  // namespace gw::domain

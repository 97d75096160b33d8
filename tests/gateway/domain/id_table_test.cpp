// id_table: a conversation's dedupe table of provider message ids, and a
// shard's table of conversations by key.
#include "gateway/domain/id_table.hpp"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace gw::domain {
namespace {

std::string wamid(long n) {
  return "wamid.HBgLMzQ2MDAxMTEyMjIVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA" + std::to_string(n);
}

TEST(IdTable, FindsWhatWasInsertedAndNothingElse) {
  id_table<std::int64_t> t;
  EXPECT_FALSE(t.contains("x"));
  EXPECT_EQ(t.slot_count(), 0u);  // an empty table owns no slots
  for (long i = 0; i < 5000; ++i) EXPECT_TRUE(t.insert_or_assign(wamid(i), i));
  EXPECT_EQ(t.size(), 5000u);
  for (long i = 0; i < 5000; ++i) {
    ASSERT_TRUE(t.contains(wamid(i))) << i;
    EXPECT_EQ(t.at(wamid(i)), i);
  }
  for (long i = 5000; i < 10000; ++i) EXPECT_FALSE(t.contains(wamid(i))) << i;
  EXPECT_FALSE(t.contains(""));
  EXPECT_FALSE(t.contains("wamid."));
  EXPECT_THROW(t.at("absent"), std::out_of_range);
  // At most 3/4 full, and no larger than twice that.
  EXPECT_GE(t.slot_count() * 3, t.size() * 4);
  EXPECT_LE(t.slot_count() * 3, t.size() * 8);
}

TEST(IdTable, AssigningAnExistingIdChangesItsValueOnly) {
  id_table<std::int64_t> t;
  EXPECT_TRUE(t.insert_or_assign("a", 1));
  EXPECT_TRUE(t.insert_or_assign("b", 2));
  EXPECT_FALSE(t.insert_or_assign("a", 7));
  EXPECT_EQ(t.size(), 2u);
  EXPECT_EQ(t.at("a"), 7);
  EXPECT_EQ(t.at("b"), 2);
  *t.find("b") = 9;
  EXPECT_EQ(t.at("b"), 9);
}

// Many ids, inserted and assigned again in random order, against a
// std::map: every one found with its last value, none that was not added.
TEST(IdTable, ManyIdsStayExact) {
  id_table<std::int64_t> t;
  std::map<std::string, std::int64_t> model;
  std::mt19937_64 rng(7);
  for (int i = 0; i < 200'000; ++i) {
    auto k = wamid(static_cast<long>(rng() % 300'000));
    t.insert_or_assign(k, i);
    model[k] = i;
  }
  ASSERT_EQ(t.size(), model.size());
  for (const auto& [k, v] : model) ASSERT_EQ(t.at(k), v) << k;
  for (long i = 300'000; i < 310'000; ++i) ASSERT_FALSE(t.contains(wamid(i)));
}

// Keys that share the 32 hash bits a slot keeps are told apart by their
// bytes: one is not found for the other, and each keeps its own value. The
// pairs are searched for (the birthday bound for 32 bits is ~77,000 keys).
TEST(IdTable, CollidingHashBitsAreToldApartByTheKey) {
  using table = id_table<std::int64_t>;
  std::unordered_map<std::uint32_t, long> first_with;
  std::vector<std::pair<long, long>> pairs;
  for (long i = 0; pairs.size() < 3 && i < 2'000'000; ++i) {
    auto [it, fresh] = first_with.try_emplace(table::hash32(wamid(i)), i);
    if (!fresh) pairs.emplace_back(it->second, i);
  }
  ASSERT_EQ(pairs.size(), 3u) << "no keys sharing their 32 hash bits";
  table t;
  for (auto [a, b] : pairs) {
    ASSERT_EQ(table::hash32(wamid(a)), table::hash32(wamid(b)));
    t.insert_or_assign(wamid(a), a);
    EXPECT_FALSE(t.contains(wamid(b))) << "found " << b << " for " << a;
  }
  for (auto [a, b] : pairs) EXPECT_TRUE(t.insert_or_assign(wamid(b), b)) << b;
  for (auto [a, b] : pairs) {
    EXPECT_EQ(t.at(wamid(a)), a);
    EXPECT_EQ(t.at(wamid(b)), b);
  }
  EXPECT_EQ(t.size(), 6u);
}

TEST(IdTable, IteratesInInsertionOrder) {
  id_table<int> t;
  for (int i = 0; i < 10; ++i) t.insert_or_assign(std::to_string(i), i);
  int expect = 0;
  for (const auto& [k, v] : t) {
    EXPECT_EQ(k, std::to_string(expect));
    EXPECT_EQ(v, expect++);
  }
  EXPECT_EQ(expect, 10);
}

TEST(IdTable, EraseIfKeepsTheRestFindable) {
  id_table<std::int64_t> t;
  for (long i = 0; i < 1000; ++i) t.insert_or_assign(wamid(i), i);
  const auto slots = t.slot_count();
  EXPECT_EQ(t.erase_if([](const auto& e) { return e.second % 3 != 0; }), 666u);
  EXPECT_EQ(t.size(), 334u);
  for (long i = 0; i < 1000; ++i) EXPECT_EQ(t.contains(wamid(i)), i % 3 == 0) << i;
  EXPECT_LT(t.slot_count(), slots);  // the slots shrink with the table
  long last = -1;
  for (const auto& [k, v] : t) {  // the survivors keep their order
    EXPECT_GT(v, last);
    last = v;
  }
  // New ids go in after a removal, old ones come back.
  EXPECT_TRUE(t.insert_or_assign(wamid(1), 1));
  EXPECT_TRUE(t.insert_or_assign(wamid(5000), 5000));
  EXPECT_EQ(t.at(wamid(1)), 1);
  EXPECT_EQ(t.at(wamid(5000)), 5000);
  EXPECT_EQ(t.erase_if([](const auto&) { return false; }), 0u);
  EXPECT_EQ(t.erase_if([](const auto&) { return true; }), 336u);
  EXPECT_TRUE(t.empty());
  EXPECT_EQ(t.slot_count(), 0u);
  EXPECT_FALSE(t.contains(wamid(1)));
  EXPECT_TRUE(t.insert_or_assign(wamid(1), 1));
  EXPECT_TRUE(t.contains(wamid(1)));
}

TEST(IdTable, CopiesAreIndependentAndCompareByContent) {
  id_table<std::int64_t> a;
  for (long i = 0; i < 100; ++i) a.insert_or_assign(wamid(i), i);
  auto b = a;
  EXPECT_EQ(a, b);
  b.insert_or_assign(wamid(100), 100);
  EXPECT_FALSE(a.contains(wamid(100)));
  EXPECT_NE(a, b);
  // The same ids inserted in another order are equal; another value is not.
  id_table<std::int64_t> c;
  for (long i = 99; i >= 0; --i) c.insert_or_assign(wamid(i), i);
  EXPECT_EQ(a, c);
  c.insert_or_assign(wamid(0), 42);
  EXPECT_NE(a, c);
  auto moved = std::move(b);
  EXPECT_EQ(moved.size(), 101u);
  EXPECT_TRUE(moved.contains(wamid(100)));
}

TEST(IdTable, ReserveMakesRoomWithoutLosingIds) {
  id_table<std::int64_t> t;
  t.insert_or_assign("a", 1);
  t.reserve(1000);
  EXPECT_GE(t.slot_count() * 3, 1000u * 4);
  EXPECT_EQ(t.at("a"), 1);
  const auto slots = t.slot_count();
  for (long i = 0; i < 999; ++i) t.insert_or_assign(wamid(i), i);
  EXPECT_EQ(t.slot_count(), slots);  // no growth within the reservation
  EXPECT_EQ(t.size(), 1000u);
}

}  // namespace
}  // namespace gw::domain

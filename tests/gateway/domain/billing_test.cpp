#include "gateway/domain/billing.hpp"

#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <thread>

#include "tests/support/process.hpp"

namespace gw::domain {
namespace {

TEST(BillingCodec, RoundTripsAndRefusesDamage) {
  movement m;
  m.type = movement::kind::reserve;
  m.amount = 1234;
  m.ref = "m-0123456789abcdef";
  m.to = "+34600111222";
  m.at_ms = 1'790'000'000'000;
  auto bytes = encode_movement({"clinic-1", "sms-main"}, m);
  auto back = decode_movement(bytes);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->first.tenant, "clinic-1");
  EXPECT_EQ(back->first.channel, "sms-main");
  EXPECT_EQ(back->second, m);
  for (std::size_t n = 0; n < bytes.size(); ++n)  // every truncation
    EXPECT_FALSE(decode_movement(bytes.substr(0, n))) << n;
  EXPECT_FALSE(decode_movement(bytes + "x"));  // trailing bytes
  auto bad_kind = bytes;
  bad_kind[1 + 1 + 8 + 1 + 8] = 9;  // format, "clinic-1", "sms-main", then the kind byte
  EXPECT_FALSE(decode_movement(bad_kind));
  auto bad_format = bytes;
  bad_format[0] = 2;
  EXPECT_FALSE(decode_movement(bad_format));
}

// Runs `fn(done)` on the writer and waits for `done` to be called.
template <class Fn>
void run(boost::asio::io_context& ioc, Fn fn) {
  bool finished = false;
  fn([&] { finished = true; });
  while (!finished) ioc.run_one();
}

TEST(BillingService, DecidesInOrderAndReplaysTheSameLedger) {
  test::temp_dir dir;
  billing_account a{"clinic-1", "wa-main"};
  std::vector<low_balance_notice> notices;
  {
    boost::asio::io_context ioc;
    auto work = boost::asio::make_work_guard(ioc);  // run_one() waits for the journal's syncer
    billing_service b(dir.path(), ioc, {});
    b.set_threshold([](const billing_account&) { return std::int64_t{30}; });
    b.on_low([&](const low_balance_notice& n) { notices.push_back(n); });
    // Not recovered yet: refused, nothing changes.
    run(ioc, [&](auto done) {
      b.reserve(a, "m0", "+1", 5, [&, done](std::error_code ec, auto) {
        EXPECT_EQ(ec, std::errc::resource_unavailable_try_again);
        done();
      });
    });
    EXPECT_EQ(b.recover(), 0u);
    run(ioc, [&](auto done) {
      b.top_up(a, 50, "k1", [done](std::error_code ec, std::optional<movement> m, bool repeat) {
        EXPECT_FALSE(ec);
        EXPECT_TRUE(m);
        EXPECT_FALSE(repeat);
        done();
      });
    });
    // Ten reservations of 10 queued at once: the first five fit, the rest
    // are refused with what is left.
    int ok = 0, refused = 0, answered = 0;
    for (int i = 1; i <= 10; ++i)
      b.reserve(a, "m" + std::to_string(i), "+1", 10,
                [&](std::error_code ec, std::optional<insufficient_balance> no) {
                  EXPECT_FALSE(ec);
                  ++answered;
                  if (no) {
                    ++refused;
                    EXPECT_EQ(no->available, 0);
                  } else {
                    ++ok;
                  }
                });
    while (answered < 10) ioc.run_one();
    EXPECT_EQ(ok, 5);
    EXPECT_EQ(refused, 5);
    ASSERT_EQ(notices.size(), 1u);  // crossed below 30 once
    EXPECT_EQ(notices[0].threshold, 30);
    EXPECT_LT(notices[0].available, 30);
    run(ioc, [&](auto done) { b.settle(a, "m1", true, [done](std::error_code) { done(); }); });
    run(ioc, [&](auto done) { b.settle(a, "m2", false, [done](std::error_code) { done(); }); });
    // Settling again, or settling an unknown message, changes nothing.
    run(ioc, [&](auto done) { b.settle(a, "m1", false, [done](std::error_code) { done(); }); });
    run(ioc, [&](auto done) { b.settle(a, "zz", true, [done](std::error_code) { done(); }); });
    b.read(a, [](const balance_ledger* l) {
      ASSERT_TRUE(l);
      EXPECT_EQ(l->balance(), 40);
      EXPECT_EQ(l->reserved(), 30);
      EXPECT_EQ(l->movements(), 8u);  // top-up, 5 reserves, a commit, a refund
    });
    auto holds = b.open_holds();
    EXPECT_EQ(holds.size(), 3u);
  }
  // A new service on the same directory rebuilds the same ledger.
  boost::asio::io_context ioc;
  billing_service again(dir.path(), ioc, {});
  EXPECT_EQ(again.recover(), 8u);
  again.read(a, [](const balance_ledger* l) {
    ASSERT_TRUE(l);
    EXPECT_EQ(l->balance(), 40);
    EXPECT_EQ(l->reserved(), 30);
    EXPECT_EQ(l->statement().back().seq, 8u);
  });
  EXPECT_EQ(again.open_holds().size(), 3u);
}

}  // namespace
}  // namespace gw::domain

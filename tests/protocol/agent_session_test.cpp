#include "protocol/agent_session.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

namespace gw::protocol {
namespace {

command cmd(command_kind k, std::string id = "x") {
  command c;
  c.kind = k;
  c.id = std::move(id);
  return c;
}

TEST(SessionGate, OnlyAuthAndPingBeforeAuthentication) {
  session_gate g;
  EXPECT_FALSE(g.admit(cmd(command_kind::ping)));
  EXPECT_FALSE(g.admit(cmd(command_kind::auth)));
  auto refused = g.admit(cmd(command_kind::send, "k1"));
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->error, agent_error::unauthenticated);
  EXPECT_EQ(refused->id, "k1");
  EXPECT_NE(refused->message.find("auth"), std::string::npos);

  g.authenticated();
  EXPECT_FALSE(g.admit(cmd(command_kind::send)));
  EXPECT_FALSE(g.admit(cmd(command_kind::sub)));
  auto again = g.admit(cmd(command_kind::auth));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->error, agent_error::bad_args);
}

TEST(RateLimiter, BurstThenRate) {
  rate_limiter r(20, 40);  // 20/s, burst 40
  for (int i = 0; i < 40; ++i) EXPECT_FALSE(r.take(1000)) << i;
  auto wait = r.take(1000);
  ASSERT_TRUE(wait);
  EXPECT_EQ(*wait, 50u);  // one token every 50 ms
  EXPECT_TRUE(r.take(1049));
  EXPECT_FALSE(r.take(1050));
  EXPECT_TRUE(r.take(1050));
  // A long pause refills to the burst, not beyond it.
  for (int i = 0; i < 40; ++i) EXPECT_FALSE(r.take(100000)) << i;
  EXPECT_TRUE(r.take(100000));
}

TEST(RateLimiter, ClockGoingBackwardsGrantsNothing) {
  rate_limiter r(10, 1);
  EXPECT_FALSE(r.take(5000));
  EXPECT_TRUE(r.take(4000));
  EXPECT_TRUE(r.take(5050));
  EXPECT_FALSE(r.take(5100));
}

TEST(CommandMemory, RepeatsTheFirstAnswerMarkedAsDuplicate) {
  command_memory m(2, 1000);
  EXPECT_FALSE(m.find("a"));
  m.remember("a", encode_ok("a", {{"o", 1}}), 0);
  m.remember("a", encode_ok("a", {{"o", 2}}), 1);  // the first answer stays
  ASSERT_TRUE(m.find("a"));
  auto again = boost::json::parse(*m.find("a")).as_object();
  EXPECT_EQ(again.at("o").as_int64(), 1);
  EXPECT_TRUE(again.at("dup").as_bool());
}

TEST(CommandMemory, ForgetsOnlyWhatIsBothOldAndBeyondTheCount) {
  command_memory m(2, 1000);
  m.remember("a", encode_ok("a"), 0);
  m.remember("b", encode_ok("b"), 10);
  m.remember("c", encode_ok("c"), 20);  // 3 ids, all young: all kept
  EXPECT_EQ(m.size(), 3u);
  m.remember("d", encode_ok("d"), 1015);  // a and b are old and beyond the last 2
  EXPECT_FALSE(m.find("a"));
  EXPECT_FALSE(m.find("b"));
  EXPECT_TRUE(m.find("c"));
  EXPECT_TRUE(m.find("d"));
  m.remember("e", encode_ok("e"), 5000);  // c is old, but d and e are the last 2
  EXPECT_FALSE(m.find("c"));
  EXPECT_TRUE(m.find("d"));
  EXPECT_EQ(m.size(), 2u);
}

TEST(PlanResume, ReplaysWhatIsKeptAndResyncsOtherwise) {
  position head{7, 100};
  auto replay = [](auto v) { return std::get<replay_after>(v).offset; };
  auto why = [](auto v) { return std::get<must_resync>(v).why; };
  EXPECT_EQ(replay(plan_resume({7, 90}, head, 50)), 90u);
  EXPECT_EQ(replay(plan_resume({7, 49}, head, 50)), 49u);               // 50.. is all there
  EXPECT_EQ(why(plan_resume({7, 48}, head, 50)), resync_reason::gone);  // 49 is gone
  EXPECT_EQ(replay(plan_resume({7, 100}, head, 101)), 100u);            // nothing missed
  EXPECT_EQ(replay(plan_resume({7, 0}, head, 1)), 0u);                  // from the very start
  EXPECT_EQ(why(plan_resume({8, 90}, head, 50)), resync_reason::epoch);
  EXPECT_EQ(why(plan_resume({7, 101}, head, 50)), resync_reason::epoch);  // not this history
}

}  // namespace
}  // namespace gw::protocol

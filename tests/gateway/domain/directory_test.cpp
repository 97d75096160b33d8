#include "gateway/domain/directory.hpp"

#include <gtest/gtest.h>

namespace gw::domain {
namespace {

directory_change tenant(std::string id, bool segmented = false) {
  directory_change c;
  c.tenant = {std::move(id), "Clinic", segmented, 0};
  return c;
}
directory_change agent(std::string t, std::string id, agent_role r = agent_role::agent,
                       std::vector<std::string> channels = {}) {
  directory_change c;
  c.what = directory_change::kind::put_agent;
  c.agent = {std::move(t), std::move(id), "Name", r, std::move(channels)};
  return c;
}
directory_change token(std::string id, std::string t, std::string a, std::string hash) {
  directory_change c;
  c.what = directory_change::kind::issue_token;
  c.token = {std::move(id), std::move(t), std::move(a), std::move(hash), 1763800000000, false};
  return c;
}

// What replay does: encode, decode, apply.
void replay(directory_state& s, const directory_change& c) {
  auto decoded = decode_directory_change(encode(c));
  ASSERT_TRUE(decoded) << encode(c);
  apply(s, *decoded);
}

TEST(Directory, EveryChangeSurvivesItsCodec) {
  directory_state s;
  replay(s, tenant("clinic-1", true));
  replay(s, agent("clinic-1", "ana", agent_role::admin, {"wa-main", "sms-main"}));
  replay(s, agent("clinic-1", "bo"));
  directory_change team;
  team.what = directory_change::kind::put_team;
  team.team = {"clinic-1", "front", "Front desk", {"ana", "bo"}};
  replay(s, team);
  replay(s, token("tk_1", "clinic-1", "ana", "abc123"));

  ASSERT_TRUE(s.tenant("clinic-1"));
  EXPECT_TRUE(s.tenant("clinic-1")->segmented);
  auto* ana = s.agent("clinic-1", "ana");
  ASSERT_TRUE(ana);
  EXPECT_EQ(ana->role, agent_role::admin);
  EXPECT_TRUE(ana->may_use("sms-main"));
  EXPECT_FALSE(ana->may_use("wa-other"));
  EXPECT_TRUE(s.agent("clinic-1", "bo")->may_use("anything"));  // no list: every channel
  EXPECT_EQ(s.teams_of("clinic-1", "bo"), std::vector<std::string>{"front"});
  EXPECT_TRUE(s.teams_of("clinic-10", "bo").empty());
  ASSERT_TRUE(s.live_token_by_hash("abc123"));
  EXPECT_EQ(s.live_token_by_hash("abc123")->agent, "ana");

  directory_change revoke;
  revoke.what = directory_change::kind::revoke_token;
  revoke.token.id = "tk_1";
  replay(s, revoke);
  EXPECT_EQ(s.live_token_by_hash("abc123"), nullptr);
  EXPECT_TRUE(s.token("tk_1")->revoked);
}

TEST(Directory, UndecodableRecordsAreRefused) {
  EXPECT_FALSE(decode_directory_change("not json"));
  EXPECT_FALSE(decode_directory_change(R"({"op":"wizard","id":"x"})"));
  EXPECT_FALSE(decode_directory_change(R"({"op":"tenant","id":"x","name":"n"})"));  // no segmented
  EXPECT_FALSE(decode_directory_change(
      R"({"op":"agent","tenant":"t","id":"a","name":"n","role":"boss","channels":[]})"));
  EXPECT_FALSE(
      decode_directory_change(R"({"op":"team","tenant":"t","id":"a","name":"n","members":[1]})"));
}

TEST(Directory, ChecksNameWhatIsMissing) {
  directory_state s;
  EXPECT_NE(check(s, agent("clinic-1", "ana"))->find("clinic-1"), std::string::npos);
  apply(s, tenant("clinic-1"));
  EXPECT_FALSE(check(s, agent("clinic-1", "ana")));
  apply(s, agent("clinic-1", "ana"));

  directory_change team;
  team.what = directory_change::kind::put_team;
  team.team = {"clinic-1", "front", "Front", {"ana", "ghost"}};
  EXPECT_NE(check(s, team)->find("ghost"), std::string::npos);

  EXPECT_NE(check(s, token("tk_1", "clinic-1", "bo", "h"))->find("bo"), std::string::npos);
  apply(s, token("tk_1", "clinic-1", "ana", "h"));
  EXPECT_TRUE(check(s, token("tk_1", "clinic-1", "ana", "h2")));  // id in use
  EXPECT_TRUE(check(s, token("tk_2", "clinic-1", "ana", "h")));   // secret in use
  directory_change revoke;
  revoke.what = directory_change::kind::revoke_token;
  revoke.token.id = "tk_9";
  EXPECT_TRUE(check(s, revoke));
}

directory_change channel(std::string t, std::string id, std::string number,
                         std::string secret = "s") {
  auto ch = std::make_shared<channel_config>();
  ch->tenant = std::move(t);
  ch->id = std::move(id);
  ch->provider = provider_kind::whatsapp;
  ch->phone_number_id = std::move(number);
  ch->app_secret = std::move(secret);
  ch->verify_token = "v";
  directory_change c;
  c.what = directory_change::kind::put_channel;
  c.channel = std::move(ch);
  return c;
}

TEST(Directory, ChannelsByIdAndNumberThroughTheirCodec) {
  directory_state s;
  replay(s, tenant("clinic-1"));
  replay(s, tenant("clinic-2"));
  auto put = channel("clinic-1", "wa-main", "1065", "secret-1");
  EXPECT_FALSE(check(s, put));
  replay(s, put);
  auto held = s.channel("wa-main");  // a webhook in flight keeps its channel
  ASSERT_TRUE(held);
  EXPECT_EQ(held->app_secret, "secret-1");
  EXPECT_EQ(s.channel_by("1065")->id, "wa-main");

  // Another number for the same channel: the old one is free again.
  replay(s, channel("clinic-1", "wa-main", "2065", "secret-2"));
  EXPECT_EQ(s.channel_by("1065"), nullptr);
  EXPECT_EQ(s.channel("wa-main")->app_secret, "secret-2");
  EXPECT_EQ(held->app_secret, "secret-1");

  EXPECT_NE(check(s, channel("clinic-2", "wa-main", "3065"))->find("another tenant"),
            std::string::npos);
  EXPECT_NE(check(s, channel("clinic-1", "wa-side", "2065"))->find("wa-main"), std::string::npos);
  EXPECT_NE(check(s, channel("clinic-9", "wa-x", "4065"))->find("clinic-9"), std::string::npos);
  auto sms = channel("clinic-1", "wa-main", "+15550001111");
  auto twilio = std::make_shared<channel_config>(*sms.channel);
  twilio->provider = provider_kind::twilio;
  twilio->number = "+15550001111";
  twilio->auth_token = "t";
  sms.channel = twilio;
  EXPECT_NE(check(s, sms)->find("delete it"), std::string::npos);  // provider is fixed

  directory_change drop;
  drop.what = directory_change::kind::delete_channel;
  auto named = [](std::string id, std::string tenant) {
    auto ch = std::make_shared<channel_config>();
    ch->id = std::move(id);
    ch->tenant = std::move(tenant);
    return std::shared_ptr<const channel_config>(std::move(ch));
  };
  drop.channel = named("wa-main", "clinic-2");
  EXPECT_TRUE(check(s, drop));  // not clinic-2's
  drop.channel = named("wa-main", "clinic-1");
  EXPECT_FALSE(check(s, drop));
  replay(s, drop);
  EXPECT_EQ(s.channel("wa-main"), nullptr);
  EXPECT_EQ(s.channel_by("2065"), nullptr);

  // A journaled channel that is not a valid channel is refused on replay.
  EXPECT_FALSE(decode_directory_change(
      R"({"op":"channel","tenant":"t","id":"c","provider":"whatsapp","phone_number_id":"1"})"));
}

TEST(Directory, IdRule) {
  EXPECT_TRUE(valid_directory_id("clinic-1.front_desk"));
  EXPECT_FALSE(valid_directory_id(""));
  EXPECT_FALSE(valid_directory_id("a b"));
  EXPECT_FALSE(valid_directory_id("a/b"));
  EXPECT_FALSE(valid_directory_id(std::string(65, 'a')));
}

// Contacts locked against automatic messages, and a tenant's rate, survive
// the codec; the author of automatic messages cannot be an agent's id.
TEST(Directory, ContactLocksAndTenantRate) {
  directory_state s;
  auto t = tenant("clinic-1");
  t.tenant.messages_per_second = 25;
  replay(s, t);
  EXPECT_EQ(s.tenant("clinic-1")->messages_per_second, 25u);
  directory_change ch;
  ch.what = directory_change::kind::put_channel;
  auto wa = std::make_shared<channel_config>();
  wa->id = "wa-main";
  wa->tenant = "clinic-1";
  wa->phone_number_id = "1";
  wa->app_secret = "s";
  wa->verify_token = "v";
  ch.channel = wa;
  replay(s, ch);
  directory_change lock;
  lock.what = directory_change::kind::put_contact;
  lock.contact = {"clinic-1", "wa-main", "+34600111222", true};
  EXPECT_FALSE(check(s, lock));
  replay(s, lock);
  EXPECT_TRUE(s.auto_locked("clinic-1", "wa-main", "+34600111222"));
  EXPECT_FALSE(s.auto_locked("clinic-1", "wa-main", "+34600111333"));
  lock.contact.auto_locked = false;
  replay(s, lock);
  EXPECT_FALSE(s.auto_locked("clinic-1", "wa-main", "+34600111222"));
  lock.contact.channel = "sms-other";  // not a channel of the tenant
  EXPECT_TRUE(check(s, lock));
  EXPECT_TRUE(check(s, agent("clinic-1", "auto")));
  EXPECT_FALSE(check(s, agent("clinic-1", "autos")));
  // A tenant record from before the rate existed still reads.
  auto old = decode_directory_change(R"({"op":"tenant","id":"c2","name":"C","segmented":false})");
  ASSERT_TRUE(old);
  EXPECT_EQ(old->tenant.messages_per_second, 0u);
  EXPECT_FALSE(decode_directory_change(
      R"({"op":"tenant","id":"c2","name":"C","segmented":false,"messages_per_second":0})"));
}

}  // namespace
}  // namespace gw::domain

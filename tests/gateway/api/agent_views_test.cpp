#include "gateway/api/agent_views.hpp"

#include <gtest/gtest.h>

namespace gw::api {
namespace {

TEST(AgentViews, CursorsBelongToTheirQuery) {
  page_cursor c{1763800360000, 42, "wa-main:+34.600"};  // the cv may hold dots
  auto text = encode_cursor("list|mine|front-desk", c);
  auto back = decode_cursor("list|mine|front-desk", text);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->a, c.a);
  EXPECT_EQ(back->b, c.b);
  EXPECT_EQ(back->cv, c.cv);
  EXPECT_FALSE(decode_cursor("list|new|front-desk", text));  // another query
  EXPECT_FALSE(decode_cursor("list|mine|front-desk", text.substr(0, 20)));
  EXPECT_FALSE(decode_cursor("list|mine|front-desk", ""));
  EXPECT_FALSE(decode_cursor("list|mine|front-desk", "garbage"));
  auto fp = text.substr(0, 17);  // fingerprint and dot
  EXPECT_FALSE(decode_cursor("list|mine|front-desk", fp + "x.1.cv"));
  EXPECT_FALSE(decode_cursor("list|mine|front-desk", fp + ".1.cv"));
  auto negative = encode_cursor("q", {-5, -6, ""});
  ASSERT_TRUE(decode_cursor("q", negative));
  EXPECT_EQ(decode_cursor("q", negative)->a, -5);
}

TEST(AgentViews, VisibilityAndViews) {
  access agent;
  agent.teams = {"front-desk"};
  EXPECT_TRUE(visible(agent, "ana", "", "bo"));
  EXPECT_TRUE(visible(agent, "ana", "front-desk", ""));
  EXPECT_FALSE(visible(agent, "ana", "billing", ""));
  agent.segmented = true;
  EXPECT_FALSE(visible(agent, "ana", "", "bo"));
  EXPECT_TRUE(visible(agent, "ana", "", "ana"));
  access admin;
  admin.admin = true;
  EXPECT_TRUE(visible(admin, "root", "billing", "bo"));

  EXPECT_TRUE(agent.may_use("wa-main"));  // no list: every channel
  agent.channels = {"sms-main"};
  EXPECT_FALSE(agent.may_use("wa-main"));

  domain::conversation_summary c;
  c.exists = true;
  c.status = "open";
  c.last_inbound_ms = 1'000;
  using protocol::view;
  const std::int64_t now = 2'000;
  EXPECT_TRUE(in_view(view::fresh, c, "ana", now));
  EXPECT_FALSE(in_view(view::mine, c, "ana", now));
  c.assignee = "ana";
  EXPECT_TRUE(in_view(view::mine, c, "ana", now));
  EXPECT_TRUE(in_view(view::others, c, "bo", now));
  EXPECT_FALSE(in_view(view::expired, c, "ana", now));
  EXPECT_TRUE(in_view(view::expired, c, "ana", 1'000 + domain::whatsapp_window_ms + 1));
  c.status = "closed";
  EXPECT_TRUE(in_view(view::closed, c, "ana", now));
  EXPECT_FALSE(in_view(view::mine, c, "ana", now));
}

}  // namespace
}  // namespace gw::api

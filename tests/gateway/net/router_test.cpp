#include "gateway/net/router.hpp"

#include <gtest/gtest.h>

namespace gw::net {
namespace {

using http::verb;

struct fixture : ::testing::Test {
  router r;
  request req{verb::get, "/", 11};
  std::string last;
  handler named(std::string n) {
    return [this, n](request_context&, responder a) {
      last = n;
      a.json(http::status::ok, "{}");
    };
  }
};

TEST_F(fixture, MatchesExactPathsAndParams) {
  auto h = r.add(verb::get, "/healthz", named("health"));
  auto w = r.add(verb::post, "/webhooks/whatsapp/{channel}", named("wa"));
  EXPECT_EQ(h, 1u);
  EXPECT_EQ(w, 2u);

  request_context ctx{req, "", "", {}};
  auto m = r.find(verb::post, "/webhooks/whatsapp/clinic-7", &ctx);
  ASSERT_NE(m.h, nullptr);
  EXPECT_EQ(m.index, w);
  EXPECT_EQ(ctx.param("channel"), "clinic-7");
  EXPECT_EQ(ctx.param("other"), "");

  EXPECT_EQ(r.find(verb::get, "/healthz/", nullptr).index, h);  // trailing slash
  EXPECT_EQ(r.find(verb::get, "/healthzz", nullptr).index, 0u);
  EXPECT_EQ(r.find(verb::post, "/webhooks/whatsapp", nullptr).index, 0u);
  EXPECT_EQ(r.find(verb::post, "/webhooks/whatsapp/a/b", nullptr).index, 0u);
  EXPECT_EQ(r.labels().at(0), "unmatched");
  EXPECT_EQ(r.labels().at(2), "/webhooks/whatsapp/{channel}");
}

TEST_F(fixture, WrongMethodListsAllowedOnes) {
  r.add(verb::get, "/x", named("get"));
  r.add(verb::put, "/x", named("put"));
  request_context ctx{req, "", "", {}};
  auto m = r.find(verb::delete_, "/x", &ctx);
  EXPECT_EQ(m.h, nullptr);
  EXPECT_EQ(m.index, 1u);
  EXPECT_EQ(m.allow, "GET, PUT");
  auto ok = r.find(verb::put, "/x", &ctx);
  ASSERT_NE(ok.h, nullptr);
  (*ok.h)(ctx, responder([](response) {}));
  EXPECT_EQ(last, "put");
}

TEST_F(fixture, WebSocketRoutesAreMarked) {
  auto i = r.add_websocket("/v1/agent");
  auto m = r.find(verb::get, "/v1/agent", nullptr);
  EXPECT_TRUE(m.websocket);
  EXPECT_EQ(m.index, i);
}

TEST(Responder, AnswersOnceAndFiveHundredWhenDropped) {
  std::vector<unsigned> got;
  {
    responder a([&](response r) { got.push_back(r.result_int()); });
    a.json(http::status::created, "{}");
    a.json(http::status::ok, "{}");  // ignored: already answered
  }
  {
    responder forgotten([&](response r) { got.push_back(r.result_int()); });
  }
  EXPECT_EQ(got, (std::vector<unsigned>{201, 500}));
}

TEST(Router, SplitTarget) {
  EXPECT_EQ(split_target("/a?b=1").first, "/a");
  EXPECT_EQ(split_target("/a?b=1").second, "b=1");
  EXPECT_EQ(split_target("/a").second, "");
}

}  // namespace
}  // namespace gw::net

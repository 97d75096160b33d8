#include "gateway/net/router.hpp"

#include <gtest/gtest.h>

#include <boost/beast/http/write.hpp>
#include <sstream>

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

// What Beast's serializer writes for the same response.
std::string beast_bytes(const response& res) {
  std::ostringstream out;
  out << res;
  return out.str();
}

TEST(Serialize, WritesWhatBeastWrites) {
  std::vector<response> cases;
  cases.push_back(make_response(http::status::ok, R"({"status":"ok"})", "application/json"));
  cases.push_back(make_error(protocol::http_error::method_not_allowed, "PUT is not allowed"));
  cases.back().set(http::field::allow, "GET, POST");
  cases.push_back(make_response(http::status::no_content, "", "text/plain"));
  cases.push_back(make_response(http::status::ok, "<Response/>", "text/xml"));
  cases.back().version(10);
  cases.back().keep_alive(true);
  cases.push_back(make_response(http::status::ok, "closing", "text/plain"));
  cases.back().keep_alive(false);
  cases.push_back(make_response(http::status::ok, std::string(70000, 'x'), "text/plain"));
  cases.push_back(make_response(http::status::ok, "in one chunk", "text/plain"));
  cases.back().chunked(true);
  for (const auto& res : cases) {
    std::string out = "kept:";  // appends
    serialize(res, out);
    EXPECT_EQ(out, "kept:" + beast_bytes(res)) << res.base();
  }
}

TEST(Serialize, WritesRequestsAsBeastDoes) {
  request post{http::verb::post, "/2010-04-01/Accounts/AC1/Messages.json?x=1", 11};
  post.set(http::field::host, "127.0.0.1:9400");
  post.set(http::field::authorization, "Basic QUMxOnRva2Vu");
  post.set(http::field::content_type, "application/x-www-form-urlencoded");
  post.body() = "To=%2B34600000001&Body=hi";
  post.prepare_payload();
  request get{http::verb::get, "/v1/x", 10};
  get.keep_alive(true);
  for (const auto& req : {post, get}) {
    std::ostringstream beast;
    beast << req;
    std::string out;
    serialize(req, out);
    EXPECT_EQ(out, beast.str());
  }
}

// An empty chunked body is the last chunk alone. (Beast writes a second
// last chunk after it, which a client would read as the start of the next
// response.)
TEST(Serialize, AnEmptyChunkedBodyIsTheLastChunkAlone) {
  auto res = make_response(http::status::ok, "", "text/plain");
  res.chunked(true);
  std::string out;
  serialize(res, out);
  EXPECT_EQ(out, "HTTP/1.1 200 OK\r\nServer: gateway/" GATEWAY_VERSION
                 "\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
}

TEST(Router, SplitTarget) {
  EXPECT_EQ(split_target("/a?b=1").first, "/a");
  EXPECT_EQ(split_target("/a?b=1").second, "b=1");
  EXPECT_EQ(split_target("/a").second, "");
}

}  // namespace
}  // namespace gw::net

// Agent sessions authenticate with a token from the admin API: in the
// upgrade's Authorization header or with `auth` as the first command. Bad
// tokens, silence and revocation close the session with their documented
// codes (AGENT_PROTOCOL.md sections 2 and 10).
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>

#include "tests/support/clients.hpp"
#include "tests/support/process.hpp"

namespace gw::test {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using http::verb;

constexpr std::string_view operator_key = "operator-key-1";

class AgentAuth : public ::testing::Test {
 protected:
  void SetUp() override { start({}); }

  void start(std::vector<std::string> env) {
    config_ = dir_.path() + "/gateway.json";
    std::ofstream(config_) << R"({"admin": {"key": ")" << operator_key << R"("},
      "channels": [{"id": "wa-main", "provider": "whatsapp", "tenant": "clinic-1",
         "phone_number_id": "106540352242922", "app_secret": "s", "verify_token": "v",
         "access_token": "t", "api_base_url": "http://127.0.0.1:1"}],
      "outbound": {"max_attempts": 1000}})";
    gw_.reset();
    gw_ = std::make_unique<gateway_process>(
        std::vector<std::string>{"--config", config_, "--data-dir", dir_.path() + "/data"},
        std::move(env));
    admin("PUT", "/v1/tenants/clinic-1/agents/ana", R"({"name":"Ana","role":"agent"})");
  }

  json::value admin(std::string_view method, std::string target, std::string body = {}) {
    auto res =
        http_request(gw_->port(), http::string_to_verb(method), std::move(target), std::move(body),
                     {{"Authorization", "Bearer " + std::string(operator_key)}});
    EXPECT_LT(res.result_int(), 300u) << res.body();
    return json::parse(res.body());
  }

  // A new token for ana: {id, secret}.
  std::pair<std::string, std::string> token() {
    auto t = admin("POST", "/v1/tenants/clinic-1/agents/ana/tokens");
    return {std::string(t.at("id").as_string()), std::string(t.at("token").as_string())};
  }

  static json::object read(ws_client& ws) { return json::parse(ws.read_text()).as_object(); }

  static void expect_hello(const json::object& h) {
    EXPECT_EQ(h.at("t").as_string(), "hello");
    EXPECT_EQ(h.at("ag").as_string(), "ana");
    EXPECT_EQ(h.at("tn").as_string(), "clinic-1");
    EXPECT_EQ(h.at("role").as_string(), "agent");
    EXPECT_GT(h.at("ep").as_int64(), 0);
    EXPECT_EQ(h.at("lim").at("cps").as_int64(), 20);
  }

  temp_dir dir_;
  std::string config_;
  std::unique_ptr<gateway_process> gw_;
};

TEST_F(AgentAuth, HeaderTokenGetsHelloAtOnce) {
  auto [id, secret] = token();
  ws_client ws(gw_->port(), "gw.agent.v1", 5s, 0, secret);
  expect_hello(read(ws));
  // Authenticated: commands pass the gate (this one then finds no such
  // conversation) and a second auth is refused.
  ws.send_text(R"({"c":"send","id":"s1","cv":"wa-main:+34600111222","tx":"hi"})");
  EXPECT_EQ(read(ws).at("code").as_string(), "not_found");
  ws.send_text(R"({"c":"auth","id":"a2","tok":")" + secret + "\"}");
  EXPECT_EQ(read(ws).at("code").as_string(), "bad_args");
}

TEST_F(AgentAuth, FirstFrameTokenGetsOkThenHello) {
  auto [id, secret] = token();
  ws_client ws(gw_->port());
  ws.send_text(R"({"c":"list","id":"l0","v":"new"})");
  auto early = read(ws);
  EXPECT_EQ(early.at("code").as_string(), "unauthenticated");
  EXPECT_EQ(early.at("id").as_string(), "l0");
  ws.send_text(R"({"c":"ping","id":"p0"})");  // ping works before auth
  EXPECT_EQ(read(ws).at("t").as_string(), "pong");
  ws.send_text(R"({"c":"auth","id":"a1","tok":")" + secret + "\"}");
  auto ok = read(ws);
  EXPECT_EQ(ok.at("t").as_string(), "ok");
  EXPECT_EQ(ok.at("id").as_string(), "a1");
  expect_hello(read(ws));
}

TEST_F(AgentAuth, BadTokensAreRefusedAndClosedWith4003) {
  {
    ws_client ws(gw_->port());
    ws.send_text(R"({"c":"auth","id":"a1","tok":"gwt_not-a-token"})");
    auto err = read(ws);
    EXPECT_EQ(err.at("code").as_string(), "bad_token");
    EXPECT_EQ(err.at("id").as_string(), "a1");
    EXPECT_EQ(ws.read_until_close(), 4003);
  }
  ws_client header(gw_->port(), "gw.agent.v1", 5s, 0, "gwt_wrong");
  EXPECT_EQ(read(header).at("code").as_string(), "bad_token");
  EXPECT_EQ(header.read_until_close(), 4003);
  EXPECT_EQ(metric(gw_->port(), R"(gateway_ws_closes_total{code="4003"})"), 2);
}

TEST_F(AgentAuth, SilentSessionsAreClosedWith4002) {
  start({"GATEWAY_WS_AUTH_TIMEOUT_MS=300"});
  auto t0 = std::chrono::steady_clock::now();
  ws_client ws(gw_->port());
  EXPECT_EQ(ws.read_until_close(), 4002);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 250ms);
  // An authenticated session outlives the timeout.
  auto [id, secret] = token();
  ws_client ok(gw_->port(), "gw.agent.v1", 5s, 0, secret);
  expect_hello(read(ok));
  std::this_thread::sleep_for(500ms);
  ok.send_text(R"({"c":"ping","id":"still"})");
  EXPECT_EQ(read(ok).at("id").as_string(), "still");
}

TEST_F(AgentAuth, RevokingATokenClosesItsSessionsWith4004Only) {
  auto [revoked_id, revoked] = token();
  auto [kept_id, kept] = token();
  ws_client a(gw_->port(), "gw.agent.v1", 5s, 0, revoked);
  ws_client b(gw_->port());
  expect_hello(read(a));
  b.send_text(R"({"c":"auth","id":"1","tok":")" + revoked + "\"}");
  EXPECT_EQ(read(b).at("t").as_string(), "ok");
  expect_hello(read(b));
  ws_client c(gw_->port(), "gw.agent.v1", 5s, 0, kept);
  expect_hello(read(c));

  admin("DELETE", "/v1/tenants/clinic-1/tokens/" + revoked_id);
  EXPECT_EQ(a.read_until_close(), 4004);
  EXPECT_EQ(b.read_until_close(), 4004);
  c.send_text(R"({"c":"ping","id":"alive"})");
  EXPECT_EQ(read(c).at("id").as_string(), "alive");
  // The revoked token no longer opens a session.
  ws_client again(gw_->port(), "gw.agent.v1", 5s, 0, revoked);
  EXPECT_EQ(read(again).at("code").as_string(), "bad_token");
}

// An agent declared in the config gets its token at start-up; changing the
// token in the config revokes the old one at the next start.
TEST(ConfigAgents, TokenFromTheConfigWorksAndARotatedOneReplacesIt) {
  temp_dir dir;
  auto start = [&](std::string_view token) {
    std::ofstream(dir.path() + "/gateway.json")
        << R"({"channels": [{"id": "wa-main", "provider": "whatsapp", "tenant": "clinic-1",
             "phone_number_id": "1065", "app_secret": "s", "verify_token": "v"}],
           "agents": [{"tenant": "clinic-1", "id": "eva", "role": "admin", "token": ")"
        << token << R"("}]})";
    return std::make_unique<gateway_process>(std::vector<std::string>{
        "--config", dir.path() + "/gateway.json", "--data-dir", dir.path() + "/data"});
  };
  auto hello_for = [](std::uint16_t port, std::string_view token) {
    ws_client ws(port, "gw.agent.v1", 5s, 0, std::string(token));
    return json::parse(ws.read_text()).as_object();
  };
  {
    auto gw = start("first-token-0000001");
    auto h = hello_for(gw->port(), "first-token-0000001");
    EXPECT_EQ(h.at("t").as_string(), "hello");
    EXPECT_EQ(h.at("role").as_string(), "admin");
  }
  auto gw = start("second-token-000002");
  EXPECT_EQ(hello_for(gw->port(), "second-token-000002").at("t").as_string(), "hello");
  EXPECT_EQ(hello_for(gw->port(), "first-token-0000001").at("code").as_string(), "bad_token");
}

}  // namespace
}  // namespace gw::test

// The directory admin API against the real binary: tenants, agents, tokens
// and teams; who may do what; bad input; and that acknowledged changes,
// revocations included, survive SIGKILL.
#include <gtest/gtest.h>
#include <signal.h>

#include <boost/json.hpp>
#include <fstream>

#include "tests/support/clients.hpp"
#include "tests/support/process.hpp"
#include "tests/support/whatsapp.hpp"

namespace gw::test {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using http::verb;

constexpr std::string_view operator_key = "operator-key-1";

struct deployment {
  deployment() {
    data = dir.path() + "/data";
    config = dir.path() + "/gateway.json";
    std::ofstream(config) << R"({"admin": {"key": ")" << operator_key << R"("},
      "channels": [
        {"id": "wa-main", "provider": "whatsapp", "tenant": "clinic-1",
         "phone_number_id": "106540352242922", "app_secret": "s", "verify_token": "v"},
        {"id": "wa-other", "provider": "whatsapp", "tenant": "clinic-2",
         "phone_number_id": "206540352242922", "app_secret": "s", "verify_token": "v"}]})";
  }
  std::unique_ptr<gateway_process> start() {
    return std::make_unique<gateway_process>(
        std::vector<std::string>{"--config", config, "--data-dir", data});
  }
  temp_dir dir;
  std::string data, config;
};

header_list bearer(std::string_view secret) {
  return {{"Authorization", "Bearer " + std::string(secret)}};
}

struct answer {
  int status;
  json::value body;
};

answer call(std::uint16_t port, verb method, std::string target, std::string body = {},
            std::string_view key = operator_key) {
  auto res = http_request(port, method, std::move(target), std::move(body), bearer(key));
  boost::system::error_code ec;
  auto v = json::parse(res.body(), ec);
  return {static_cast<int>(res.result_int()), ec ? json::value(res.body()) : v};
}

std::string message(const answer& a) {
  auto* o = a.body.if_object();
  return o && o->contains("message") ? std::string(o->at("message").as_string()) : "";
}

TEST(Directory, TenantAgentTokenAndTeamSurviveSigkillAndRevocationSticks) {
  deployment d;
  std::string admin_token, admin_token_id, agent_token;
  {
    auto gw = d.start();
    auto p = gw->port();
    // The config's channels named clinic-1: it exists from the start.
    EXPECT_EQ(call(p, verb::get, "/v1/tenants/clinic-1").body.at("name").as_string(), "clinic-1");
    EXPECT_EQ(call(p, verb::post, "/v1/tenants", R"({"id":"clinic-1"})").status, 409);
    EXPECT_EQ(call(p, verb::patch, "/v1/tenants/clinic-1", R"({"name":"Clínica Sol"})").status,
              200);
    EXPECT_EQ(call(p, verb::post, "/v1/tenants", R"({"id":"clinic-9","name":"Nueve"})").status,
              201);
    auto ana = call(p, verb::put, "/v1/tenants/clinic-1/agents/ana",
                    R"({"name":"Ana","role":"admin","channels":["wa-main"]})");
    EXPECT_EQ(ana.status, 201);
    EXPECT_EQ(ana.body.at("role").as_string(), "admin");
    EXPECT_EQ(call(p, verb::put, "/v1/tenants/clinic-1/agents/bo", R"({"role":"agent"})").status,
              201);
    // PUT again replaces: 200.
    EXPECT_EQ(
        call(p, verb::put, "/v1/tenants/clinic-1/agents/bo", R"({"name":"Bo","role":"agent"})")
            .status,
        200);

    auto t1 = call(p, verb::post, "/v1/tenants/clinic-1/agents/ana/tokens");
    ASSERT_EQ(t1.status, 201) << t1.body;
    admin_token = std::string(t1.body.at("token").as_string());
    admin_token_id = std::string(t1.body.at("id").as_string());
    EXPECT_TRUE(admin_token.starts_with("gwt_"));
    auto t2 = call(p, verb::post, "/v1/tenants/clinic-1/agents/bo/tokens");
    ASSERT_EQ(t2.status, 201);
    agent_token = std::string(t2.body.at("token").as_string());

    // An admin agent manages its own tenant with its token.
    auto team = call(p, verb::put, "/v1/tenants/clinic-1/teams/front",
                     R"({"name":"Front desk","members":["ana","bo"]})", admin_token);
    EXPECT_EQ(team.status, 201) << team.body;
    EXPECT_EQ(call(p, verb::patch, "/v1/tenants/clinic-1", R"({"segmented":true})", admin_token)
                  .body.at("segmented")
                  .as_bool(),
              true);

    // Token listings never show secrets or hashes.
    auto list = call(p, verb::get, "/v1/tenants/clinic-1/agents/ana/tokens");
    ASSERT_EQ(list.status, 200);
    auto listed = json::serialize(list.body);
    EXPECT_NE(listed.find(admin_token_id), std::string::npos);
    EXPECT_EQ(listed.find(admin_token), std::string::npos);
    EXPECT_EQ(listed.find("hash"), std::string::npos);
    gw->signal(SIGKILL);
    EXPECT_EQ(gw->wait_exit(5s), 128 + SIGKILL);
  }
  {
    auto gw = d.start();
    auto p = gw->port();
    auto t = call(p, verb::get, "/v1/tenants/clinic-1", {}, admin_token);  // the token survived
    ASSERT_EQ(t.status, 200) << t.body;
    EXPECT_EQ(t.body.at("name").as_string(), "Clínica Sol");
    EXPECT_TRUE(t.body.at("segmented").as_bool());
    EXPECT_EQ(t.body.at("agents").as_array().size(), 2u);
    EXPECT_EQ(t.body.at("agents").as_array()[1].at("name").as_string(), "Bo");
    EXPECT_EQ(t.body.at("teams").as_array()[0].at("members").as_array().size(), 2u);

    // An agent (not admin) token does not open the admin API.
    EXPECT_EQ(call(p, verb::get, "/v1/tenants/clinic-1", {}, agent_token).status, 401);

    EXPECT_EQ(call(p, verb::delete_, "/v1/tenants/clinic-1/tokens/" + admin_token_id).status, 200);
    EXPECT_EQ(call(p, verb::get, "/v1/tenants/clinic-1", {}, admin_token).status, 401);
    gw->signal(SIGKILL);
    EXPECT_EQ(gw->wait_exit(5s), 128 + SIGKILL);
  }
  auto gw = d.start();
  EXPECT_EQ(call(gw->port(), verb::get, "/v1/tenants/clinic-1", {}, admin_token).status, 401);
  auto tokens = call(gw->port(), verb::get, "/v1/tenants/clinic-1/agents/ana/tokens");
  EXPECT_TRUE(tokens.body.at("tokens").as_array()[0].at("revoked").as_bool());
}

TEST(Directory, BadInputIsRefusedByNameAndChangesNothing) {
  deployment d;
  auto gw = d.start();
  auto p = gw->port();

  struct bad {
    verb method;
    std::string target, body;
    int status;
    std::string names;  // what the message must mention
  };
  for (const auto& b : std::vector<bad>{
           {verb::post, "/v1/tenants", R"({"id":"clinic-1"})", 409, "exists"},
           {verb::post, "/v1/tenants", R"({"id":"a b"})", 400, "\"id\""},
           {verb::post, "/v1/tenants", R"({"id":"x","nme":"typo"})", 400, "\"nme\""},
           {verb::post, "/v1/tenants", "{not json", 400, "JSON"},
           {verb::post, "/v1/tenants", R"({"id":"x","segmented":"yes"})", 400, "\"segmented\""},
           {verb::put, "/v1/tenants/clinic-1/agents/ana", R"({"role":"boss"})", 400, "\"role\""},
           {verb::put, "/v1/tenants/clinic-1/agents/ana", R"({})", 400, "\"role\""},
           {verb::put, "/v1/tenants/clinic-1/agents/ana",
            R"({"role":"agent","channels":["wa-other"]})", 400, "wa-other"},
           {verb::put, "/v1/tenants/nowhere/agents/ana", R"({"role":"agent"})", 404, "nowhere"},
           {verb::put, "/v1/tenants/clinic-1/teams/front", R"({"members":["ghost"]})", 400,
            "ghost"},
           {verb::post, "/v1/tenants/clinic-1/agents/ghost/tokens", "", 404, "ghost"},
           {verb::delete_, "/v1/tenants/clinic-1/tokens/tk_nope", "", 404, "tk_nope"},
           {verb::put, "/v1/tenants/clinic-1/channels/wa-x", R"({"provider":"sms"})", 400,
            "\"provider\""},
           {verb::put, "/v1/tenants/clinic-1/channels/wa-x",
            R"({"provider":"whatsapp","phone_number_id":"1"})", 400, "\"app_secret\""},
           {verb::put, "/v1/tenants/clinic-1/channels/wa-x",
            R"({"provider":"whatsapp","phone_number_id":"1","app_secret":"s","verify_token":"v",
                "secret":"typo"})",
            400, "\"secret\""},
           {verb::put, "/v1/tenants/clinic-1/channels/wa-x",
            R"({"provider":"twilio","number":"5550001","auth_token":"t"})", 400, "\"number\""},
           {verb::put, "/v1/tenants/clinic-1/channels/wa-x", R"({"id":"y","provider":"twilio"})",
            400, "path"},
           {verb::put, "/v1/tenants/clinic-1/channels/" + std::string(65, 'c'),
            R"({"provider":"twilio","number":"+15550001111","auth_token":"t"})", 400, "\"id\""},
           {verb::put, "/v1/tenants/clinic-1/channels/wa-x",
            R"({"provider":"whatsapp","phone_number_id":"206540352242922","app_secret":"s",
                "verify_token":"v"})",
            409, "wa-other"},
           {verb::put, "/v1/tenants/clinic-1/channels/wa-other",
            R"({"provider":"whatsapp","phone_number_id":"7","app_secret":"s","verify_token":"v"})",
            409, "another tenant"},
           {verb::put, "/v1/tenants/clinic-1/channels/wa-main",
            R"({"provider":"twilio","number":"+15550001111","auth_token":"t"})", 409, "delete it"},
           {verb::get, "/v1/tenants/clinic-1/channels/wa-other", "", 404, "wa-other"},
           {verb::delete_, "/v1/tenants/clinic-1/channels/wa-other", "", 404, "wa-other"},
       }) {
    auto a = call(p, b.method, b.target, b.body);
    EXPECT_EQ(a.status, b.status) << b.target << " " << b.body << " -> " << a.body;
    EXPECT_NE(message(a).find(b.names), std::string::npos) << b.target << " -> " << message(a);
  }
  // Nothing of the above was stored.
  auto t = call(p, verb::get, "/v1/tenants/clinic-1");
  EXPECT_TRUE(t.body.at("agents").as_array().empty());
  EXPECT_TRUE(t.body.at("teams").as_array().empty());
  EXPECT_EQ(call(p, verb::get, "/v1/tenants/x").status, 404);
  auto channels = call(p, verb::get, "/v1/tenants/clinic-1/channels");
  ASSERT_EQ(channels.body.at("channels").as_array().size(), 1u);
  EXPECT_EQ(channels.body.at("channels").at(0).at("provider").as_string(), "whatsapp");
}

TEST(Directory, ChannelsFromTheApiTakeWebhooksAndSurviveSigkill) {
  deployment d;
  auto post = [](std::uint16_t port, std::string_view secret, std::string_view wamid) {
    return static_cast<int>(
        post_whatsapp_text(port, "wa-new", "306540352242922", secret, "34600111222", wamid, "hola")
            .result_int());
  };
  {
    auto gw = d.start();
    auto p = gw->port();
    EXPECT_EQ(post(p, "new-secret", "wamid.N0"), 404);  // not a channel yet
    auto put = call(p, verb::put, "/v1/tenants/clinic-1/channels/wa-new",
                    R"({"provider":"whatsapp","phone_number_id":"306540352242922",
                        "app_secret":"new-secret","verify_token":"vt"})");
    ASSERT_EQ(put.status, 201) << put.body;
    EXPECT_EQ(post(p, "new-secret", "wamid.N1"), 200);
    EXPECT_EQ(post(p, "wrong-secret", "wamid.N2"), 401);

    // Secrets are named, never shown.
    auto one = call(p, verb::get, "/v1/tenants/clinic-1/channels/wa-new");
    auto all = call(p, verb::get, "/v1/tenants/clinic-1/channels");
    EXPECT_EQ(one.status, 200);
    EXPECT_EQ(all.body.at("channels").as_array().size(), 2u);
    for (const auto& shown : {put, one, all}) {
      auto text = json::serialize(shown.body);
      EXPECT_EQ(text.find("new-secret"), std::string::npos) << text;
      EXPECT_EQ(text.find("\"vt\""), std::string::npos) << text;
      EXPECT_NE(text.find("app_secret"), std::string::npos) << text;
    }
    // The config's channel may be deleted; the next start puts it back.
    EXPECT_EQ(call(p, verb::delete_, "/v1/tenants/clinic-1/channels/wa-main").status, 200);
    gw->signal(SIGKILL);
    EXPECT_EQ(gw->wait_exit(5s), 128 + SIGKILL);
  }
  {
    auto gw = d.start();
    auto p = gw->port();
    EXPECT_EQ(post(p, "new-secret", "wamid.N3"), 200);
    EXPECT_EQ(call(p, verb::get, "/v1/tenants/clinic-1/channels/wa-main").status, 200);
    // A new secret: the old one stops working at once.
    ASSERT_EQ(call(p, verb::put, "/v1/tenants/clinic-1/channels/wa-new",
                   R"({"provider":"whatsapp","phone_number_id":"306540352242922",
                       "app_secret":"rotated","verify_token":"vt"})")
                  .status,
              200);
    EXPECT_EQ(post(p, "new-secret", "wamid.N4"), 401);
    EXPECT_EQ(post(p, "rotated", "wamid.N5"), 200);
    EXPECT_EQ(call(p, verb::delete_, "/v1/tenants/clinic-1/channels/wa-new").status, 200);
    EXPECT_EQ(post(p, "rotated", "wamid.N6"), 404);
    gw->signal(SIGKILL);
    EXPECT_EQ(gw->wait_exit(5s), 128 + SIGKILL);
  }
  auto gw = d.start();
  EXPECT_EQ(post(gw->port(), "rotated", "wamid.N7"), 404);
  // The conversation the channel had stays, with what was acknowledged.
  auto conv = call(gw->port(), verb::get, "/v1/conversations/clinic-1/wa-new/+34600111222");
  EXPECT_EQ(conv.status, 200) << conv.body;
  EXPECT_EQ(conv.body.at("messages").as_int64(), 3);  // N1, N3, N5
}

TEST(Directory, WhoMayDoWhat) {
  deployment d;
  auto gw = d.start();
  auto p = gw->port();
  ASSERT_EQ(call(p, verb::put, "/v1/tenants/clinic-1/agents/ana", R"({"role":"admin"})").status,
            201);
  auto tok = call(p, verb::post, "/v1/tenants/clinic-1/agents/ana/tokens");
  auto admin = std::string(tok.body.at("token").as_string());

  EXPECT_EQ(http_request(p, verb::get, "/v1/tenants/clinic-1").result_int(), 401);  // no key
  EXPECT_EQ(call(p, verb::get, "/v1/tenants/clinic-1", {}, "gwt_wrong").status, 401);
  // An admin agent: its tenant yes, another tenant no, new tenants no.
  EXPECT_EQ(call(p, verb::get, "/v1/tenants/clinic-1", {}, admin).status, 200);
  EXPECT_EQ(call(p, verb::get, "/v1/tenants/clinic-2", {}, admin).status, 403);
  EXPECT_EQ(
      call(p, verb::put, "/v1/tenants/clinic-2/agents/eve", R"({"role":"admin"})", admin).status,
      403);
  EXPECT_EQ(call(p, verb::post, "/v1/tenants", R"({"id":"clinic-3"})", admin).status, 403);
  EXPECT_EQ(call(p, verb::get, "/v1/tenants/clinic-2").body.at("agents").as_array().size(), 0u);
}

}  // namespace
}  // namespace gw::test

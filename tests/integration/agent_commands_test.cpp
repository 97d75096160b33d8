// Agent commands over a real WebSocket against the real binary: send, note,
// assign, close, reopen, mark; who may touch which conversation; repeated
// command ids; and that answered commands survive SIGKILL.
#include <gtest/gtest.h>
#include <signal.h>

#include <boost/json.hpp>
#include <fstream>

#include "tests/support/agent.hpp"
#include "tests/support/clients.hpp"
#include "tests/support/process.hpp"
#include "tests/support/whatsapp.hpp"

namespace gw::test {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

constexpr std::string_view operator_key = "operator-key-1";
constexpr std::string_view secret = "meta-app-secret";
const std::string patient_cv = "wa-main:+34600111222";

struct deployment {
  deployment() {
    std::ofstream(dir.path() + "/gateway.json")
        << R"({"admin": {"key": ")" << operator_key << R"("},
      "channels": [
        {"id": "wa-main", "provider": "whatsapp", "tenant": "clinic-1",
         "phone_number_id": "106540352242922", "app_secret": ")"
        << secret << R"(", "verify_token": "v",
         "access_token": "t", "api_base_url": "http://127.0.0.1:1"},
        {"id": "wa-side", "provider": "whatsapp", "tenant": "clinic-1",
         "phone_number_id": "206540352242922", "app_secret": ")"
        << secret << R"(", "verify_token": "v"},
        {"id": "wa-other", "provider": "whatsapp", "tenant": "clinic-2",
         "phone_number_id": "306540352242922", "app_secret": "x", "verify_token": "v"}],
      "agents": [
        {"tenant": "clinic-1", "id": "ana", "role": "admin", "token": "token-ana-000000001"},
        {"tenant": "clinic-1", "id": "bo", "channels": ["wa-main"], "token": "token-bo-0000000002"},
        {"tenant": "clinic-1", "id": "cy", "channels": ["wa-side"], "token": "token-cy-0000000003"}]})";
  }
  std::unique_ptr<gateway_process> start() {
    // wa-main sends to a closed port, so its messages stay queued (retrying).
    return std::make_unique<gateway_process>(
        std::vector<std::string>{"--config", dir.path() + "/gateway.json", "--data-dir",
                                 dir.path() + "/data"},
        std::vector<std::string>{"GATEWAY_OUTBOUND_MAX_ATTEMPTS=1000"});
  }
  temp_dir dir;
};

// The patient writes first: a signed WhatsApp text creates the conversation.
void patient_writes(std::uint16_t port, std::string_view wamid) {
  auto res = post_whatsapp_text(port, "wa-main", "106540352242922", secret, "34600111222", wamid,
                                "Can I come at 10?");
  ASSERT_EQ(res.result_int(), 200) << res.body();
}

json::object admin_view(std::uint16_t port) {
  auto res = http_request(port, http::verb::get, "/v1/conversations/clinic-1/wa-main/+34600111222",
                          {}, {{"Authorization", "Bearer " + std::string(operator_key)}});
  EXPECT_EQ(res.result_int(), 200u) << res.body();
  return json::parse(res.body()).as_object();
}

TEST(AgentCommands, SendNoteAssignCloseReopenMarkAndTheySurviveSigkill) {
  deployment d;
  std::string sent_id;
  {
    auto gw = d.start();
    auto port = gw->port();
    patient_writes(port, "wamid.P1");
    agent bo(port, "token-bo-0000000002");

    auto sent =
        bo.call(R"({"c":"send","id":"s1","cv":")" + patient_cv + R"(","tx":"See you at 10."})");
    ASSERT_EQ(code(sent), "ok") << json::serialize(sent);
    const auto& m = sent.at("m").as_object();
    EXPECT_EQ(m.at("d").as_string(), "out");
    EXPECT_EQ(m.at("st").as_string(), "queued");  // handed to the outbound queue
    EXPECT_EQ(m.at("tx").as_string(), "See you at 10.");
    EXPECT_EQ(m.at("au").as_string(), "bo");
    EXPECT_EQ(m.at("seq").as_int64(), 2);
    sent_id = std::string(m.at("m").as_string());

    // The same command id again: the first answer, marked, nothing stored.
    auto again =
        bo.call(R"({"c":"send","id":"s1","cv":")" + patient_cv + R"(","tx":"See you at 10."})");
    EXPECT_TRUE(again.at("dup").as_bool());
    EXPECT_EQ(again.at("m").at("m").as_string(), sent_id);

    auto note =
        bo.call(R"({"c":"note","id":"n1","cv":")" + patient_cv + R"(","tx":"Prefers mornings"})");
    EXPECT_EQ(note.at("m").at("d").as_string(), "note");
    EXPECT_TRUE(note.at("m").at("st").is_null());

    auto view = admin_view(port);
    EXPECT_EQ(view.at("seq").as_int64(), 3);
    EXPECT_EQ(view.at("messages").as_int64(), 2);  // the patient's and ours; notes are not messages

    agent ana(port, "token-ana-000000001");
    EXPECT_EQ(code(ana.call(R"({"c":"assign","id":"a1","cv":")" + patient_cv + R"(","ag":"bo"})")),
              "ok");
    auto closed = bo.call(R"({"c":"close","id":"c1","cv":")" + patient_cv + R"("})");
    EXPECT_EQ(closed.at("c").at("st").as_string(), "closed");
    EXPECT_EQ(closed.at("c").at("as").as_string(), "bo");
    auto closed_again = bo.call(R"({"c":"close","id":"c2","cv":")" + patient_cv + R"("})");
    EXPECT_EQ(closed_again.at("c").at("seq").as_int64(), closed.at("c").at("seq").as_int64());
    EXPECT_EQ(bo.call(R"({"c":"reopen","id":"r1","cv":")" + patient_cv + R"("})")
                  .at("c")
                  .at("st")
                  .as_string(),
              "open");
    EXPECT_EQ(bo.call(R"({"c":"mark","id":"k1","cv":")" + patient_cv + R"(","st":"pending"})")
                  .at("c")
                  .at("st")
                  .as_string(),
              "pending");
    gw->signal(SIGKILL);
    EXPECT_EQ(gw->wait_exit(5s), 128 + SIGKILL);
  }
  auto gw = d.start();
  auto view = admin_view(gw->port());
  EXPECT_EQ(view.at("status").as_string(), "pending");
  EXPECT_EQ(view.at("assignee").as_string(), "bo");
  EXPECT_EQ(view.at("messages").as_int64(), 2);
  // After the restart the conversation still knows the command id.
  agent bo(gw->port(), "token-bo-0000000002");
  auto again =
      bo.call(R"({"c":"send","id":"s1","cv":")" + patient_cv + R"(","tx":"See you at 10."})");
  EXPECT_TRUE(again.at("dup").as_bool());
  EXPECT_EQ(again.at("m").at("m").as_string(), sent_id);
  EXPECT_EQ(admin_view(gw->port()).at("messages").as_int64(), 2);
}

TEST(AgentCommands, WhoMayTouchWhichConversation) {
  deployment d;
  auto gw = d.start();
  auto port = gw->port();
  patient_writes(port, "wamid.P2");
  agent ana(port, "token-ana-000000001");
  agent bo(port, "token-bo-0000000002");
  agent cy(port, "token-cy-0000000003");

  auto send = [&](agent& a, std::string_view id, std::string_view cv) {
    return code(a.call(R"({"c":"send","id":")" + std::string(id) + R"(","cv":")" + std::string(cv) +
                       R"(","tx":"hello"})"));
  };
  EXPECT_EQ(send(cy, "x1", patient_cv), "forbidden");                // cy may not use wa-main
  EXPECT_EQ(send(cy, "x0", "wa-side:+34600111222"), "unavailable");  // wa-side cannot send
  EXPECT_EQ(send(bo, "x2", "wa-main:+34999999999"), "not_found");    // no such conversation
  EXPECT_EQ(send(ana, "x3", "wa-other:+34600111222"), "not_found");  // another tenant's channel
  EXPECT_EQ(code(ana.call(R"({"c":"assign","id":"x4","cv":")" + patient_cv + R"(","ag":"zed"})")),
            "not_found");
  EXPECT_EQ(
      code(ana.call(R"({"c":"assign","id":"x5","cv":")" + patient_cv + R"(","tm":"ghosts"})")),
      "not_found");

  // A team conversation is invisible to agents outside the team.
  ASSERT_LT(http_request(port, http::verb::put, "/v1/tenants/clinic-1/teams/front",
                         R"({"members":["ana"]})",
                         {{"Authorization", "Bearer " + std::string(operator_key)}})
                .result_int(),
            300u);
  EXPECT_EQ(code(ana.call(R"({"c":"assign","id":"a1","cv":")" + patient_cv + R"(","tm":"front"})")),
            "ok");
  EXPECT_EQ(send(bo, "x6", patient_cv), "not_found");
  EXPECT_EQ(send(ana, "x7", patient_cv), "ok");  // admins see everything
  // Back to no team, assigned to ana; with segmentation on, bo cannot touch it.
  EXPECT_EQ(code(ana.call(R"({"c":"assign","id":"a2","cv":")" + patient_cv +
                          R"(","ag":"ana","tm":null})")),
            "ok");
  EXPECT_EQ(send(bo, "x8", patient_cv), "ok");
  ASSERT_LT(http_request(port, http::verb::patch, "/v1/tenants/clinic-1", R"({"segmented":true})",
                         {{"Authorization", "Bearer " + std::string(operator_key)}})
                .result_int(),
            300u);
  EXPECT_EQ(send(bo, "x9", patient_cv), "not_found");
  // Nothing refused was stored: the patient's message and x7, x8.
  EXPECT_EQ(admin_view(port).at("messages").as_int64(), 3);

  // Reads obey the same rules: segmented, bo lists nothing of ana's.
  auto listed = bo.call(R"({"c":"list","id":"l1","v":"new"})");
  EXPECT_TRUE(listed.at("items").as_array().empty()) << json::serialize(listed);
  EXPECT_EQ(code(bo.call(R"({"c":"list","id":"l2","v":"closed"})")), "forbidden");
  EXPECT_EQ(code(bo.call(R"({"c":"hist","id":"h1","cv":")" + patient_cv + R"("})")), "not_found");
  EXPECT_EQ(ana.call(R"({"c":"list","id":"l3","v":"mine"})").at("items").as_array().size(), 1u);
}

}  // namespace
}  // namespace gw::test

// Events to agents over real WebSockets: webhooks become `ev` frames in
// tenant-offset order, each conversation's in seq order; a reconnecting
// agent resumes with exactly what it missed; another team's conversation is
// not delivered; a foreign epoch gets a resync.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>
#include <map>
#include <set>

#include "tests/support/clients.hpp"
#include "tests/support/process.hpp"
#include "tests/support/whatsapp.hpp"

namespace gw::test {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

constexpr std::string_view operator_key = "operator-key-1";
constexpr std::string_view secret = "meta-app-secret";

class AgentEvents : public ::testing::Test {
 protected:
  void SetUp() override {
    std::ofstream(dir_.path() + "/gateway.json")
        << R"({"admin": {"key": ")" << operator_key << R"("},
      "channels": [{"id": "wa-main", "provider": "whatsapp", "tenant": "clinic-1",
         "phone_number_id": "106540352242922", "app_secret": ")"
        << secret << R"(", "verify_token": "v"}],
      "agents": [
        {"tenant": "clinic-1", "id": "ana", "role": "admin", "token": "token-ana-000000001"},
        {"tenant": "clinic-1", "id": "bo", "token": "token-bo-0000000002"}]})";
    // Two shards: a tenant's offsets become durable out of order.
    gw_ = std::make_unique<gateway_process>(
        std::vector<std::string>{"--config", dir_.path() + "/gateway.json", "--data-dir",
                                 dir_.path() + "/data", "--threads", "2"});
  }

  // One signed webhook with one text from `patient` (digits, no '+').
  void patient_writes(const std::string& patient, const std::string& wamid) {
    auto res = post_whatsapp_text(gw_->port(), "wa-main", "106540352242922", secret, patient, wamid,
                                  "hello " + wamid);
    ASSERT_EQ(res.result_int(), 200u) << res.body();
  }

  std::unique_ptr<ws_client> connect(std::string_view token) {
    auto ws = std::make_unique<ws_client>(gw_->port(), "gw.agent.v1", 5s, 0, std::string(token));
    hello_ = json::parse(ws->read_text()).as_object();
    EXPECT_EQ(hello_.at("t").as_string(), "hello");
    return ws;
  }

  static json::object call(ws_client& ws, const std::string& frame) {
    ws.send_text(frame);
    return json::parse(ws.read_text()).as_object();
  }

  temp_dir dir_;
  std::unique_ptr<gateway_process> gw_;
  json::object hello_;
};

// What an agent has seen: offsets in order, and per conversation the seqs.
struct seen_events {
  std::uint64_t epoch = 0, last = 0;
  std::vector<std::string> wamids;  // message ids, in arrival order
  std::map<std::string, std::int64_t> seq;
  void take(const json::object& ev) {
    ASSERT_EQ(ev.at("t").as_string(), "ev") << json::serialize(ev);
    auto o = ev.at("o").to_number<std::uint64_t>();
    EXPECT_GT(o, last) << "offsets must increase";
    last = o;
    epoch = ev.at("ep").to_number<std::uint64_t>();
    if (ev.at("k").as_string() != "msg") return;
    const auto& m = ev.at("m").as_object();
    auto cv = std::string(ev.at("cv").as_string());
    auto s = m.at("seq").as_int64();
    if (seq.contains(cv)) {
      EXPECT_EQ(s, seq[cv] + 1) << cv << " skipped or repeated an event";
    }
    seq[cv] = s;
    wamids.emplace_back(m.at("tx").as_string());
  }
};

TEST_F(AgentEvents, WebhooksReachSubscribedAgentsInOrder) {
  auto bo = connect("token-bo-0000000002");
  auto ok = call(*bo, R"({"c":"sub","id":"s1","v":["new","mine"]})");
  ASSERT_EQ(ok.at("t").as_string(), "ok") << json::serialize(ok);
  EXPECT_EQ(ok.at("ep"), hello_.at("ep"));
  for (int i = 0; i < 40; ++i)
    patient_writes("3460000000" + std::to_string(i % 8), "w" + std::to_string(i));
  seen_events seen;
  for (int i = 0; i < 40; ++i) seen.take(json::parse(bo->read_text()).as_object());
  EXPECT_EQ(seen.wamids.size(), 40u);
  EXPECT_EQ(seen.seq.size(), 8u);
  std::set<std::string> distinct(seen.wamids.begin(), seen.wamids.end());
  EXPECT_EQ(distinct.size(), 40u);
}

// A sub without `from` starts at the head: what happened before it is for
// list and hist, not replayed (a thousand agents logging in would otherwise
// each be sent the whole kept window).
TEST_F(AgentEvents, ASubWithoutFromStartsLive) {
  for (int i = 0; i < 5; ++i)
    patient_writes("3461000000" + std::to_string(i), "old" + std::to_string(i));
  auto bo = connect("token-bo-0000000002");
  auto ok = call(*bo, R"({"c":"sub","id":"s1","v":["new"]})");
  ASSERT_EQ(ok.at("t").as_string(), "ok");
  EXPECT_GE(ok.at("o").to_number<std::uint64_t>(), 5u);
  patient_writes("34610000009", "new-one");
  auto ev = json::parse(bo->read_text()).as_object();  // the first frame after the ok
  ASSERT_EQ(ev.at("t").as_string(), "ev") << json::serialize(ev);
  EXPECT_EQ(ev.at("m").at("m").as_string(), "new-one");
  EXPECT_GT(ev.at("o").to_number<std::uint64_t>(), ok.at("o").to_number<std::uint64_t>());
}

TEST_F(AgentEvents, ResumeAfterADisconnectDeliversExactlyWhatWasMissed) {
  std::uint64_t epoch = 0, last = 0;
  std::set<std::string> got;
  int sent = 0;
  for (int round = 0; round < 5; ++round) {
    auto bo = connect("token-bo-0000000002");
    std::string sub = R"({"c":"sub","id":"s","v":["new"])";
    if (round > 0)
      sub += R"(,"from":{"ep":)" + std::to_string(epoch) + R"(,"o":)" + std::to_string(last) + "}";
    auto ok = call(*bo, sub + "}");
    ASSERT_EQ(ok.at("t").as_string(), "ok") << json::serialize(ok);
    // While connected, more arrive; all missed ones come first.
    for (int i = 0; i < 6; ++i, ++sent)
      patient_writes("3461000000" + std::to_string(sent % 5), "r" + std::to_string(sent));
    seen_events seen;
    seen.last = last;
    // Read everything sent so far that this session should deliver.
    while (static_cast<int>(got.size()) < sent) {
      auto ev = json::parse(bo->read_text()).as_object();
      seen.take(ev);
      auto tx = seen.wamids.back();
      EXPECT_TRUE(got.insert(tx).second) << tx << " delivered twice";
    }
    epoch = seen.epoch;
    last = seen.last;
    // Messages arriving while the agent is away.
    bo.reset();
    for (int i = 0; i < 4; ++i, ++sent)
      patient_writes("3461000000" + std::to_string(sent % 5), "r" + std::to_string(sent));
  }
  auto bo = connect("token-bo-0000000002");
  call(*bo, R"({"c":"sub","id":"s","v":["new"],"from":{"ep":)" + std::to_string(epoch) +
                R"(,"o":)" + std::to_string(last) + "}}");
  seen_events seen;
  seen.last = last;
  while (static_cast<int>(got.size()) < sent) {
    seen.take(json::parse(bo->read_text()).as_object());
    EXPECT_TRUE(got.insert(seen.wamids.back()).second);
  }
  EXPECT_EQ(static_cast<int>(got.size()), sent);
  bo->send_text(R"({"c":"ping","id":"end"})");  // nothing else was queued before the pong
  EXPECT_EQ(json::parse(bo->read_text()).at("t").as_string(), "pong");
}

TEST_F(AgentEvents, AForeignEpochGetsAResync) {
  auto bo = connect("token-bo-0000000002");
  auto ok = call(*bo, R"({"c":"sub","id":"s","v":["new"],"from":{"ep":1,"o":0}})");
  EXPECT_EQ(ok.at("t").as_string(), "ok");
  auto resync = json::parse(bo->read_text()).as_object();
  EXPECT_EQ(resync.at("t").as_string(), "resync");
  EXPECT_EQ(resync.at("why").as_string(), "epoch");
  EXPECT_EQ(resync.at("ep"), hello_.at("ep"));
  // Live events follow the resync.
  patient_writes("34620000001", "after-resync");
  auto ev = json::parse(bo->read_text()).as_object();
  EXPECT_EQ(ev.at("k").as_string(), "msg");
}

TEST_F(AgentEvents, AnotherTeamsConversationIsNotDelivered) {
  ASSERT_LT(http_request(gw_->port(), http::verb::put, "/v1/tenants/clinic-1/teams/billing",
                         R"({"members":["ana"]})",
                         {{"Authorization", "Bearer " + std::string(operator_key)}})
                .result_int(),
            300u);
  auto bo = connect("token-bo-0000000002");
  call(*bo, R"({"c":"sub","id":"s","v":["new","mine"]})");
  auto ana = connect("token-ana-000000001");
  call(*ana, R"({"c":"sub","id":"s","v":["new","mine","others"]})");
  EXPECT_EQ(call(*bo, R"({"c":"sub","id":"s2","v":["others"]})").at("code").as_string(),
            "forbidden");

  patient_writes("34630000001", "before-team");
  EXPECT_EQ(json::parse(bo->read_text()).at("k").as_string(), "msg");
  EXPECT_EQ(json::parse(ana->read_text()).at("k").as_string(), "msg");
  auto moved = call(*ana, R"({"c":"assign","id":"a1","cv":"wa-main:+34630000001","tm":"billing"})");
  // ana's own stream may deliver the conv event before or after the ok.
  if (moved.at("t").as_string() == "ev") moved = json::parse(ana->read_text()).as_object();
  ASSERT_EQ(moved.at("t").as_string(), "ok") << json::serialize(moved);
  // bo sees the conversation leave (its last visible state), then nothing of it.
  auto leaving = json::parse(bo->read_text()).as_object();
  EXPECT_EQ(leaving.at("k").as_string(), "conv");
  patient_writes("34630000001", "secret-billing");
  patient_writes("34630000002", "public");
  auto next = json::parse(bo->read_text()).as_object();
  EXPECT_EQ(next.at("cv").as_string(), "wa-main:+34630000002");
  EXPECT_EQ(next.at("m").at("tx").as_string(), "hello public");
}

}  // namespace
}  // namespace gw::test

namespace gw::test {
namespace {

// A resume that would not fit in half the session's outbound budget ends in
// a resync instead of a slow-consumer close (which would repeat at every
// reconnect): the client reloads and goes on.
TEST(AgentResume, ABacklogBeyondTheBudgetIsAResyncNotAClose) {
  temp_dir dir;
  std::ofstream(dir.path() + "/gateway.json") << R"({
      "channels": [{"id": "wa-main", "provider": "whatsapp", "tenant": "clinic-1",
         "phone_number_id": "106540352242922", "app_secret": ")"
                                              << secret << R"(", "verify_token": "v"}],
      "agents": [{"tenant": "clinic-1", "id": "bo", "token": "token-bo-0000000002"}]})";
  gateway_process gw({"--config", dir.path() + "/gateway.json"},
                     {"GATEWAY_WS_MAX_OUTBOUND_BYTES=16384"});
  for (int i = 0; i < 60; ++i) {  // ~300 B per event frame: ~18 KB, above 8 KB
    auto res = post_whatsapp_text(gw.port(), "wa-main", "106540352242922", secret,
                                  "3463000000" + std::to_string(i % 5), "b" + std::to_string(i),
                                  "backlog " + std::to_string(i));
    ASSERT_EQ(res.result_int(), 200u);
  }
  ws_client ws(gw.port(), "gw.agent.v1", 5s, 0, "token-bo-0000000002");
  auto hello = json::parse(ws.read_text()).as_object();
  ws.send_text(R"({"c":"sub","id":"s","v":["new"],"from":{"ep":)" +
               json::serialize(hello.at("ep")) + R"(,"o":0}})");
  EXPECT_EQ(json::parse(ws.read_text()).at("t").as_string(), "ok");
  std::size_t replayed = 0;
  json::object last;
  for (;;) {
    last = json::parse(ws.read_text()).as_object();
    if (last.at("t").as_string() != "ev") break;
    ++replayed;
  }
  EXPECT_EQ(last.at("t").as_string(), "resync") << json::serialize(last);
  EXPECT_EQ(last.at("why").as_string(), "gone");
  EXPECT_GT(replayed, 0u);
  EXPECT_LT(replayed, 60u);
  ws.send_text(R"({"c":"ping","id":"p"})");
  EXPECT_EQ(json::parse(ws.read_text()).at("t").as_string(), "pong");  // still open
}

}  // namespace
}  // namespace gw::test

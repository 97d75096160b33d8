// The provider simulator as the outbound tests will use it: sends built by
// the adapters go through the gateway's client pool to the simulator, whose
// answers the adapters classify; its signed status webhooks are accepted by
// the real gateway (so their signatures are right); its counters prove what
// was sent, what was refused, and that no key was sent twice.
#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <boost/json.hpp>
#include <fstream>

#include "adapters/twilio/send.hpp"
#include "adapters/whatsapp_cloud/send.hpp"
#include "gateway/net/http_client.hpp"
#include "tests/support/clients.hpp"
#include "tests/support/process.hpp"

namespace gw::test {
namespace {

namespace json = boost::json;
using adapters::verdict;

constexpr std::string_view pnid = "106540352242922";
constexpr std::string_view app_secret = "sim-app-secret";
constexpr std::string_view access_token = "sim-access-token";
constexpr std::string_view account_sid = "AC00000000000000000000000000000001";
constexpr std::string_view auth_token = "sim-auth-token";

// A gateway that owns the two channels the simulator reports on.
struct gateway_with_channels {
  gateway_with_channels() {
    config = dir.path() + "/gateway.json";
    std::ofstream(config) << R"({"channels": [
        {"id": "wa-main", "provider": "whatsapp", "tenant": "clinic-1",
         "phone_number_id": ")"
                          << pnid << R"(", "app_secret": ")" << app_secret
                          << R"(", "verify_token": "v"},
        {"id": "sms-main", "provider": "twilio", "tenant": "clinic-1",
         "number": "+34910000000", "auth_token": ")"
                          << auth_token << R"(", "account_sid": ")" << account_sid << R"("}]})";
    gw = std::make_unique<gateway_process>(std::vector<std::string>{"--config", config});
  }
  temp_dir dir;
  std::string config;
  std::unique_ptr<gateway_process> gw;
};

std::string sim_config(std::uint16_t gateway_port, std::string_view faults, unsigned wa_rate = 1000,
                       std::string_view statuses = "{}") {
  return R"({"whatsapp": [{"phone_number_id": ")" + std::string(pnid) + R"(", "access_token": ")" +
         std::string(access_token) + R"(", "app_secret": ")" + std::string(app_secret) +
         R"(", "webhook_url": "http://127.0.0.1:)" + std::to_string(gateway_port) +
         R"(/webhooks/whatsapp/wa-main", "messages_per_second": )" + std::to_string(wa_rate) +
         R"(, "pair_interval_ms": 6000, "pair_burst": 1}],
    "twilio": [{"account_sid": ")" +
         std::string(account_sid) + R"(", "auth_token": ")" + std::string(auth_token) +
         R"(", "messages_per_second": 1000}],
    "faults": )" +
         std::string(faults) + R"(, "statuses": )" + std::string(statuses) +
         R"(, "duration_s": 120})";
}

// Sends through the pool on this thread's io_context and classifies.
struct sender {
  boost::asio::io_context ioc;
  net::http_client_pool pool{ioc, [] {
                               net::client_options o;
                               o.request_timeout = std::chrono::milliseconds(500);
                               return o;
                             }()};
  net::origin where;

  explicit sender(std::uint16_t sim_port)
      : where(*net::parse_origin("http://127.0.0.1:" + std::to_string(sim_port))) {}

  // Sends every call at once; returns the verdicts in call order.
  std::vector<adapters::send_result> send_all(
      const std::vector<adapters::http_call>& calls,
      adapters::send_result (*read)(const adapters::http_reply&)) {
    std::vector<adapters::send_result> out(calls.size());
    std::size_t done = 0;
    for (std::size_t i = 0; i < calls.size(); ++i)
      pool.request(where, calls[i], [&, i, read](net::client_result r) {
        out[i] = read(r.reply);
        fprintf(stderr, "%zu %s written=%d reused=%d\n", i, r.error.c_str(), r.written, r.reused);
        ++done;
      });
    auto deadline = std::chrono::steady_clock::now() + 20s;
    ioc.restart();
    while (done < calls.size() && std::chrono::steady_clock::now() < deadline) ioc.run_for(10ms);
    EXPECT_EQ(done, calls.size());
    return out;
  }
};

adapters::http_call whatsapp_text(std::string id, std::string to) {
  adapters::outbound_message m;
  m.id = std::move(id);
  m.from = std::string(pnid);
  m.to = std::move(to);
  m.text = "Su cita es mañana a las 10:00";
  return std::get<adapters::http_call>(adapters::whatsapp_cloud::build_send(
      m, {.access_token = std::string(access_token), .api_version = "v21.0"}));
}

json::object stats(std::uint16_t port) {
  return json::parse(http_get(port, "/sim/stats").body()).as_object();
}

std::int64_t at(const json::object& o, std::initializer_list<std::string_view> path) {
  const json::value* v = nullptr;
  const json::object* cur = &o;
  for (auto k : path) {
    v = cur->if_contains(k);
    if (!v) return 0;
    if (v->is_object()) cur = &v->get_object();
  }
  return v->to_number<std::int64_t>();
}

// Statuses the gateway verified and took: applied, or (arriving after a
// later one on another connection) acknowledged as changing nothing.
// Statuses the gateway answered 200 for: applied, ignored, or duplicates
// (a late `sent` after its `delivered` changes nothing: the simulator's
// callbacks travel on several connections and may arrive out of order).
double statuses_taken(std::uint16_t port, std::string_view channel) {
  auto label = "{channel=\"" + std::string(channel) + "\"";
  return metric(port, "gateway_webhook_events_total" + label + ",kind=\"status\"}") +
         metric(port, "gateway_webhook_ignored_statuses_total" + label + "}") +
         metric(port, "gateway_webhook_duplicates_total" + label + "}");
}

TEST(ProviderSim, WhatsAppSendsAreAcceptedOnceAndTheirStatusesReachTheGateway) {
  gateway_with_channels g;
  provider_sim_process sim(
      sim_config(g.gw->port(), "{}", 1000, R"({"sent_ms": 1, "delivered_ms": 5, "read_ms": 10})"));
  sender s(sim.port());
  std::vector<adapters::http_call> calls;
  for (int i = 0; i < 40; ++i)
    calls.push_back(whatsapp_text("m-" + std::to_string(i), "+3460000" + std::to_string(1000 + i)));
  calls.push_back(calls.front());  // the same message again: answered from memory
  auto results = s.send_all(calls, adapters::whatsapp_cloud::read_send_reply);
  for (auto& r : results) ASSERT_EQ(r.kind, verdict::accepted) << r.reason;
  EXPECT_EQ(results.back().provider_id, results.front().provider_id);

  // 40 messages x sent, delivered, read: every status is signed right, or
  // the gateway would refuse it.
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (at(stats(sim.port()), {"webhooks", "statuses_delivered"}) < 120 &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(20ms);
  auto st = stats(sim.port());
  EXPECT_EQ(at(st, {"accepted"}), 40);
  EXPECT_EQ(at(st, {"repeats_answered"}), 1);
  EXPECT_EQ(at(st, {"keys_sent_twice"}), 0);
  EXPECT_EQ(at(st, {"webhooks", "statuses_delivered"}), 120);
  // At least every one delivered (a callback the simulator timed out on and
  // sent again is taken twice, the second time as a duplicate).
  EXPECT_GE(statuses_taken(g.gw->port(), "wa-main"), 120);
}

TEST(ProviderSim, FaultsThrottlesAndPairRateAreWhatTheAdaptersExpect) {
  gateway_with_channels g;
  provider_sim_process sim(sim_config(
      g.gw->port(), R"({"error_5xx": 0.3, "timeout": 0.1, "throttle_429": 0.1, "seed": 5})", 1000,
      R"({"enabled": false})"));
  sender s(sim.port());
  std::vector<adapters::http_call> calls;
  for (int i = 0; i < 300; ++i)
    calls.push_back(whatsapp_text("f-" + std::to_string(i), "+3461000" + std::to_string(1000 + i)));
  auto results = s.send_all(calls, adapters::whatsapp_cloud::read_send_reply);
  std::map<verdict, int> kinds;
  int no_reply = 0;
  for (auto& r : results) {
    ++kinds[r.kind];
    no_reply += r.code == "no_reply";
  }
  auto st = stats(sim.port());
  // Every fault the simulator injected came back as the verdict that retries it.
  EXPECT_EQ(kinds[verdict::accepted], at(st, {"accepted"}));
  EXPECT_EQ(kinds[verdict::throttle_channel], at(st, {"faults", "throttle_429"}));
  EXPECT_EQ(no_reply, at(st, {"faults", "timeout"}));
  EXPECT_EQ(kinds[verdict::retry], at(st, {"faults", "error_5xx"}) + at(st, {"faults", "timeout"}));
  EXPECT_GT(at(st, {"faults", "error_5xx"}), 50);  // about 30 % of 300
  EXPECT_GT(at(st, {"faults", "timeout"}), 10);
  EXPECT_EQ(kinds[verdict::failed], 0);
}

TEST(ProviderSim, ThroughputLimitRefusesWithTheProvidersErrorAndIsMeasured) {
  gateway_with_channels g;
  provider_sim_process sim(sim_config(g.gw->port(), "{}", 20, R"({"enabled": false})"));
  sender s(sim.port());
  std::vector<adapters::http_call> calls;
  for (int i = 0; i < 50; ++i)
    calls.push_back(whatsapp_text("t-" + std::to_string(i), "+3462000" + std::to_string(1000 + i)));
  auto results = s.send_all(calls, adapters::whatsapp_cloud::read_send_reply);
  int accepted = 0, throttled = 0;
  for (auto& r : results) {
    accepted += r.kind == verdict::accepted;
    throttled += r.kind == verdict::throttle_channel && r.code == "130429";
  }
  EXPECT_EQ(accepted, 20);
  EXPECT_EQ(throttled, 30);
  auto st = stats(sim.port());
  auto sender_key = "wa:" + std::string(pnid);
  EXPECT_EQ(at(st, {"senders", sender_key, "over_limit"}), 30);
  EXPECT_EQ(at(st, {"senders", sender_key, "max_offered_per_second"}), 50);
}

TEST(ProviderSim, PairRateHoldsOneRecipientOnly) {
  gateway_with_channels g;
  provider_sim_process sim(sim_config(g.gw->port(), "{}", 1000, R"({"enabled": false})"));
  sender s(sim.port());
  auto first =
      s.send_all({whatsapp_text("p-1", "+34699999999")}, adapters::whatsapp_cloud::read_send_reply);
  EXPECT_EQ(first[0].kind, verdict::accepted);
  auto next =
      s.send_all({whatsapp_text("p-2", "+34699999999"), whatsapp_text("p-3", "+34699999998")},
                 adapters::whatsapp_cloud::read_send_reply);
  EXPECT_EQ(next[0].kind, verdict::throttle_recipient);
  EXPECT_EQ(next[0].code, "131056");
  EXPECT_EQ(next[1].kind, verdict::accepted);  // another patient is not held
  EXPECT_EQ(at(stats(sim.port()), {"pair_over_limit"}), 1);
}

TEST(ProviderSim, TwilioSendsAndSignedStatusCallbacks) {
  gateway_with_channels g;
  provider_sim_process sim(
      sim_config(g.gw->port(), "{}", 1000,
                 R"({"sent_ms": 1, "delivered_ms": 5, "failed": 0.5, "failed_code": 30003})"));
  sender s(sim.port());
  adapters::twilio::account acct{
      .sid = std::string(account_sid),
      .auth_token = std::string(auth_token),
      .status_callback =
          "http://127.0.0.1:" + std::to_string(g.gw->port()) + "/webhooks/twilio/sms-main/status"};
  std::vector<adapters::http_call> calls;
  for (int i = 0; i < 20; ++i) {
    adapters::outbound_message m;
    m.id = "sms-" + std::to_string(i);
    m.from = "+34910000000";
    m.to = "+3463000" + std::to_string(1000 + i);
    m.text = "Recordatorio: cita mañana 10:00";
    calls.push_back(std::get<adapters::http_call>(adapters::twilio::build_send(m, acct)));
  }
  auto results = s.send_all(calls, adapters::twilio::read_send_reply);
  for (auto& r : results) {
    ASSERT_EQ(r.kind, verdict::accepted) << r.reason;
    EXPECT_EQ(r.provider_status, "queued");
    EXPECT_TRUE(r.provider_id.starts_with("SM"));
  }
  // Each message: sent, then delivered or failed. Two callbacks each.
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (at(stats(sim.port()), {"webhooks", "statuses_delivered"}) < 40 &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(20ms);
  EXPECT_EQ(at(stats(sim.port()), {"webhooks", "statuses_delivered"}), 40);
  EXPECT_GE(statuses_taken(g.gw->port(), "sms-main"), 40);
}

}  // namespace
}  // namespace gw::test

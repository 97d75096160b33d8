// gateway-load against the real gateway and provider_sim: what it reports
// must match what the gateway did (events journaled, messages delivered,
// replies the simulator accepted), failures must be reported by kind, and
// bad options refused before any load is sent.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>

#include "tests/support/clients.hpp"
#include "tests/support/process.hpp"

namespace gw::test {
namespace {

namespace json = boost::json;

constexpr std::string_view token = "load-agent-token-0001";
constexpr std::string_view admin_key = "load-admin-key-0001";

// A gateway with a WhatsApp channel (its sends go nowhere until a test
// points it at provider_sim), a Twilio channel and one agent.
struct deployment {
  deployment() {
    config = dir.path() + "/gateway.json";
    std::ofstream(config) << R"({"admin": {"key": ")" << admin_key << R"("},
      "ws": {"commands_per_second": 10000, "command_burst": 10000},
      "channels": [
        {"id": "wa-load", "provider": "whatsapp", "tenant": "t1",
         "phone_number_id": "100000000000001", "app_secret": "load-app-secret",
         "verify_token": "v"},
        {"id": "sms-load", "provider": "twilio", "tenant": "t1", "number": "+15550001111",
         "auth_token": "load-auth-token", "account_sid": "AC00000000000000000000000000000000"}],
      "agents": [{"tenant": "t1", "id": "ana", "token": ")"
                          << token << R"("}]})";
    gw = std::make_unique<gateway_process>(std::vector<std::string>{"--config", config});
  }
  temp_dir dir;
  std::string config;
  std::unique_ptr<gateway_process> gw;
};

struct load_run {
  int exit_code;
  json::object report;  // the --json line
  std::string err;
};

load_run load(std::uint16_t port, std::vector<std::string> args) {
  args.insert(args.begin(), {"--port", std::to_string(port), "--json", "--quiet"});
  auto r = run_program(GATEWAY_LOAD_BINARY, args, 60s);
  load_run out{r.exit_code, {}, r.err};
  if (!r.out.empty()) out.report = json::parse(r.out).as_object();
  return out;
}

std::int64_t num(const json::object& o, std::string_view a, std::string_view b = {}) {
  const auto& v = o.at(a);
  return (b.empty() ? v : v.at(b)).to_number<std::int64_t>();
}

std::vector<std::string> whatsapp_args() {
  return {"--channel", "wa-load", "--secret", "load-app-secret"};
}

TEST(GatewayLoad, HelpListsEveryOptionAndBadOptionsAreRefused) {
  auto help = run_program(GATEWAY_LOAD_BINARY, {"--help"}, 10s);
  EXPECT_EQ(help.exit_code, 0);
  for (auto flag : {"--port", "--rate", "--connections", "--provider", "--agents", "--ack-ms",
                    "--reply-rate", "--reply-window", "--bind", "--duration", "--requests",
                    "--json", "--sim-port", "--tenants", "--tick-us"})
    EXPECT_NE(help.out.find(flag), std::string::npos) << flag;

  struct bad {
    std::vector<std::string> args;
    std::string names;
  };
  for (const auto& b : std::vector<bad>{
           {{"--host", "10.1.2.3", "--port", "80"}, "loopback"},
           {{"--port", "80", "--bind", "127.0.0.1,192.168.1.1"}, "192.168.1.1"},
           {{"--port", "80", "--rate", "fast"}, "--rate"},
           {{"--port", "80", "--duration", "601"}, "--duration"},
           {{"--port", "80", "--tick-us", "200000"}, "--tick-us"},
           {{"--port", "80", "--agents", "3"}, "--token"},
           {{"--port", "80", "--provider", "telegram"}, "--provider"},
           {{"--rate", "10"}, "--port"},
           {{"--port", "80", "--tenants", "2", "--provider", "twilio"}, "WhatsApp webhooks only"},
           {{"--port", "80", "--tenants", "2", "--phone-number-id", "pn-1"}, "--phone-number-id"},
           {{"--port", "80", "--frobnicate", "1"}, "--frobnicate"}}) {
    auto r = run_program(GATEWAY_LOAD_BINARY, b.args, 10s);
    EXPECT_EQ(r.exit_code, 2) << b.names;
    EXPECT_NE(r.err.find(b.names), std::string::npos) << r.err;
    EXPECT_TRUE(r.out.empty());
  }
}

TEST(GatewayLoad, ReportsWhatTheGatewayJournaledAndWhatEveryAgentSaw) {
  deployment d;
  auto port = d.gw->port();
  auto args = whatsapp_args();
  args.insert(args.end(),
              {"--rate", "200", "--connections", "4", "--conversations", "20", "--duration", "1.5",
               "--warmup", "0.3", "--agents", "3", "--token", std::string(token)});
  auto r = load(port, args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto& o = r.report;
  auto ok = num(o, "hooks_ok");
  EXPECT_GT(ok, 100);
  EXPECT_EQ(num(o, "hooks_bad"), 0);
  EXPECT_EQ(num(o, "agents_up"), 3);
  // Each measured answer is timed twice: from its schedule, and from its
  // write, which cannot come before the schedule.
  EXPECT_EQ(num(o, "exchange", "n"), num(o, "webhook", "n"));
  EXPECT_GT(num(o, "exchange", "p50_us"), 0);
  EXPECT_LE(num(o, "exchange", "max_us"), num(o, "webhook", "max_us"));
  // An answer is only given once durable: the journal holds at least one
  // event per 200 (the first message of a conversation writes two).
  EXPECT_GE(metric(port, "gateway_journal_events_total"), static_cast<double>(ok));
  // Every group commit is timed.
  double timed = metric(port, "gateway_journal_sync_seconds_count");
  EXPECT_GT(timed, 0);
  EXPECT_EQ(timed, metric(port, "gateway_journal_syncs_total"));
  // Every agent sees every patient message; each carries its send time.
  auto seen = num(o, "messages_in");
  EXPECT_GT(seen, 0);
  EXPECT_LE(seen, 3 * ok);
  EXPECT_EQ(num(o, "delivery", "n"), seen);
  EXPECT_GT(num(o, "delivery", "p50_us"), 0);
  EXPECT_LE(num(o, "delivery", "p50_us"), num(o, "delivery", "p99_us"));
  EXPECT_TRUE(o.at("errors").as_object().empty()) << json::serialize(o);
}

TEST(GatewayLoad, OpenLoopTicksKeepTheRateAndTheirWaitCountsAsLatency) {
  // Sends wake on a 50 ms grid: the rate holds, and each webhook's latency
  // still runs from its exact scheduled time, so the wait for the tick
  // (25 ms on average) shows in it, not in the write-to-answer time.
  deployment d;
  auto args = whatsapp_args();
  args.insert(args.end(), {"--rate", "200", "--connections", "4", "--conversations", "20",
                           "--duration", "1.5", "--warmup", "0.3", "--tick-us", "50000"});
  auto r = load(d.gw->port(), args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto& o = r.report;
  EXPECT_GE(num(o, "hooks_measured"), 0.8 * 200 * 1.5);
  EXPECT_LE(num(o, "hooks_measured"), 1.2 * 200 * 1.5);
  EXPECT_GE(num(o, "webhook", "p50_us") - num(o, "exchange", "p50_us"), 5'000)
      << json::serialize(o);
  EXPECT_TRUE(o.at("errors").as_object().empty()) << json::serialize(o);
}

TEST(GatewayLoad, WithTenantsEachClinicsAgentsSeeOnlyItsOwnPatients) {
  // Two clinics as --tenants 2 names them: channel wa-load-T, phone number
  // id 100000000000001 + T, agents logging in with TOKEN-T.
  temp_dir dir;
  auto config = dir.path() + "/gateway.json";
  std::ofstream(config) << R"({"channels": [
      {"id": "wa-load-0", "provider": "whatsapp", "tenant": "c0",
       "phone_number_id": "100000000000001", "app_secret": "load-app-secret", "verify_token": "v"},
      {"id": "wa-load-1", "provider": "whatsapp", "tenant": "c1",
       "phone_number_id": "100000000000002", "app_secret": "load-app-secret", "verify_token": "v"}],
    "agents": [{"tenant": "c0", "id": "ana", "token": ")"
                        << token << R"(-0"},
               {"tenant": "c1", "id": "luis", "token": ")"
                        << token << R"(-1"}]})";
  gateway_process gw({"--config", config});
  auto args = whatsapp_args();
  args.insert(args.end(), {"--tenants", "2", "--rate", "200", "--connections", "4",
                           "--conversations", "20", "--duration", "1.5", "--warmup", "0.3",
                           "--agents", "4", "--token", std::string(token)});
  auto r = load(gw.port(), args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto& o = r.report;
  EXPECT_EQ(num(o, "tenants"), 2);
  EXPECT_EQ(num(o, "agents_up"), 4);
  auto ok = num(o, "hooks_ok");
  EXPECT_GT(ok, 100);
  // Patients alternate between the clinics.
  auto per_channel = [&](int t) {
    return metric(gw.port(), "gateway_webhook_events_total{channel=\"wa-load-" + std::to_string(t) +
                                 "\",kind=\"message\"}");
  };
  EXPECT_NEAR(per_channel(0), per_channel(1), 1);
  EXPECT_EQ(per_channel(0) + per_channel(1), static_cast<double>(ok));
  // Each message reaches its clinic's two agents, never the other two.
  auto seen = num(o, "messages_in");
  EXPECT_GT(seen, ok);
  EXPECT_LE(seen, 2 * ok);
  EXPECT_TRUE(o.at("errors").as_object().empty()) << json::serialize(o);
}

TEST(GatewayLoad, TwilioWebhooksStopAtTheRequestBudget) {
  deployment d;
  auto r = load(d.gw->port(),
                {"--provider", "twilio", "--channel", "sms-load", "--secret", "load-auth-token",
                 "--requests", "300", "--connections", "8", "--duration", "5", "--warmup", "0"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(num(r.report, "hooks_ok"), 300);  // all of them, and not one more
  EXPECT_EQ(num(r.report, "hooks_bad"), 0);
  EXPECT_EQ(
      metric(d.gw->port(), "gateway_webhook_events_total{channel=\"sms-load\",kind=\"message\"}"),
      300);
  EXPECT_TRUE(r.report.at("errors").as_object().contains(
      "note: the --requests budget ran out (rate measured over the time it lasted)"));
}

TEST(GatewayLoad, RefusalsAreCountedByKindAndChangeNothing) {
  deployment d;
  auto r =
      load(d.gw->port(), {"--channel", "wa-load", "--secret", "not-the-app-secret", "--requests",
                          "50", "--connections", "2", "--duration", "2", "--warmup", "0"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(num(r.report, "hooks_ok"), 0);
  EXPECT_EQ(num(r.report, "hooks_bad"), 50);
  EXPECT_EQ(r.report.at("errors").at("webhook http 401"), 50) << json::serialize(r.report);
  EXPECT_EQ(metric(d.gw->port(), "gateway_journal_events_total"), 0);
  EXPECT_EQ(metric(d.gw->port(),
                   "gateway_webhook_refused_total{channel=\"wa-load\",reason=\"bad_signature\"}"),
            50);

  // Nothing listening: connection failures, by kind, and no hang.
  auto none = load(1, {"--requests", "10", "--connections", "2", "--duration", "0.5"});
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_EQ(num(none.report, "hooks_ok"), 0);
  EXPECT_EQ(none.report.at("errors").at("webhook connect: Connection refused"), 2)
      << json::serialize(none.report);
}

TEST(GatewayLoad, AgentRepliesGoOutThroughTheSimulatorAndTheirStatusesComeBack) {
  // The simulator needs the gateway's port for its status webhooks, and the
  // gateway the simulator's for its sends: the channel learns it by PUT.
  deployment d;
  auto port = d.gw->port();
  provider_sim_process sim(
      R"({"whatsapp": [{"phone_number_id": "100000000000001", "access_token": "load-token",
          "app_secret": "load-app-secret", "messages_per_second": 100000,
          "webhook_url": "http://127.0.0.1:)" +
      std::to_string(port) + R"(/webhooks/whatsapp/wa-load",
          "pair_interval_ms": 1, "pair_burst": 100}],
        "statuses": {"sent_ms": 1, "delivered_ms": 5}, "duration_s": 60})");
  json::object channel{{"provider", "whatsapp"},
                       {"phone_number_id", "100000000000001"},
                       {"app_secret", "load-app-secret"},
                       {"verify_token", "v"},
                       {"access_token", "load-token"},
                       {"api_base_url", "http://127.0.0.1:" + std::to_string(sim.port())},
                       {"messages_per_second", 100000},  // limits lifted
                       {"pair_interval_ms", 1},
                       {"pair_burst", 100}};
  auto put = http_request(port, http::verb::put, "/v1/tenants/t1/channels/wa-load",
                          json::serialize(channel),
                          {{"Authorization", "Bearer " + std::string(admin_key)}});
  ASSERT_LT(put.result_int(), 300u) << put.body();

  // Ten patients write; then two agents keep four replies each in flight.
  auto args = whatsapp_args();
  args.insert(args.end(), {"--requests", "10", "--conversations", "10", "--connections", "2",
                           "--duration", "2", "--warmup", "0"});
  ASSERT_EQ(load(port, args).exit_code, 0);
  auto r = load(
      port, {"--provider", "none", "--channel", "wa-load", "--agents", "2", "--token",
             std::string(token), "--reply-window", "4", "--reply-conversations", "10", "--sim-port",
             std::to_string(sim.port()), "--duration", "1.5", "--warmup", "0.3"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto& o = r.report;
  EXPECT_GT(num(o, "replies_ok"), 0);
  EXPECT_EQ(num(o, "reply_ack", "n"), num(o, "replies_ok"));
  EXPECT_GT(num(o, "reply_sent", "n"), 0)  // the `sent` events came back to the sender
      << json::serialize(o);
  EXPECT_GT(num(o, "sim_accepted"), 0);
  EXPECT_TRUE(o.at("errors").as_object().empty()) << json::serialize(o);
  auto stats = json::parse(http_get(sim.port(), "/sim/stats").body()).as_object();
  EXPECT_EQ(stats.at("keys_sent_twice"), 0);
  EXPECT_GE(stats.at("accepted").to_number<std::int64_t>(), num(o, "sim_accepted"));
}

}  // namespace
}  // namespace gw::test

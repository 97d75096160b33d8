// Sending, end to end: agents' replies leave through the outbound queue to
// provider_sim, under injected faults, and every one ends in a state the
// agent sees (delivered, read, or failed with the provider's code), none
// sent twice, the channel's rate never exceeded (the simulator counts).
// Also: what is refused before anything is stored (a channel that cannot
// send, WhatsApp's closed window, an SMS too long), and a restart in the
// middle of a queue.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <boost/json.hpp>
#include <fstream>
#include <map>

#include "protocol/signatures.hpp"
#include "protocol/twilio_webhook.hpp"
#include "tests/support/agent.hpp"
#include "tests/support/clients.hpp"
#include "tests/support/process.hpp"
#include "tests/support/whatsapp.hpp"

namespace gw::test {
namespace {

namespace json = boost::json;

constexpr std::string_view operator_key = "operator-key-1";
constexpr std::string_view pnid = "106540352242922";
constexpr std::string_view app_secret = "sim-app-secret";
constexpr std::string_view access_token = "sim-access-token";

// A gateway with a WhatsApp channel (wa-main) and an SMS channel. Unless
// `sending` (more members of wa-main, each followed by a comma) names a
// simulator, wa-main is pointed at one started after the gateway (each needs
// the other's port) through the admin API, as an operator would.
struct deployment {
  explicit deployment(const std::string& sending = {}) {
    std::ofstream(dir.path() + "/gateway.json")
        << R"({"admin": {"key": ")" << operator_key << R"("},
      "channels": [
        {"id": "wa-main", "provider": "whatsapp", "tenant": "clinic-1", )"
        << sending << R"(
         "phone_number_id": ")"
        << pnid << R"(", "app_secret": ")" << app_secret << R"(", "verify_token": "v"},
        {"id": "sms-main", "provider": "twilio", "tenant": "clinic-1",
         "number": "+34910000000", "auth_token": "tw-token", "account_sid": "AC1"}],
      "agents": [
        {"tenant": "clinic-1", "id": "bo", "role": "admin", "token": "token-bo-0000000002"}]})";
  }
  // `listen`: a fixed address instead of a free port.
  std::unique_ptr<gateway_process> start(std::vector<std::string> env = {},
                                         const std::string& listen = {}) {
    env.push_back("GATEWAY_OUTBOUND_REQUEST_TIMEOUT_MS=400");
    env.push_back("GATEWAY_WS_COMMANDS_PER_SECOND=10000");  // one agent sends every reply
    env.push_back("GATEWAY_WS_COMMAND_BURST=10000");
    std::vector<std::string> args{"--config", dir.path() + "/gateway.json", "--data-dir",
                                  dir.path() + "/data"};
    if (!listen.empty()) args.insert(args.end(), {"--listen", listen});
    return std::make_unique<gateway_process>(std::move(args), env);
  }
  temp_dir dir;
};

void point_channel_at(std::uint16_t gateway, std::uint16_t sim, unsigned rate) {
  json::object body{{"provider", "whatsapp"},
                    {"phone_number_id", pnid},
                    {"app_secret", app_secret},
                    {"verify_token", "v"},
                    {"access_token", access_token},
                    {"api_base_url", "http://127.0.0.1:" + std::to_string(sim)},
                    {"messages_per_second", rate},
                    // Several replies per patient in a few seconds: the pair
                    // rate is lifted here (the simulator lifts it too).
                    {"pair_interval_ms", 1},
                    {"pair_burst", 1000},
                    {"templates", json::array{"recordatorio_cita:es", "mensaje_libre:es"}}};
  auto res = http_request(gateway, http::verb::put, "/v1/tenants/clinic-1/channels/wa-main",
                          json::serialize(body),
                          {{"Authorization", "Bearer " + std::string(operator_key)}});
  ASSERT_LT(res.result_int(), 300u) << res.body();
}

std::string sim_config(std::uint16_t gateway, std::string_view faults, unsigned rate) {
  return R"({"whatsapp": [{"phone_number_id": ")" + std::string(pnid) + R"(", "access_token": ")" +
         std::string(access_token) + R"(", "app_secret": ")" + std::string(app_secret) +
         R"(", "webhook_url": "http://127.0.0.1:)" + std::to_string(gateway) +
         R"(/webhooks/whatsapp/wa-main", "messages_per_second": )" + std::to_string(rate) +
         R"(, "pair_interval_ms": 1, "pair_burst": 1000}],
    "faults": )" +
         std::string(faults) +
         R"(, "statuses": {"sent_ms": 1, "delivered_ms": 10, "read_ms": 0, "failed": 0.1},
    "duration_s": 120})";
}

json::object sim_stats(std::uint16_t sim) {
  return json::parse(http_get(sim, "/sim/stats").body()).as_object();
}

std::string patient(int i) { return "+3460010" + std::to_string(1000 + i); }

// Patients 0..n-1 write first: their conversations exist, their windows open.
void patients_write(std::uint16_t port, int n) {
  for (int i = 0; i < n; ++i)
    ASSERT_EQ(post_whatsapp_text(port, "wa-main", pnid, app_secret, patient(i).substr(1),
                                 "wamid.IN" + std::to_string(i), "hola")
                  .result_int(),
              200);
}

// `replies` rounds of one reply to each of the patients.
void reply_to_all(agent& a, int patients, int replies) {
  for (int r = 0; r < replies; ++r)
    for (int i = 0; i < patients; ++i) {
      auto ok = a.call(R"({"c":"send","id":"s)" + std::to_string(r) + "-" + std::to_string(i) +
                       R"(","cv":"wa-main:)" + patient(i) + R"(","tx":"respuesta )" +
                       std::to_string(r) + R"("})");
      ASSERT_EQ(code(ok), "ok") << json::serialize(ok);
    }
}

// Patient i's outbound messages by their status (`queued` until sent).
std::map<std::string, int> statuses_of(agent& a, int i) {
  std::map<std::string, int> out;
  auto hist = a.call(R"({"c":"hist","id":"h)" + std::to_string(i) + R"(","cv":"wa-main:)" +
                     patient(i) + R"("})");
  for (const auto& m : hist.at("items").as_array())
    if (m.at("d") == "out") ++out[std::string(m.at("st").as_string())];
  return out;
}

// Patients 0..n-1's outbound messages by their status, added up.
std::map<std::string, int> statuses(agent& a, int patients) {
  std::map<std::string, int> out;
  for (int i = 0; i < patients; ++i)
    for (const auto& [status, n] : statuses_of(a, i)) out[status] += n;
  return out;
}

TEST(Outbound, EveryReplyEndsDeliveredOrFailedUnderFaultsAndNoneIsSentTwice) {
  deployment d;
  // The simulator honours Idempotency-Key: unanswered calls may be retried.
  auto gw = d.start({"GATEWAY_OUTBOUND_UNANSWERED=retry"});
  constexpr int patients = 10, replies = 6, rate = 40;
  provider_sim_process sim(sim_config(
      gw->port(),
      R"({"error_5xx": 0.3, "timeout": 0.1, "burst_429_every_ms": 700, "burst_429_length_ms": 100, "seed": 11})",
      rate));
  point_channel_at(gw->port(), sim.port(), rate);
  patients_write(gw->port(), patients);
  agent bo(gw->port(), "token-bo-0000000002");
  reply_to_all(bo, patients, replies);

  // Every message leaves the queue: delivered, or failed with a reason.
  std::map<std::string, int> seen;
  auto deadline = std::chrono::steady_clock::now() + 60s;
  do {
    std::this_thread::sleep_for(200ms);
    seen = statuses(bo, patients);
  } while (seen["delivered"] + seen["failed"] < patients * replies &&
           std::chrono::steady_clock::now() < deadline);
  EXPECT_EQ(seen["delivered"] + seen["failed"], patients * replies)
      << "queued " << seen["queued"] << ", sent " << seen["sent"];
  EXPECT_GT(seen["delivered"], 0);

  auto st = sim_stats(sim.port());
  auto at = [&](std::string_view a, std::string_view b = {}) {
    const auto& v = st.at(a);
    return b.empty() ? v.to_number<std::int64_t>() : v.at(b).to_number<std::int64_t>();
  };
  EXPECT_EQ(at("keys_sent_twice"), 0);
  EXPECT_EQ(at("accepted"), patients * replies);  // every message was sent, once
  EXPECT_GT(at("faults", "error_5xx"), 0);        // and the faults did happen
  EXPECT_GT(at("faults", "timeout"), 0);
  const auto& sender = st.at("senders").at("wa:" + std::string(pnid)).as_object();
  EXPECT_EQ(sender.at("over_limit").to_number<std::int64_t>(), 0);  // never over its rate
  EXPECT_LE(sender.at("max_offered_per_second").to_number<std::int64_t>(), rate);

  // The failures are the simulator's delivery failures, with its code.
  auto hist = bo.call(R"({"c":"hist","id":"hx","cv":"wa-main:)" + patient(0) + R"("})");
  for (const auto& m : hist.at("items").as_array())
    if (m.at("d") == "out" && m.at("st") == "failed") {
      EXPECT_EQ(m.at("err").at("code"), "131026") << json::serialize(m);
    }
}

TEST(Outbound, RefusedBeforeAnythingIsStored) {
  deployment d;
  auto gw = d.start();
  ASSERT_EQ(
      post_whatsapp_text(gw->port(), "wa-main", pnid, app_secret, "34600111222", "wamid.A", "hola")
          .result_int(),
      200);
  agent bo(gw->port(), "token-bo-0000000002");
  // wa-main has no access_token yet: it receives but cannot send.
  auto no = bo.call(R"({"c":"send","id":"n1","cv":"wa-main:+34600111222","tx":"hi"})");
  EXPECT_EQ(code(no), "unavailable");
  EXPECT_NE(std::string(no.at("msg").as_string()).find("access_token"), std::string::npos);

  provider_sim_process sim(sim_config(gw->port(), "{}", 80));
  point_channel_at(gw->port(), sim.port(), 80);
  // A conversation the patient never wrote in (a status created it): the
  // 24-hour window is closed.
  json::object status{{"id", "wamid.OUT1"},
                      {"status", "delivered"},
                      {"timestamp", "1700000000"},
                      {"recipient_id", "34600999888"}};
  json::object value{{"messaging_product", "whatsapp"},
                     {"metadata", {{"display_phone_number", "1"}, {"phone_number_id", pnid}}},
                     {"statuses", json::array{status}}};
  auto body = json::serialize(json::object{
      {"object", "whatsapp_business_account"},
      {"entry",
       json::array{json::object{
           {"id", "1"},
           {"changes", json::array{json::object{{"field", "messages"}, {"value", value}}}}}}}});
  ASSERT_EQ(http_post(gw->port(), "/webhooks/whatsapp/wa-main", body, "application/json",
                      {{"X-Hub-Signature-256", protocol::meta_signature(app_secret, body)}})
                .result_int(),
            200);
  auto closed = bo.call(R"({"c":"send","id":"w1","cv":"wa-main:+34600999888","tx":"hi"})");
  EXPECT_EQ(code(closed), "window_closed") << json::serialize(closed);
  EXPECT_NE(std::string(closed.at("msg").as_string())
                .find("templates: recordatorio_cita [es], mensaje_libre [es]"),
            std::string::npos)
      << json::serialize(closed);
  // The refusal lists the registered templates for the UI to offer.
  EXPECT_EQ(closed.at("tpl"), (json::array{"recordatorio_cita:es", "mensaje_libre:es"}));
  auto open = bo.call(R"({"c":"send","id":"w2","cv":"wa-main:+34600111222","tx":"hi"})");
  EXPECT_EQ(code(open), "ok") << json::serialize(open);

  // Templates may be sent with the window closed: the reminder with
  // positional variables, and the free-text template whose `motivo`
  // carries the agent's words. Only registered ones, and only on WhatsApp.
  auto reminder =
      bo.call(R"({"c":"send","id":"t1","cv":"wa-main:+34600999888",)"
              R"("tpl":{"n":"recordatorio_cita","lang":"es","vars":["Ana","martes 10:00"]}})");
  ASSERT_EQ(code(reminder), "ok") << json::serialize(reminder);
  EXPECT_EQ(reminder.at("m").at("ty"), "template");
  EXPECT_EQ(reminder.at("m").at("tx"), "Ana\nmartes 10:00");
  EXPECT_EQ(reminder.at("m").at("x").at("tpl").at("n"), "recordatorio_cita");
  auto free_text = bo.call(
      R"({"c":"send","id":"t2","cv":"wa-main:+34600999888",)"
      R"("tpl":{"n":"mensaje_libre","lang":"es","vars":{"motivo":"Llámenos para reprogramar"}}})");
  ASSERT_EQ(code(free_text), "ok") << json::serialize(free_text);
  EXPECT_EQ(free_text.at("m").at("tx"), "Llámenos para reprogramar");
  auto unknown = bo.call(R"({"c":"send","id":"t3","cv":"wa-main:+34600999888",)"
                         R"("tpl":{"n":"promo","lang":"es"}})");
  EXPECT_EQ(code(unknown), "bad_args");
  EXPECT_NE(std::string(unknown.at("msg").as_string()).find("not a template of channel"),
            std::string::npos);
  auto on_sms = bo.call(R"({"c":"send","id":"t4","cv":"sms-main:+34600111222",)"
                        R"("tpl":{"n":"recordatorio_cita","lang":"es"}})");
  EXPECT_EQ(code(on_sms), "bad_args");
  // Both reach the provider as templates and are accepted.
  std::map<std::string, std::string> state;
  auto deadline = std::chrono::steady_clock::now() + 5s;
  do {
    std::this_thread::sleep_for(50ms);
    auto hist = bo.call(R"({"c":"hist","id":"h","cv":"wa-main:+34600999888"})");
    for (const auto& m : hist.at("items").as_array())
      if (m.at("d") == "out") state[std::string(m.at("m").as_string())] = m.at("st").as_string();
  } while ((state.size() < 2 || state.begin()->second == "queued" ||
            state.rbegin()->second == "queued") &&
           std::chrono::steady_clock::now() < deadline);
  ASSERT_EQ(state.size(), 2u);
  for (const auto& [id, st] : state) EXPECT_NE(st, "queued") << id;
  for (const auto& [id, st] : state) EXPECT_NE(st, "failed") << id;

  // SMS: at most ten parts, and the refusal says how many the text needs
  // (checked before the conversation is looked up).
  std::string long_text(1600, 'a');
  auto too_long =
      bo.call(R"({"c":"send","id":"l1","cv":"sms-main:+34600111222","tx":")" + long_text + R"("})");
  EXPECT_EQ(code(too_long), "bad_args");
  EXPECT_NE(std::string(too_long.at("msg").as_string()).find("11 SMS parts"), std::string::npos)
      << json::serialize(too_long);
}

TEST(Outbound, ARestartMidQueueLosesNothingAndSendsNothingTwice) {
  constexpr int patients = 4, replies = 5, rate = 5;  // 20 messages at 5/s: 4 s of queue
  // The simulator first (its statuses go nowhere: this test reads the
  // queue, not deliveries), then a gateway whose config file names it: a
  // restart puts the config's channels back as declared.
  provider_sim_process sim(sim_config(1, "{}", rate));
  deployment d(R"("access_token": ")" + std::string(access_token) +
               R"(", "api_base_url": "http://127.0.0.1:)" + std::to_string(sim.port()) +
               R"(", "messages_per_second": )" + std::to_string(rate) +
               R"(, "pair_interval_ms": 1, "pair_burst": 1000,)");
  auto gw = d.start();
  patients_write(gw->port(), patients);
  {
    agent bo(gw->port(), "token-bo-0000000002");
    reply_to_all(bo, patients, replies);
  }
  std::this_thread::sleep_for(1500ms);  // some sent, most still queued
  gw->signal(SIGKILL);
  ASSERT_EQ(gw->wait_exit(5s), 128 + SIGKILL);
  auto sent_before = sim_stats(sim.port()).at("accepted").to_number<std::int64_t>();
  EXPECT_GT(sent_before, 0);
  EXPECT_LT(sent_before, patients * replies);

  // The restarted gateway listens elsewhere: the simulator's statuses for
  // it are lost (counted), but the queue picks up where it was.
  gw = d.start();
  agent bo(gw->port(), "token-bo-0000000002");
  std::map<std::string, int> seen;
  auto deadline = std::chrono::steady_clock::now() + 30s;
  do {
    std::this_thread::sleep_for(200ms);
    seen = statuses(bo, patients);
  } while (seen["queued"] > 0 && std::chrono::steady_clock::now() < deadline);
  EXPECT_EQ(seen["queued"], 0);
  auto st = sim_stats(sim.port());
  EXPECT_EQ(st.at("accepted").to_number<std::int64_t>(), patients * replies);
  // A message sent just before the kill and re-sent after it is answered
  // from the provider's idempotency memory, never sent again.
  EXPECT_EQ(st.at("keys_sent_twice").to_number<std::int64_t>(), 0);
}

// A full outbound queue refuses new replies up front, with nothing stored.
TEST(Outbound, AFullQueueRefusesNewReplies) {
  deployment d;
  auto gw = d.start({"GATEWAY_OUTBOUND_QUEUE_LIMIT=2", "GATEWAY_OUTBOUND_MAX_ATTEMPTS=1000"});
  point_channel_at(gw->port(), 1, 80);  // nothing listens there: replies stay queued, retrying
  patients_write(gw->port(), 1);
  agent bo(gw->port(), "token-bo-0000000002");
  reply_to_all(bo, 1, 2);
  // The two queued replies reach the queue's shard right after their `ok`.
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (metric(gw->port(), "gateway_outbound_queued") < 2 &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(20ms);
  auto third = bo.call(R"({"c":"send","id":"x3","cv":"wa-main:)" + patient(0) + R"(","tx":"3"})");
  EXPECT_EQ(code(third), "unavailable") << json::serialize(third);
  EXPECT_NE(std::string(third.at("msg").as_string()).find("queue"), std::string::npos);
  auto hist = bo.call(R"({"c":"hist","id":"h","cv":"wa-main:)" + patient(0) + R"("})");
  int out = 0;
  for (const auto& m : hist.at("items").as_array()) out += m.at("d") == "out";
  EXPECT_EQ(out, 2);  // the refused one was not stored
}

// Conversations take turns: one patient's forty replies, queued first on
// a channel paced at 10/s, do not hold back two replies to other patients
// queued right after them (a queue in arrival order would send those last,
// four seconds later).
TEST(Outbound, ABusyConversationDoesNotHoldBackTheOthers) {
  deployment d;
  auto gw = d.start();
  constexpr int rate = 10, busy = 40;
  provider_sim_process sim(sim_config(gw->port(), R"({"seed": 3})", rate));
  point_channel_at(gw->port(), sim.port(), rate);
  patients_write(gw->port(), 3);
  agent bo(gw->port(), "token-bo-0000000002");
  auto send = [&](int p, const std::string& id) {
    auto ok = bo.call(R"({"c":"send","id":")" + id + R"(","cv":"wa-main:)" + patient(p) +
                      R"(","tx":"respuesta"})");
    ASSERT_EQ(code(ok), "ok") << json::serialize(ok);
  };
  const auto first_sent = std::chrono::steady_clock::now();
  for (int i = 0; i < busy; ++i) send(0, "busy-" + std::to_string(i));
  send(1, "other-1");
  send(2, "other-2");
  // Whole seconds the sends took to queue (0 unless the machine is slow):
  // the limiter lets `rate` calls go in each, all of them the busy one's.
  const auto queueing = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::steady_clock::now() - first_sent)
                            .count();
  // Patient p's replies still queued.
  auto queued = [&](int p) { return statuses_of(bo, p)["queued"]; };
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while (queued(0) + queued(1) + queued(2) > 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(50ms);
  ASSERT_EQ(queued(0) + queued(1) + queued(2), 0);
  // The order the provider took them in, whatever the machine's speed: the
  // simulator numbers its message ids in order, zero-padded.
  auto provider_ids = [&](int p) {
    auto res = http_request(gw->port(), http::verb::get,
                            "/v1/conversations/clinic-1/wa-main/" + patient(p), {},
                            {{"Authorization", "Bearer " + std::string(operator_key)}});
    const auto conv = json::parse(res.body());
    std::vector<std::string> ids;
    for (const auto& [id, delivery] : conv.at("deliveries").as_object()) ids.emplace_back(id);
    return ids;
  };
  const auto busy_ids = provider_ids(0), first = provider_ids(1), second = provider_ids(2);
  ASSERT_EQ(busy_ids.size(), static_cast<std::size_t>(busy));
  ASSERT_EQ(first.size(), 1u);
  ASSERT_EQ(second.size(), 1u);
  const auto& last_other = std::max(first[0], second[0]);
  const auto before = std::count_if(busy_ids.begin(), busy_ids.end(),
                                    [&](const std::string& id) { return id < last_other; });
  // The limiter lets a second's calls go at once: the busy conversation's
  // first ten left before the others were queued, and the others took their
  // turns in the next second's calls. So at most two seconds' worth of the
  // busy conversation's replies went before them, more only if queueing
  // took longer (in arrival order: all of them).
  const auto gone_at_most = static_cast<int>(rate * (2 + queueing));
  ASSERT_LT(gone_at_most, busy) << "the sends took " << queueing
                                << " s to queue: too slow to tell the orders apart";
  EXPECT_LE(before, gone_at_most) << "the busy conversation's replies went first";
}

// SMS through Twilio: the StatusCallback the gateway asks for (its public
// URL) brings signed delivery statuses back.
TEST(Outbound, TwilioSmsWithStatusCallbacks) {
  std::uint16_t port;
  {  // a free port for the gateway, known before it starts: the sim and the
     // StatusCallback URL need it
    boost::asio::io_context ioc;
    boost::asio::ip::tcp::acceptor a(ioc, {boost::asio::ip::make_address("127.0.0.1"), 0});
    port = a.local_endpoint().port();
  }
  const std::string base = "http://127.0.0.1:" + std::to_string(port);
  provider_sim_process sim(
      R"({"twilio": [{"account_sid": "AC1", "auth_token": "tw-token", "messages_per_second": 100}],
          "statuses": {"sent_ms": 1, "delivered_ms": 5}, "duration_s": 60})");
  deployment d;
  auto gw =
      d.start({"GATEWAY_WEBHOOKS_PUBLIC_BASE_URL=" + base}, "127.0.0.1:" + std::to_string(port));
  ASSERT_EQ(gw->port(), port);
  ASSERT_LT(http_request(port, http::verb::put, "/v1/tenants/clinic-1/channels/sms-main",
                         R"({"provider":"twilio","number":"+34910000000","auth_token":"tw-token",)"
                         R"("account_sid":"AC1","cost_per_segment":8,"max_segments":2,)"
                         R"("api_base_url":"http://127.0.0.1:)" +
                             std::to_string(sim.port()) + R"("})",
                         {{"Authorization", "Bearer " + std::string(operator_key)}})
                .result_int(),
            300u);
  // The patient texts first (a signed Twilio inbound SMS).
  protocol::form_params in{{"MessageSid", "SMin1"},
                           {"AccountSid", "AC1"},
                           {"From", "+34600111222"},
                           {"To", "+34910000000"},
                           {"Body", "hola"}};
  auto res =
      http_post(port, "/webhooks/twilio/sms-main", protocol::encode_form(in),
                "application/x-www-form-urlencoded",
                {{"X-Twilio-Signature",
                  protocol::twilio_signature("tw-token", base + "/webhooks/twilio/sms-main", in)}});
  ASSERT_EQ(res.result_int(), 200) << res.body();

  agent bo(port, "token-bo-0000000002");
  // Each answer says how the SMS travels and what it costs (8 per part).
  auto send = [&](std::string id, std::string text) {
    return bo.call(R"({"c":"send","id":")" + id + R"(","cv":"sms-main:+34600111222","tx":")" +
                   text + R"("})");
  };
  // The channel is priced and its prepaid balance is empty: refused, with
  // the balance, nothing stored.
  auto broke = send("a", "Su cita es mañana a las 10:00");
  ASSERT_EQ(code(broke), "insufficient_balance") << json::serialize(broke);
  EXPECT_EQ(broke.at("bal"), 0);
  auto top_up = http_request(
      port, http::verb::post, "/v1/tenants/clinic-1/channels/sms-main/balance/top-ups",
      R"({"amount":100,"key":"tu-1"})", {{"Authorization", "Bearer " + std::string(operator_key)}});
  ASSERT_EQ(top_up.result_int(), 201) << top_up.body();
  auto gsm = send("a", "Su cita es mañana a las 10:00");
  ASSERT_EQ(code(gsm), "ok") << json::serialize(gsm);
  EXPECT_EQ(gsm.at("sms"), (json::object{{"enc", "GSM-7"}, {"parts", 1}}));
  EXPECT_EQ(gsm.at("cost"), 8);
  auto ucs = send("b", "Traumatología, planta 2 😊 " + std::string(60, 'x'));  // 87 UTF-16 units
  ASSERT_EQ(code(ucs), "ok") << json::serialize(ucs);
  EXPECT_EQ(ucs.at("sms"), (json::object{{"enc", "UCS-2"}, {"parts", 2}}));
  EXPECT_EQ(ucs.at("cost"), 16);
  ASSERT_EQ(code(send("c", "ok")), "ok");
  // The channel allows two parts: a third is refused, nothing stored.
  auto three = send("d", std::string(307, 'x'));
  EXPECT_EQ(code(three), "bad_args");
  EXPECT_NE(std::string(three.at("msg").as_string()).find("at most 2"), std::string::npos);
  // WhatsApp's pair rate (one message per recipient per 6 s by default)
  // does not apply to SMS: three replies to one patient go at once, well
  // within 5 s (paced, they would take 12 s).
  int delivered = 0;
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (delivered < 3 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(100ms);
    delivered = 0;
    auto hist = bo.call(R"({"c":"hist","id":"h","cv":"sms-main:+34600111222"})");
    for (const auto& m : hist.at("items").as_array())
      delivered += m.at("d") == "out" && m.at("st") == "delivered";
  }
  EXPECT_EQ(delivered, 3);
  auto st = sim_stats(sim.port());
  EXPECT_EQ(st.at("accepted").to_number<std::int64_t>(), 3);
  EXPECT_EQ(st.at("webhooks").at("statuses_delivered").to_number<std::int64_t>(), 6);
  // Paid once each: 8 + 16 + 8 committed, nothing held.
  auto balance = json::parse(
      http_request(port, http::verb::get, "/v1/tenants/clinic-1/channels/sms-main/balance", "",
                   {{"Authorization", "Bearer " + std::string(operator_key)}})
          .body());
  EXPECT_EQ(balance.at("balance"), 68);
  EXPECT_EQ(balance.at("reserved"), 0);
}

// A provider that ignores idempotency keys (as WhatsApp Cloud API and
// Twilio do): a call sent but never answered is not repeated, by default;
// its message fails as `unanswered`, so none is ever sent twice.
TEST(Outbound, AnUnansweredCallIsNeverRepeated) {
  constexpr int patients = 10, replies = 4;
  deployment d;
  auto gw = d.start();
  auto config = sim_config(gw->port(), R"({"timeout_after_send": 0.3, "seed": 5})", 1000);
  config.insert(1, R"("idempotency": "ignore", )");
  provider_sim_process sim(config);
  point_channel_at(gw->port(), sim.port(), 1000);
  patients_write(gw->port(), patients);
  agent bo(gw->port(), "token-bo-0000000002");
  reply_to_all(bo, patients, replies);
  std::map<std::string, int> seen;
  auto deadline = std::chrono::steady_clock::now() + 30s;
  do {
    std::this_thread::sleep_for(200ms);
    seen = statuses(bo, patients);
  } while (seen["queued"] + seen["sent"] > 0 && std::chrono::steady_clock::now() < deadline);
  EXPECT_EQ(seen["queued"], 0);
  EXPECT_GT(seen["failed"], 0);
  auto st = sim_stats(sim.port());
  EXPECT_GT(st.at("faults").at("timeout_after_send").to_number<std::int64_t>(), 0);
  EXPECT_EQ(st.at("keys_sent_twice").to_number<std::int64_t>(), 0);            // never twice
  EXPECT_EQ(st.at("accepted").to_number<std::int64_t>(), patients * replies);  // each once
  // The agent sees why: the provider may have it.
  int unanswered = 0;
  for (int i = 0; i < patients; ++i) {
    auto hist = bo.call(R"({"c":"hist","id":"h","cv":"wa-main:)" + patient(i) + R"("})");
    for (const auto& m : hist.at("items").as_array())
      if (m.at("d") == "out" && m.at("st") == "failed" && m.at("err").at("code") == "unanswered")
        ++unanswered;
  }
  EXPECT_GT(unanswered, 0);
}

// A tenant's cap holds across its channels: two channels allowed 100 calls
// a second each share the tenant's 10.
// outbound.connections_per_origin caps the connections each shard opens to
// a provider, however many messages wait and however slowly it answers; the
// messages still all leave, in turn, over those connections.
TEST(Outbound, ConnectionsPerOriginCapsTheConnectionsToAProvider) {
  constexpr int patients = 20, replies = 3, cap = 2;
  deployment d;
  auto gw = d.start(
      {"GATEWAY_OUTBOUND_CONNECTIONS_PER_ORIGIN=" + std::to_string(cap), "GATEWAY_THREADS=2"});
  provider_sim_process sim(sim_config(gw->port(), R"({"latency_ms": 30})", 1000));
  point_channel_at(gw->port(), sim.port(), 1000);
  patients_write(gw->port(), patients);
  agent bo(gw->port(), "token-bo-0000000002");
  reply_to_all(bo, patients, replies);
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (sim_stats(sim.port()).at("accepted").to_number<int>() < patients * replies &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(100ms);
  auto st = sim_stats(sim.port());
  EXPECT_EQ(st.at("accepted").to_number<int>(), patients * replies);
  EXPECT_EQ(st.at("keys_sent_twice").to_number<int>(), 0);
  // Two shards, `cap` each, and our own stats connection; 60 messages
  // waited at once, 30 ms each, so an uncapped pool would have opened more.
  EXPECT_LE(st.at("max_connections").to_number<int>(), 2 * cap + 1);
  EXPECT_GE(st.at("max_connections").to_number<int>(), 2);
}

TEST(Outbound, TheTenantsLimitHoldsAcrossItsChannels) {
  constexpr int rate = 10, patients = 10, replies = 2;  // 40 messages: about 4 s at 10/s
  provider_sim_process sim(
      R"({"whatsapp": [{"phone_number_id": ")" + std::string(pnid) + R"(", "access_token": ")" +
      std::string(access_token) +
      R"(", "messages_per_second": 1000, "pair_interval_ms": 1, "pair_burst": 1000}],
          "twilio": [{"account_sid": "AC1", "auth_token": "tw-token", "messages_per_second": 1000}],
          "statuses": {"enabled": false}, "duration_s": 60})");
  deployment d;
  auto gw = d.start();
  auto port = gw->port();
  point_channel_at(port, sim.port(), 100);
  auto put = [&](std::string target, std::string body, http::verb v = http::verb::put) {
    return http_request(port, v, std::move(target), std::move(body),
                        {{"Authorization", "Bearer " + std::string(operator_key)}});
  };
  ASSERT_LT(
      put("/v1/tenants/clinic-1/channels/sms-main",
          R"({"provider":"twilio","number":"+34910000000","auth_token":"tw-token",)"
          R"("account_sid":"AC1","messages_per_second":100,"api_base_url":"http://127.0.0.1:)" +
              std::to_string(sim.port()) + R"("})")
          .result_int(),
      300u);
  EXPECT_EQ(
      put("/v1/tenants/clinic-1", R"({"messages_per_second":0})", http::verb::patch).result_int(),
      400);
  auto patched = put("/v1/tenants/clinic-1", R"({"messages_per_second":10})", http::verb::patch);
  ASSERT_EQ(patched.result_int(), 200) << patched.body();
  EXPECT_EQ(json::parse(patched.body()).at("messages_per_second"), rate);

  patients_write(port, patients);  // WhatsApp: their windows open
  agent bo(port, "token-bo-0000000002");
  auto started = std::chrono::steady_clock::now();
  for (int r = 0; r < replies; ++r)
    for (int i = 0; i < patients; ++i) {
      auto id = std::to_string(r) + "-" + std::to_string(i);
      auto ok = bo.call(R"({"c":"send","id":"wa)" + id + R"(","cv":"wa-main:)" + patient(i) +
                        R"(","tx":"respuesta"})");
      ASSERT_EQ(code(ok), "ok") << json::serialize(ok);
      // SMS: reminders from the clinic system (they may open a conversation).
      auto sms =
          put("/v1/tenants/clinic-1/channels/sms-main/messages",
              R"({"to":")" + patient(i) + R"(","key":"sms)" + id + R"(","tx":"recordatorio"})",
              http::verb::post);
      ASSERT_EQ(sms.result_int(), 202) << sms.body();
    }
  auto deadline = started + 20s;
  while (sim_stats(sim.port()).at("accepted").to_number<int>() < 2 * patients * replies &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(100ms);
  auto took = std::chrono::steady_clock::now() - started;
  auto st = sim_stats(sim.port());
  EXPECT_EQ(st.at("accepted").to_number<int>(), 2 * patients * replies);
  // Never more than the tenant's 10 in any one second at the provider, and
  // so 40 calls took more than 3 s (each channel alone would allow 100).
  EXPECT_LE(st.at("max_offered_per_second").to_number<int>(), rate);
  EXPECT_GT(took, 3s);
}

}  // namespace
}  // namespace gw::test

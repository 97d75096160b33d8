// Provider webhooks against the real binary: signed requests stored once and
// acknowledged only when durable (they survive SIGKILL), forged or broken
// ones refused with nothing stored, statuses applied in any order.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <random>
#include <thread>

#include "protocol/signatures.hpp"
#include "protocol/twilio_webhook.hpp"
#include "tests/support/clients.hpp"
#include "tests/support/process.hpp"
#include "tests/support/whatsapp.hpp"

namespace gw::test {
namespace {

namespace json = boost::json;

constexpr std::string_view app_secret = "meta-app-secret";
constexpr std::string_view auth_token = "twilio-auth-token";
constexpr std::string_view admin_key = "admin-key-1";
constexpr std::string_view base_url = "https://gw.example.com";
constexpr std::size_t max_body = 8192;

// A data dir and config that outlive one gateway process.
struct deployment {
  deployment() {
    data = dir.path() + "/data";
    config = dir.path() + "/gateway.json";
    std::ofstream(config) << R"({
      "admin": {"key": ")" << admin_key
                          << R"("},
      "webhooks": {"public_base_url": ")"
                          << base_url << R"(", "max_body_bytes": )" << max_body << R"(},
      "channels": [
        {"id": "wa-main", "provider": "whatsapp", "tenant": "clinic-1",
         "phone_number_id": "106540352242922", "app_secret": ")"
                          << app_secret << R"(", "verify_token": "subscribe-me"},
        {"id": "wa-second", "provider": "whatsapp", "tenant": "clinic-1",
         "phone_number_id": "206540352242922", "app_secret": ")"
                          << app_secret << R"(", "verify_token": "other"},
        {"id": "sms-main", "provider": "twilio", "tenant": "clinic-1",
         "number": "+15550001111", "auth_token": ")"
                          << auth_token
                          << R"(", "account_sid": "AC00000000000000000000000000000001"},
        {"id": "sms-second", "provider": "twilio", "tenant": "clinic-1",
         "number": "+15550002222", "auth_token": ")"
                          << auth_token << R"("},
        {"id": "sms-elsewhere", "provider": "twilio", "tenant": "clinic-2",
         "number": "+15550003333", "auth_token": ")"
                          << auth_token << R"("},
        {"id": "sms-own-account", "provider": "twilio", "tenant": "clinic-1",
         "number": "+15550004444", "auth_token": "another-auth-token"}
      ]})";
  }
  std::unique_ptr<gateway_process> start(std::vector<std::string> env = {}) {
    return std::make_unique<gateway_process>(
        std::vector<std::string>{"--config", config, "--data-dir", data}, std::move(env));
  }
  temp_dir dir;
  std::string data, config;
};

void crash(gateway_process& gw) {
  gw.signal(SIGKILL);
  EXPECT_EQ(gw.wait_exit(5s), 128 + SIGKILL);
}

// ---------------------------------------------------------------- WhatsApp

// The documented envelope around `value` (messages or statuses).
std::string wa_envelope(std::string_view phone_number_id, const json::object& value_fields) {
  json::object value = value_fields;
  value["messaging_product"] = "whatsapp";
  value["metadata"] = {{"display_phone_number", "15550001111"},
                       {"phone_number_id", phone_number_id}};
  json::object change{{"field", "messages"}, {"value", value}};
  json::object entry{{"id", "102290129340398"}, {"changes", json::array{change}}};
  return json::serialize(
      json::object{{"object", "whatsapp_business_account"}, {"entry", json::array{entry}}});
}

std::string wa_messages(std::string_view phone_number_id, json::array messages) {
  json::object value;
  value["messages"] = std::move(messages);
  return wa_envelope(phone_number_id, value);
}

std::string wa_statuses(std::string_view phone_number_id, json::array statuses) {
  json::object value;
  value["statuses"] = std::move(statuses);
  return wa_envelope(phone_number_id, value);
}

json::object wa_text(std::string_view from, std::string_view id, std::string_view body) {
  return {{"from", from},
          {"id", id},
          {"timestamp", whatsapp_now()},
          {"type", "text"},
          {"text", {{"body", body}}}};
}

json::object wa_status(std::string_view id, std::string_view status, std::string_view recipient) {
  return {{"id", id}, {"status", status}, {"timestamp", "1700000100"}, {"recipient_id", recipient}};
}

// A signed WhatsApp webhook for `channel`, for a keep-alive tcp_client.
http::request<http::string_body> wa_request(std::string_view channel, const std::string& body,
                                            std::string_view secret = app_secret) {
  http::request<http::string_body> req{http::verb::post,
                                       "/webhooks/whatsapp/" + std::string(channel), 11};
  req.set(http::field::content_type, "application/json");
  req.set("X-Hub-Signature-256", protocol::meta_signature(secret, body));
  req.body() = body;
  return req;
}

http_response post_wa(std::uint16_t port, std::string_view channel, const std::string& body,
                      std::string_view secret = app_secret) {
  return tcp_client(port).request(wa_request(channel, body, secret));
}

// GET /v1/conversations/...: the JSON, or null when it does not exist.
json::value conversation(std::uint16_t port, std::string_view channel, std::string_view address) {
  tcp_client c(port);
  http::request<http::string_body> req{
      http::verb::get,
      "/v1/conversations/clinic-1/" + std::string(channel) + "/" + std::string(address), 11};
  req.set(http::field::authorization, "Bearer " + std::string(admin_key));
  auto res = c.request(std::move(req));
  if (res.result_int() == 404) return nullptr;
  EXPECT_EQ(res.result_int(), 200) << res.body();
  return json::parse(res.body());
}

std::int64_t field(const json::value& conv, std::string_view name) {
  return conv.as_object().at(name).to_number<std::int64_t>();
}

std::string text_field(const json::value& v, std::string_view name) {
  return std::string(v.as_object().at(name).as_string());
}

// Three messages: two from Ana (text, then an image) to the main number,
// one from Ben to the second number of the same app; Ana's profile name.
std::string three_messages() {
  json::object ana_image{{"from", "34600111222"},
                         {"id", "wamid.ANA2"},
                         {"timestamp", whatsapp_now()},
                         {"type", "image"},
                         {"image",
                          {{"id", "1479537139650973"},
                           {"mime_type", "image/jpeg"},
                           {"sha256", "abc"},
                           {"caption", "my rash"}}}};
  json::object main{
      {"contacts", json::array{{{"profile", {{"name", "Ana García"}}}, {"wa_id", "34600111222"}}}},
      {"messages", json::array{wa_text("34600111222", "wamid.ANA1", "Hola, ¿tienen cita el lunes?"),
                               ana_image}}};
  json::object second{{"messages", json::array{wa_text("34600333444", "wamid.BEN1", "hello")}}};
  // Two entries in one request, as Meta batches them.
  auto a = json::parse(wa_envelope("106540352242922", main)).as_object();
  auto b = json::parse(wa_envelope("206540352242922", second)).as_object();
  a["entry"].as_array().push_back(b["entry"].as_array()[0]);
  return json::serialize(a);
}

TEST(Webhooks, WhatsAppSubscriptionHandshake) {
  deployment d;
  auto gw = d.start();
  auto ok = http_get(gw->port(),
                     "/webhooks/whatsapp/wa-main?hub.mode=subscribe&hub.verify_token=subscribe-me"
                     "&hub.challenge=1158201444");
  EXPECT_EQ(ok.result_int(), 200);
  EXPECT_EQ(ok.body(), "1158201444");
  auto wrong = http_get(gw->port(),
                        "/webhooks/whatsapp/wa-main?hub.mode=subscribe&hub.verify_token=nope"
                        "&hub.challenge=1158201444");
  EXPECT_EQ(wrong.result_int(), 403);
  EXPECT_EQ(wrong.body().find("1158201444"), std::string::npos);
  EXPECT_EQ(http_get(gw->port(), "/webhooks/whatsapp/wa-main?hub.challenge=1").result_int(), 400);
  EXPECT_EQ(http_get(gw->port(),
                     "/webhooks/whatsapp/sms-main?hub.mode=subscribe&hub.verify_"
                     "token=x&hub.challenge=1")
                .result_int(),
            404);
}

TEST(Webhooks, WhatsAppAcknowledgedMessagesSurviveSigkillAndRetriesStayOnce) {
  deployment d;
  const auto body = three_messages();
  {
    auto gw = d.start();
    auto res = post_wa(gw->port(), "wa-main", body);
    ASSERT_EQ(res.result_int(), 200) << res.body();
    auto ana = conversation(gw->port(), "wa-main", "+34600111222");
    ASSERT_TRUE(ana.is_object());
    EXPECT_EQ(field(ana, "messages"), 2);
    EXPECT_EQ(text_field(ana, "contact_name"), "Ana García");
    EXPECT_TRUE(ana.as_object().at("window_open").as_bool());
    auto ben = conversation(gw->port(), "wa-second", "+34600333444");
    ASSERT_TRUE(ben.is_object());
    EXPECT_EQ(field(ben, "messages"), 1);

    // Meta retries the same delivery: 200, nothing new.
    EXPECT_EQ(post_wa(gw->port(), "wa-main", body).result_int(), 200);
    EXPECT_EQ(field(conversation(gw->port(), "wa-main", "+34600111222"), "seq"), 2);
    EXPECT_EQ(metric(gw->port(), R"(gateway_webhook_duplicates_total{channel="wa-main"})"), 3);
    EXPECT_EQ(
        metric(gw->port(), R"(gateway_webhook_events_total{channel="wa-main",kind="message"})"), 3);
    // The 200 above was the promise; no graceful shutdown keeps it.
    crash(*gw);
  }
  auto gw = d.start();
  auto ana = conversation(gw->port(), "wa-main", "+34600111222");
  ASSERT_TRUE(ana.is_object());
  EXPECT_EQ(field(ana, "messages"), 2);
  EXPECT_EQ(field(ana, "inbound_ids"), 2);
  EXPECT_EQ(text_field(ana, "contact_name"), "Ana García");
  EXPECT_EQ(field(conversation(gw->port(), "wa-second", "+34600333444"), "messages"), 1);
  // The dedupe state survived too: a retry after the restart stores nothing.
  EXPECT_EQ(post_wa(gw->port(), "wa-main", body).result_int(), 200);
  EXPECT_EQ(field(conversation(gw->port(), "wa-main", "+34600111222"), "seq"), 2);
  EXPECT_EQ(metric(gw->port(), R"(gateway_webhook_duplicates_total{channel="wa-main"})"), 3);
}

// Meta retries a delivery for days after an outage: a message sent 25 hours
// ago and delivered now must not open WhatsApp's 24-hour window (Meta
// would refuse a free-form reply to it). The window runs from Meta's
// `timestamp`, through a SIGKILL.
TEST(Webhooks, AMessageDeliveredLateOpensTheWindowFromWhenItWasSent) {
  deployment d;
  const auto now_s = std::stoll(whatsapp_now());
  auto sent = [&](std::string id, std::int64_t ago_s) {
    auto m = wa_text("34600555666", id, "¿sigue en pie mi cita?");
    m["timestamp"] = std::to_string(now_s - ago_s);
    return wa_messages("106540352242922", json::array{m});
  };
  auto expect_window = [&](gateway_process& gw, std::int64_t ago_s, bool open) {
    auto c = conversation(gw.port(), "wa-main", "+34600555666");
    ASSERT_TRUE(c.is_object());
    EXPECT_EQ(field(c, "last_inbound_ms"), (now_s - ago_s) * 1000);
    EXPECT_EQ(c.as_object().at("window_open").as_bool(), open);
  };
  {
    auto gw = d.start();
    ASSERT_EQ(post_wa(gw->port(), "wa-main", sent("wamid.LATE1", 25 * 3600)).result_int(), 200);
    expect_window(*gw, 25 * 3600, false);
    ASSERT_EQ(post_wa(gw->port(), "wa-main", sent("wamid.LATE2", 2 * 3600)).result_int(), 200);
    expect_window(*gw, 2 * 3600, true);
    // An older message arriving after a newer one does not move it back.
    ASSERT_EQ(post_wa(gw->port(), "wa-main", sent("wamid.LATE3", 5 * 3600)).result_int(), 200);
    expect_window(*gw, 2 * 3600, true);
    crash(*gw);
  }
  auto gw = d.start();
  expect_window(*gw, 2 * 3600, true);
  EXPECT_EQ(field(conversation(gw->port(), "wa-main", "+34600555666"), "messages"), 3);
}

// Meta batches messages of many patients into one request: each message
// reaches its own patient's conversation, however many the request names
// (past the few the gateway groups by scanning, it indexes them).
TEST(Webhooks, OneRequestOfManyPatientsReachesEachConversation) {
  deployment d;
  auto gw = d.start();
  constexpr int patients = 12;
  json::array messages;
  for (int round = 0; round < 2; ++round)
    for (int p = 0; p < patients; ++p)
      messages.push_back(wa_text("346001000" + std::to_string(10 + p),
                                 "wamid.MANY" + std::to_string(round * patients + p),
                                 "message " + std::to_string(round)));
  auto res = post_wa(gw->port(), "wa-main", wa_messages("106540352242922", std::move(messages)));
  ASSERT_EQ(res.result_int(), 200) << res.body();
  for (int p = 0; p < patients; ++p) {
    auto address = "+346001000" + std::to_string(10 + p);
    auto conv = conversation(gw->port(), "wa-main", address);
    ASSERT_TRUE(conv.is_object()) << address;
    EXPECT_EQ(field(conv, "messages"), 2) << address;
    EXPECT_EQ(field(conv, "seq"), 2) << address;
    EXPECT_EQ(field(conv, "inbound_ids"), 2) << address;
  }
  EXPECT_EQ(metric(gw->port(), R"(gateway_webhook_events_total{channel="wa-main",kind="message"})"),
            2 * patients);
}

// A webhook is answered once its events are durable, from the commit's
// completion, long after its handler returned: the answer still follows the
// request's HTTP version and Connection header.
TEST(Webhooks, AnswersAfterTheCommitFollowTheRequestsConnectionRules) {
  deployment d;
  auto gw = d.start();
  auto message = [n = 0](std::string_view from) mutable {
    return wa_messages("106540352242922",
                       json::array{wa_text(from, "wamid.CONN" + std::to_string(++n), "hola")});
  };
  {
    tcp_client c(gw->port());
    for (int p = 0; p < 8; ++p) {  // conversations on both shards, one connection
      auto res = c.request(wa_request("wa-main", message("3460020000" + std::to_string(p))));
      ASSERT_EQ(res.result_int(), 200) << res.body();
      EXPECT_EQ(res.version(), 11);
      EXPECT_TRUE(res.keep_alive());
    }
    auto req = wa_request("wa-main", message("34600200000"));
    req.keep_alive(false);
    auto res = c.request(std::move(req));
    EXPECT_EQ(res.result_int(), 200) << res.body();
    EXPECT_FALSE(res.keep_alive());
    EXPECT_TRUE(c.wait_closed(2s));
  }
  {
    tcp_client c(gw->port());
    auto req = wa_request("wa-main", message("34600200001"));
    req.version(10);
    auto res = c.request(std::move(req));
    EXPECT_EQ(res.result_int(), 200) << res.body();
    EXPECT_EQ(res.version(), 10);
    EXPECT_FALSE(res.keep_alive());
    EXPECT_TRUE(c.wait_closed(2s));
  }
  auto conv = conversation(gw->port(), "wa-main", "+34600200001");
  ASSERT_TRUE(conv.is_object());
  EXPECT_EQ(field(conv, "messages"), 2);
}

// Rounds of: restart over the same data directory, check that every
// acknowledged message is there, post from several connections, SIGKILL at a
// random moment. The journal is kept small enough that snapshots are taken,
// and covered segments released, all through the rounds, so acknowledged
// messages must survive in whichever of journal and snapshot holds them.
TEST(Webhooks, AcknowledgedMessagesSurviveSigkillsAmidSnapshotsAndReleases) {
  deployment d;
  const std::vector<std::string> env{"GATEWAY_JOURNAL_SNAPSHOT_EVERY_RECORDS=1000",
                                     "GATEWAY_JOURNAL_SNAPSHOT_SPREAD_MS=100",
                                     "GATEWAY_JOURNAL_SEGMENT_BYTES=1048576"};
  constexpr int clients = 8, per_client = 4, conversations = clients * per_client;
  constexpr int rounds = 4;
  auto address = [](int c) { return "+346001" + std::to_string(100000 + c); };
  // Per conversation: webhooks posted (acknowledged or not) and the bodies
  // of those answered 200.
  std::vector<int> attempted(conversations, 0);
  std::vector<std::vector<std::string>> acked(conversations);
  const std::string padding(1500, 'x');  // journal records of ~2 KB: segments fill in a round

  // Every acknowledged message is in its conversation, and nothing else
  // but what was posted; seqs have no gaps (only messages were posted).
  auto check = [&](gateway_process& gw, int round) {
    for (int c = 0; c < conversations; ++c) {
      auto conv = conversation(gw.port(), "wa-main", address(c));
      if (acked[c].empty() && conv.is_null()) continue;
      ASSERT_TRUE(conv.is_object()) << "round " << round << ": conversation " << c << " lost";
      auto messages = field(conv, "messages");
      EXPECT_GE(messages, static_cast<std::int64_t>(acked[c].size()))
          << "round " << round << ": conversation " << c << " lost acknowledged messages";
      EXPECT_LE(messages, attempted[c]) << "round " << round << ": conversation " << c;
      EXPECT_EQ(field(conv, "seq"), messages) << "round " << round << ": conversation " << c;
      EXPECT_EQ(field(conv, "inbound_ids"), messages)
          << "round " << round << ": conversation " << c;
      // What was stored without an answer is settled now: the next round's
      // upper bound starts from it.
      attempted[c] = static_cast<int>(messages);
    }
  };

  std::mt19937 rng(20261201);
  int snapshots_saved = 0;
  std::size_t total_acked = 0;
  for (int round = 0; round < rounds; ++round) {
    auto gw = d.start(env);
    check(*gw, round);
    if (::testing::Test::HasFailure()) return;

    std::vector<std::vector<std::pair<int, std::string>>> got(clients);  // conversation, body
    std::vector<std::vector<int>> tried(clients, std::vector<int>(conversations, 0));
    std::vector<unsigned> refused(clients, 0);  // a status other than 200, if one came
    std::atomic<bool> stop{false};
    std::vector<std::thread> threads;
    for (int t = 0; t < clients; ++t)
      threads.emplace_back([&, t] {
        try {
          tcp_client client(gw->port());
          for (int n = 0; !stop.load(); ++n) {
            int c = t * per_client + n % per_client;
            auto id = "wamid.R" + std::to_string(round) + "T" + std::to_string(t) + "N" +
                      std::to_string(n);
            auto body = wa_messages(
                "106540352242922",
                json::array{wa_text(address(c).substr(1), id, "message " + id + " " + padding)});
            ++tried[t][c];
            auto status = client.request(wa_request("wa-main", body)).result_int();
            if (status != 200) {
              refused[t] = status;
              break;
            }
            got[t].emplace_back(c, std::move(body));
          }
        } catch (const std::exception&) {
          // The gateway was killed mid-request: that one is not acknowledged.
        }
      });
    // The kill comes at a random moment after the round has saved a
    // snapshot, however slowly this build runs (a sanitizer build acks a
    // few hundred webhooks a second): every round snapshots, and some are
    // killed while the next snapshot or release is under way.
    auto random_ms = [&](int lo, int hi) {
      return std::chrono::milliseconds(std::uniform_int_distribution<int>(lo, hi)(rng));
    };
    std::this_thread::sleep_for(random_ms(400, 900));
    const bool snapshotted = gw->wait_log(R"("msg":"snapshot saved")", 60s);
    std::this_thread::sleep_for(random_ms(0, 300));
    crash(*gw);
    stop = true;
    for (auto& th : threads) th.join();

    ASSERT_TRUE(snapshotted) << "round " << round << ": no snapshot saved in 60 s";
    for (int t = 0; t < clients; ++t) {
      EXPECT_EQ(refused[t], 0u) << "round " << round << ": client " << t;
      for (int c = 0; c < conversations; ++c) attempted[c] += tried[t][c];
      for (auto& [c, body] : got[t]) acked[c].push_back(std::move(body));
      total_acked += got[t].size();
    }
    for (const auto& line : gw->log_lines())
      snapshots_saved += line.find(R"("msg":"snapshot saved")") != std::string::npos;
  }
  // The rounds did what they are for: many acknowledgements, snapshots
  // saved, and the journal's first segments released.
  EXPECT_GT(total_acked, 2000u);
  EXPECT_GE(snapshots_saved, 2);
  bool released = false;
  for (const auto& f : std::filesystem::directory_iterator(d.data + "/events"))
    released = released || f.path().filename() == "seg-00000000000000000001.wal";
  EXPECT_FALSE(released) << "the journal's first segment was never released";

  auto gw = d.start(env);
  check(*gw, rounds);
  bool from_snapshot = false;
  for (const auto& line : gw->log_lines())
    from_snapshot = from_snapshot || (line.find(R"("msg":"recovered")") != std::string::npos &&
                                      line.find(R"("from_snapshot":true)") != std::string::npos);
  EXPECT_TRUE(from_snapshot);
  // Every acknowledged webhook, posted again, is a retry: stored nothing.
  std::vector<std::size_t> answered(clients, 0);  // with 200
  std::vector<std::thread> threads;
  for (int t = 0; t < clients; ++t)
    threads.emplace_back([&, t] {
      try {
        tcp_client client(gw->port());
        for (int c = t * per_client; c < (t + 1) * per_client; ++c)
          for (const auto& body : acked[c])
            answered[t] += client.request(wa_request("wa-main", body)).result_int() == 200;
      } catch (const std::exception& e) {
        ADD_FAILURE() << "client " << t << ": " << e.what();
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(std::accumulate(answered.begin(), answered.end(), std::size_t{0}), total_acked);
  EXPECT_EQ(metric(gw->port(), R"(gateway_webhook_duplicates_total{channel="wa-main"})"),
            static_cast<double>(total_acked));
  check(*gw, rounds + 1);
}

TEST(Webhooks, ForgedMalformedUnknownAndOversizedRequestsChangeNothing) {
  deployment d;
  auto gw = d.start();
  const auto port = gw->port();
  const auto body = wa_messages("106540352242922",
                                json::array{wa_text("34600999000", "wamid.F1", "transfer money")});
  auto expect = [&](const http_response& res, unsigned status, std::string_view error) {
    EXPECT_EQ(res.result_int(), status) << res.body();
    EXPECT_NE(res.body().find("\"error\":\"" + std::string(error) + "\""), std::string::npos)
        << res.body();
  };
  // No signature, a signature with another secret, a tampered body.
  expect(http_post(port, "/webhooks/whatsapp/wa-main", body, "application/json"), 401,
         "bad_signature");
  expect(post_wa(port, "wa-main", body, "not-the-secret"), 401, "bad_signature");
  auto tampered = body;
  tampered.replace(tampered.find("transfer money"), 14, "transfer MONEY");
  expect(http_post(port, "/webhooks/whatsapp/wa-main", tampered, "application/json",
                   {{"X-Hub-Signature-256", protocol::meta_signature(app_secret, body)}}),
         401, "bad_signature");
  // Signed but broken: not JSON, not the envelope.
  auto not_json = post_wa(port, "wa-main", "{\"object\": ");
  expect(not_json, 400, "bad_request");
  expect(post_wa(port, "wa-main", R"({"object":"page","entry":[]})"), 400, "bad_request");
  // A channel we do not have, and a number of nobody's channel.
  expect(post_wa(port, "wa-nowhere", body), 404, "not_found");
  expect(post_wa(port, "wa-main", wa_messages("999", json::array{wa_text("1", "wamid.F2", "x")})),
         404, "not_found");
  // Too large: refused from its Content-Length, before reading the body.
  auto huge =
      wa_messages("106540352242922",
                  json::array{wa_text("34600999000", "wamid.F3", std::string(max_body, 'x'))});
  auto res = post_wa(port, "wa-main", huge);
  expect(res, 413, "payload_too_large");
  EXPECT_NE(res.body().find("webhooks.max_body_bytes"), std::string::npos);

  // Chunked, so no Content-Length to judge by: stopped once past the limit.
  {
    tcp_client raw(port);
    std::string chunk(4096, ' ');
    std::string request =
        "POST /webhooks/whatsapp/wa-main HTTP/1.1\r\nHost: x\r\n"
        "Transfer-Encoding: chunked\r\nX-Hub-Signature-256: sha256=00\r\n\r\n";
    for (int i = 0; i < 3; ++i) request += "1000\r\n" + chunk + "\r\n";
    raw.send(request + "0\r\n\r\n");
    expect(raw.read_response(), 413, "payload_too_large");
  }
  // Declared larger than http.max_body_bytes as well: still the route's
  // refusal, named and counted as such, answered with none of the body sent.
  {
    tcp_client raw(port);
    raw.send(
        "POST /webhooks/whatsapp/wa-main HTTP/1.1\r\nHost: x\r\n"
        "Content-Type: application/json\r\nContent-Length: 5000000\r\n"
        "X-Hub-Signature-256: sha256=00\r\n\r\n");
    auto huge_declared = raw.read_response();
    expect(huge_declared, 413, "payload_too_large");
    EXPECT_NE(huge_declared.body().find("webhooks.max_body_bytes (8192 bytes)"), std::string::npos)
        << huge_declared.body();
  }

  EXPECT_TRUE(conversation(port, "wa-main", "+34600999000").is_null());
  EXPECT_TRUE(conversation(port, "wa-main", "+1").is_null());
  auto refused = [&](std::string_view channel, std::string_view reason) {
    return metric(port, "gateway_webhook_refused_total{channel=\"" + std::string(channel) +
                            "\",reason=\"" + std::string(reason) + "\"}");
  };
  EXPECT_EQ(refused("wa-main", "bad_signature"), 3);
  EXPECT_EQ(refused("wa-main", "malformed"), 2);
  EXPECT_EQ(refused("wa-main", "unknown_channel"), 1);
  EXPECT_EQ(refused("unknown", "unknown_channel"), 1);
  EXPECT_EQ(refused("wa-main", "too_large"), 3);
  EXPECT_EQ(metric(port, R"(gateway_webhook_events_total{channel="wa-main",kind="message"})"), 0);
  EXPECT_EQ(metric(port, R"(gateway_journal_events_total)"), 0);
}

// A webhook limit above the server's: http.max_body_bytes decides, and the
// 413 names it, but the refusal still counts for the webhook's channel.
TEST(Webhooks, TheServersBodyLimitRefusesForTheChannel) {
  deployment d;
  auto gw = d.start({"GATEWAY_HTTP_MAX_BODY_BYTES=4096"});  // webhooks.max_body_bytes: 8192
  const auto port = gw->port();
  auto body = wa_messages("106540352242922",
                          json::array{wa_text("34600999000", "wamid.L1", std::string(6000, 'x'))});
  auto res = post_wa(port, "wa-main", body);
  EXPECT_EQ(res.result_int(), 413) << res.body();
  EXPECT_NE(res.body().find("http.max_body_bytes (4096 bytes)"), std::string::npos) << res.body();
  {
    tcp_client raw(port);  // chunked: stopped once past 4096 bytes
    std::string request =
        "POST /webhooks/whatsapp/wa-main HTTP/1.1\r\nHost: x\r\n"
        "Transfer-Encoding: chunked\r\nX-Hub-Signature-256: sha256=00\r\n\r\n";
    for (int i = 0; i < 2; ++i) request += "1000\r\n" + std::string(4096, ' ') + "\r\n";
    raw.send(request + "0\r\n\r\n");
    auto chunked = raw.read_response();
    EXPECT_EQ(chunked.result_int(), 413) << chunked.body();
    EXPECT_NE(chunked.body().find("http.max_body_bytes"), std::string::npos) << chunked.body();
  }
  EXPECT_EQ(metric(port, R"(gateway_webhook_refused_total{channel="wa-main",reason="too_large"})"),
            2);
  // Under both limits: accepted.
  auto small = wa_messages("106540352242922",
                           json::array{wa_text("34600999000", "wamid.L2", std::string(100, 'y'))});
  EXPECT_EQ(post_wa(port, "wa-main", small).result_int(), 200);
}

TEST(Webhooks, WhatsAppStatusesApplyInAnyOrderAndWaitForTheirMessage) {
  deployment d;
  {
    auto gw = d.start();
    auto statuses = [&](json::array list) {
      auto res = post_wa(gw->port(), "wa-main", wa_statuses("106540352242922", std::move(list)));
      EXPECT_EQ(res.result_int(), 200) << res.body();
    };
    // read arrives before delivered and sent; a failure carries its error.
    statuses({wa_status("wamid.OUT1", "read", "34600111222")});
    statuses({wa_status("wamid.OUT1", "delivered", "34600111222"),
              wa_status("wamid.OUT1", "sent", "34600111222")});
    auto failed = wa_status("wamid.OUT2", "failed", "34600111222");
    failed["errors"] =
        json::array{{{"code", 131047},
                     {"title", "Re-engagement message"},
                     {"error_data", {{"details", "More than 24 hours have passed"}}}}};
    statuses({failed});
    statuses({wa_status("wamid.OUT2", "delivered", "34600111222")});
    // One request repeating itself: a message twice, a status twice.
    auto twice = wa_text("34600111222", "wamid.TWICE", "hola");
    EXPECT_EQ(
        post_wa(gw->port(), "wa-main", wa_messages("106540352242922", json::array{twice, twice}))
            .result_int(),
        200);
    statuses({wa_status("wamid.OUT3", "delivered", "34600111222"),
              wa_status("wamid.OUT3", "delivered", "34600111222")});
    EXPECT_EQ(metric(gw->port(), R"(gateway_webhook_duplicates_total{channel="wa-main"})"),
              5);  // the three late lower statuses of OUT1 and OUT2, and the two repeats
    crash(*gw);
  }
  auto gw = d.start();
  auto conv = conversation(gw->port(), "wa-main", "+34600111222");
  ASSERT_TRUE(conv.is_object());
  const auto& deliveries = conv.as_object().at("deliveries").as_object();
  EXPECT_EQ(text_field(deliveries.at("wamid.OUT1"), "status"), "read");
  // Not seen yet: kept until the outbound message (M5) names this id.
  EXPECT_EQ(text_field(deliveries.at("wamid.OUT1"), "message_id"), "");
  EXPECT_EQ(text_field(deliveries.at("wamid.OUT2"), "status"), "failed");
  EXPECT_EQ(text_field(deliveries.at("wamid.OUT2"), "detail"),
            "131047: Re-engagement message: More than 24 hours have passed");
  EXPECT_EQ(text_field(deliveries.at("wamid.OUT3"), "status"), "delivered");
  // read, failed, the message, delivered: the late lower ones and the
  // repeats were not stored.
  EXPECT_EQ(field(conv, "seq"), 4);
  EXPECT_EQ(field(conv, "messages"), 1);
}

// ---------------------------------------------------------------- Twilio

std::string form_body(const protocol::form_params& params) {
  auto escape = [](std::string_view s) {
    std::string out;
    for (unsigned char ch : s) {
      if (std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~') {
        out += static_cast<char>(ch);
      } else {
        char buf[4];
        std::snprintf(buf, sizeof buf, "%%%02X", ch);
        out += buf;
      }
    }
    return out;
  };
  std::string body;
  for (const auto& [k, v] : params) {
    if (!body.empty()) body += '&';
    body += escape(k) + "=" + escape(v);
  }
  return body;
}

http_response post_twilio(std::uint16_t port, const std::string& target,
                          const protocol::form_params& params,
                          std::string_view token = auth_token) {
  auto sig = protocol::twilio_signature(token, std::string(base_url) + target, params);
  return http_post(port, target, form_body(params), "application/x-www-form-urlencoded",
                   {{"X-Twilio-Signature", sig}});
}

TEST(Webhooks, TwilioInboundAndStatusCallbacks) {
  deployment d;
  const protocol::form_params inbound = {
      {"ToCountry", "US"},
      {"SmsMessageSid", "MM6ac1b4f4bc7f4b1a9d6e2f1c3a0b7d11"},
      {"NumMedia", "1"},
      {"MessageSid", "MM6ac1b4f4bc7f4b1a9d6e2f1c3a0b7d11"},
      {"AccountSid", "AC00000000000000000000000000000001"},
      {"From", "+14155550123"},
      {"To", "+15550001111"},
      {"Body", "Can I move my appointment to 10:30?"},
      {"MediaUrl0", "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1"},
      {"MediaContentType0", "image/jpeg"},
      {"SomethingTwilioAddedLater", "kept"},
  };
  {
    auto gw = d.start();
    auto res = post_twilio(gw->port(), "/webhooks/twilio/sms-main", inbound);
    ASSERT_EQ(res.result_int(), 200) << res.body();
    EXPECT_EQ(res[http::field::content_type], "text/xml");
    EXPECT_NE(res.body().find("<Response></Response>"), std::string::npos);
    EXPECT_EQ(post_twilio(gw->port(), "/webhooks/twilio/sms-main", inbound).result_int(), 200);

    // Signed with another token, or for another URL: refused.
    EXPECT_EQ(post_twilio(gw->port(), "/webhooks/twilio/sms-main", inbound, "wrong").result_int(),
              401);
    auto other_url = protocol::twilio_signature(
        auth_token, std::string(base_url) + "/webhooks/twilio/sms-other", inbound);
    EXPECT_EQ(http_post(gw->port(), "/webhooks/twilio/sms-main", form_body(inbound),
                        "application/x-www-form-urlencoded", {{"X-Twilio-Signature", other_url}})
                  .result_int(),
              401);
    auto broken = http_post(gw->port(), "/webhooks/twilio/sms-main", "Body=%ZZ",
                            "application/x-www-form-urlencoded", {{"X-Twilio-Signature", "x"}});
    EXPECT_EQ(broken.result_int(), 400);
    // Signed, but without the required parameters.
    auto missing = post_twilio(gw->port(), "/webhooks/twilio/sms-main", {{"Body", "hi"}});
    EXPECT_EQ(missing.result_int(), 400);
    EXPECT_NE(missing.body().find("MessageSid"), std::string::npos);
    // Repeated parameters, out of order: Twilio signs their values sorted.
    auto repeated = inbound;
    repeated[0].second = "SMrepeated0000000000000000000000";
    repeated.emplace_back("Tag", "b");
    repeated.emplace_back("Tag", "a");
    auto sorted_tags = repeated;
    std::swap(sorted_tags[sorted_tags.size() - 2], sorted_tags.back());
    EXPECT_EQ(
        http_post(
            gw->port(), "/webhooks/twilio/sms-main", form_body(repeated),
            "application/x-www-form-urlencoded",
            {{"X-Twilio-Signature",
              protocol::twilio_signature(
                  auth_token, std::string(base_url) + "/webhooks/twilio/sms-main", sorted_tags)}})
            .result_int(),
        200);
    // A JSON body signed through bodySHA256: genuine, but not a messaging
    // webhook (400); its hash or signature wrong (401).
    const std::string json_body = R"({"MessageSid":"SMjson"})";
    auto json_path = "/webhooks/twilio/sms-main?bodySHA256=" + protocol::hex_sha256(json_body);
    auto json_signed = [&](std::string_view body) {
      return http_post(
          gw->port(), json_path, std::string(body), "application/json",
          {{"X-Twilio-Signature",
            protocol::twilio_signature(auth_token, std::string(base_url) + json_path, {})}});
    };
    auto genuine = json_signed(json_body);
    EXPECT_EQ(genuine.result_int(), 400) << genuine.body();
    EXPECT_NE(genuine.body().find("JSON body"), std::string::npos) << genuine.body();
    EXPECT_EQ(json_signed(R"({"MessageSid":"SMjsoN"})").result_int(), 401);

    // Statuses of our outbound SMS, out of order; undelivered is a failure
    // with Twilio's code; queued carries no state.
    auto status = [&](std::string sid, std::string value, std::string code = {}) {
      protocol::form_params p = {{"MessageSid", std::move(sid)},
                                 {"MessageStatus", std::move(value)},
                                 {"AccountSid", "AC00000000000000000000000000000001"},
                                 {"From", "+15550001111"},
                                 {"To", "+14155550123"}};
      if (!code.empty()) p.emplace_back("ErrorCode", code);
      auto r = post_twilio(gw->port(), "/webhooks/twilio/sms-main/status", p);
      EXPECT_EQ(r.result_int(), 200) << r.body();
    };
    status("SM1", "delivered");
    status("SM1", "sent");
    status("SM1", "queued");
    status("SM2", "undelivered", "30003");
    crash(*gw);
  }
  auto gw = d.start();
  auto conv = conversation(gw->port(), "sms-main", "+14155550123");
  ASSERT_TRUE(conv.is_object());
  EXPECT_EQ(field(conv, "messages"), 1);
  const auto& deliveries = conv.as_object().at("deliveries").as_object();
  EXPECT_EQ(text_field(deliveries.at("SM1"), "status"), "delivered");
  EXPECT_EQ(text_field(deliveries.at("SM2"), "status"), "failed");
  EXPECT_EQ(text_field(deliveries.at("SM2"), "detail"), "30003: undelivered");
  EXPECT_EQ(field(conv, "seq"), 3);  // the message, delivered, failed
  EXPECT_EQ(post_twilio(gw->port(), "/webhooks/twilio/sms-main", inbound).result_int(), 200);
  EXPECT_EQ(field(conversation(gw->port(), "sms-main", "+14155550123"), "seq"), 3);
}

// Numbers of one account may share a webhook URL: a message is filed under
// the channel of the number it was sent to, when that channel is of the
// same tenant and account; else under the URL's channel (a Messaging
// Service's pool), never under another tenant's.
TEST(Webhooks, TwilioMessagesGoToTheChannelOfTheirNumber) {
  deployment d;
  auto gw = d.start();
  auto patient_writes = [&](std::string from, std::string to) {
    protocol::form_params p = {{"MessageSid", "SM" + from.substr(1) + "0000000000000000000"},
                               {"AccountSid", "AC00000000000000000000000000000001"},
                               {"From", from},
                               {"To", std::move(to)},
                               {"Body", "hola"}};
    auto r = post_twilio(gw->port(), "/webhooks/twilio/sms-main", p);
    EXPECT_EQ(r.result_int(), 200) << r.body();
  };
  auto filed_under = [&](std::string_view address) {
    std::string where;
    for (auto channel : {"sms-main", "sms-second", "sms-elsewhere", "sms-own-account"})
      if (conversation(gw->port(), channel, address).is_object()) where += channel;
    return where;
  };
  patient_writes("+14155550001", "+15550001111");  // the URL's own number
  patient_writes("+14155550002", "+15550002222");  // another number of the tenant and account
  patient_writes("+14155550003", "+15550003333");  // another tenant's number
  patient_writes("+14155550004", "+15550004444");  // the tenant's, another account's
  patient_writes("+14155550005", "+15559999999");  // a number no channel has: a pool
  EXPECT_EQ(filed_under("+14155550001"), "sms-main");
  EXPECT_EQ(filed_under("+14155550002"), "sms-second");
  EXPECT_EQ(filed_under("+14155550003"), "sms-main");
  EXPECT_EQ(filed_under("+14155550004"), "sms-main");
  EXPECT_EQ(filed_under("+14155550005"), "sms-main");
}

TEST(Webhooks, AdminReadsNeedTheKey) {
  deployment d;
  auto gw = d.start();
  EXPECT_EQ(http_get(gw->port(), "/v1/conversations/clinic-1/wa-main/+1").result_int(), 401);
  tcp_client c(gw->port());
  http::request<http::string_body> req{http::verb::get, "/v1/conversations/clinic-1/wa-main/+1",
                                       11};
  req.set(http::field::authorization, "Bearer admin-key-2");
  EXPECT_EQ(c.request(std::move(req)).result_int(), 401);
  // Without admin.key the admin API is off.
  gateway_process bare;
  auto off = http_get(bare.port(), "/v1/conversations/clinic-1/wa-main/+1");
  EXPECT_EQ(off.result_int(), 403);
  EXPECT_NE(off.body().find("admin.key"), std::string::npos);
}

}  // namespace
}  // namespace gw::test

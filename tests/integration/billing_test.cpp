// The prepaid balance, end to end: agents racing for a small balance while
// the provider fails, rejects and times out; the statement adds up to the
// balance exactly, every sent message is paid once and every failed one
// refunded; admins hear when the balance runs low; the admin API refuses
// bad input; a restart replays the same ledger and settles the
// reservations a crash left open.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <fstream>
#include <map>
#include <thread>
#include <tuple>

#include "gateway/domain/billing.hpp"
#include "gateway/store/journal.hpp"
#include "tests/support/agent.hpp"
#include "tests/support/clients.hpp"
#include "tests/support/process.hpp"
#include "tests/support/whatsapp.hpp"

namespace gw::test {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

constexpr std::string_view operator_key = "operator-key-1";
constexpr std::string_view pnid = "106540352242922";
constexpr std::string_view app_secret = "sim-app-secret";
constexpr std::string_view access_token = "sim-access-token";
constexpr int cost = 5, low_balance = 100;
constexpr int template_cost = 6;  // what Meta bills: templates, priced apart
const std::string balance_path = "/v1/tenants/clinic-1/channels/wa-main/balance";

std::string patient(int i) { return "+3460020" + std::to_string(1000 + i); }

// A simulator (statuses off: billing follows the send answers) and a
// gateway whose config file points wa-main at it: priced, with a
// low-balance threshold, one admin that sends, one that only watches, and
// plain agents.
struct billed_deployment {
  explicit billed_deployment(std::string_view faults = "{}") {
    sim = std::make_unique<provider_sim_process>(
        R"({"whatsapp": [{"phone_number_id": ")" + std::string(pnid) + R"(", "access_token": ")" +
        std::string(access_token) +
        R"(", "messages_per_second": 1000, "pair_interval_ms": 1, "pair_burst": 1000}],
        "faults": )" +
        std::string(faults) + R"(, "statuses": {"enabled": false}, "duration_s": 120})");
    write_config("http://127.0.0.1:" + std::to_string(sim->port()));
  }
  void write_config(const std::string& api_base_url, int price = cost) {
    std::string agents;
    for (int i = 0; i < 4; ++i)
      agents += R"({"tenant": "clinic-1", "id": "ag)" + std::to_string(i) +
                R"(", "token": "token-ag-00000000)" + std::to_string(i) + R"("},)";
    std::ofstream(dir.path() + "/gateway.json")
        << R"({"admin": {"key": ")" << operator_key << R"("},
      "channels": [
        {"id": "wa-main", "provider": "whatsapp", "tenant": "clinic-1",
         "phone_number_id": ")"
        << pnid << R"(", "app_secret": ")" << app_secret << R"(", "verify_token": "v",
         "access_token": ")"
        << access_token << R"(", "api_base_url": ")" << api_base_url << R"(",
         "messages_per_second": 1000, "pair_interval_ms": 1, "pair_burst": 1000,
         "templates": ["recordatorio_cita:es"],)"
        << (price ? R"( "cost_per_message": )" + std::to_string(price) +
                        R"(, "cost_per_template": )" + std::to_string(template_cost) + ","
                  : std::string())
        << R"( "low_balance": )" << low_balance << R"(}],
      "agents": [)"
        << agents << R"(
        {"tenant": "clinic-1", "id": "bo", "role": "admin", "token": "token-bo-0000000002"},
        {"tenant": "clinic-1", "id": "eva", "role": "admin", "token": "token-eva-000000003"}]})";
  }
  std::unique_ptr<gateway_process> start(std::vector<std::string> env = {}) {
    env.push_back("GATEWAY_OUTBOUND_REQUEST_TIMEOUT_MS=300");
    env.push_back("GATEWAY_WS_COMMANDS_PER_SECOND=10000");
    env.push_back("GATEWAY_WS_COMMAND_BURST=10000");
    return std::make_unique<gateway_process>(
        std::vector<std::string>{"--config", dir.path() + "/gateway.json", "--data-dir",
                                 dir.path() + "/data"},
        env);
  }
  temp_dir dir;
  std::unique_ptr<provider_sim_process> sim;
};

http_response admin(std::uint16_t port, http::verb method, const std::string& target,
                    std::string body = {}) {
  return http_request(port, method, target, std::move(body),
                      {{"Authorization", "Bearer " + std::string(operator_key)}});
}

json::object balance(std::uint16_t port) {
  return json::parse(admin(port, http::verb::get, balance_path).body()).as_object();
}

// Every movement the statement keeps, paged 7 at a time (the paging is
// part of what is tested).
std::vector<json::object> statement(std::uint16_t port) {
  std::vector<json::object> all;
  std::string after = "0";
  for (;;) {
    auto res = admin(port, http::verb::get, balance_path + "/statement?limit=7&after=" + after);
    EXPECT_EQ(res.result_int(), 200) << res.body();
    auto page = json::parse(res.body()).as_object();
    for (auto& m : page.at("items").as_array()) all.push_back(m.as_object());
    if (page.at("next").is_null()) return all;
    after = std::to_string(page.at("next").to_number<std::uint64_t>());
  }
}

void patients_write(std::uint16_t port, int n) {
  for (int i = 0; i < n; ++i)
    ASSERT_EQ(post_whatsapp_text(port, "wa-main", pnid, app_secret, patient(i).substr(1),
                                 "wamid.B" + std::to_string(i), "hola")
                  .result_int(),
              200);
}

// Each outbound message's state, by message id, from every patient's history.
std::map<std::string, std::string> states(std::uint16_t port, int patients) {
  agent bo(port, "token-bo-0000000002");
  std::map<std::string, std::string> out;
  for (int i = 0; i < patients; ++i) {
    auto hist = bo.call(R"({"c":"hist","id":"h","lim":100,"cv":"wa-main:)" + patient(i) + R"("})");
    if (code(hist) != "ok") continue;  // no conversation with this patient
    for (const auto& m : hist.at("items").as_array())
      if (m.at("d") == "out") out[std::string(m.at("m").as_string())] = m.at("st").as_string();
  }
  return out;
}

void wait_settled(std::uint16_t port) {
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < deadline &&
         (metric(port, "gateway_outbound_queued") != 0 || balance(port).at("reserved") != 0))
    std::this_thread::sleep_for(50ms);
}

TEST(Billing, TopUpsAndStatementRefuseBadInput) {
  billed_deployment d;
  auto gw = d.start();
  auto port = gw->port();
  auto top_up = [&](std::string body) {
    return admin(port, http::verb::post, balance_path + "/top-ups", std::move(body));
  };
  for (auto [body, why] : std::vector<std::pair<std::string, std::string>>{
           {R"({"amount":0})", "\"amount\" must be an integer from 1"},
           {R"({"amount":-5})", "\"amount\" must be an integer from 1"},
           {R"({"amount":2.5})", "\"amount\" must be an integer"},
           {R"({"amount":"10"})", "\"amount\" must be an integer"},
           {R"({})", "\"amount\" is required"},
           {R"({"amount":10,"currency":"EUR"})", "unknown field \"currency\""},
           {R"({"amount":10,"key":""})", "\"key\" must be a string"},
           {R"(not json)", "not JSON"}}) {
    auto res = top_up(body);
    EXPECT_EQ(res.result_int(), 400) << body;
    auto message = std::string(json::parse(res.body()).at("message").as_string());
    EXPECT_NE(message.find(why), std::string::npos) << body << " -> " << message;
  }
  EXPECT_EQ(balance(port).at("balance"), 0);  // nothing changed
  EXPECT_EQ(balance(port).at("movements"), 0);

  auto first = top_up(R"({"amount":250,"key":"invoice-17"})");
  ASSERT_EQ(first.result_int(), 201) << first.body();
  EXPECT_EQ(json::parse(first.body()).at("movement").at("kind"), "top_up");
  auto again = top_up(R"({"amount":250,"key":"invoice-17"})");  // a retried request
  EXPECT_EQ(again.result_int(), 200) << again.body();
  EXPECT_EQ(json::parse(again.body()).at("repeat"), true);
  EXPECT_EQ(balance(port).at("balance"), 250);
  ASSERT_EQ(top_up(R"({"amount":50})").result_int(), 201);  // no key: credited each time
  EXPECT_EQ(balance(port).at("available"), 300);
  EXPECT_EQ(balance(port).at("low_balance"), low_balance);

  EXPECT_EQ(admin(port, http::verb::get, balance_path + "/statement?limit=0").result_int(), 400);
  EXPECT_EQ(admin(port, http::verb::get, balance_path + "/statement?after=x").result_int(), 400);
  EXPECT_EQ(admin(port, http::verb::get, "/v1/tenants/clinic-1/channels/nope/balance").result_int(),
            404);
  EXPECT_EQ(http_get(port, balance_path).result_int(), 401);
  // A plain agent's token is not an admin's.
  EXPECT_EQ(http_request(port, http::verb::get, balance_path, "",
                         {{"Authorization", "Bearer token-ag-000000000"}})
                .result_int(),
            401);
  auto s = statement(port);
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].at("key"), "invoice-17");
  EXPECT_EQ(s[1].at("balance_after"), 300);
}

// Four agents race to send 240 replies on a balance that pays for 100,
// while the provider answers 30% with 5xx, rejects 10% for good and leaves
// 5% unanswered; a send is tried at most 3 times. Then: never overdrawn,
// every `ok` held its cost, every sent message is committed once, every
// failed one refunded, the statement sums to the balance, a restart
// replays the same ledger.
TEST(Billing, ExactUnderConcurrentAgentsAndFaults) {
  constexpr int patients = 20, agents = 4, per_agent = 60, budget = 100 * cost;
  billed_deployment d(R"({"error_5xx": 0.3, "reject": 0.1, "timeout": 0.05, "seed": 7})");
  auto gw = d.start({"GATEWAY_OUTBOUND_MAX_ATTEMPTS=3"});
  auto port = gw->port();
  patients_write(port, patients);
  ASSERT_EQ(admin(port, http::verb::post, balance_path + "/top-ups",
                  R"({"amount":)" + std::to_string(budget) + R"(,"key":"t1"})")
                .result_int(),
            201);
  agent watcher(port, "token-eva-000000003");  // an admin that only listens

  std::atomic<int> ok{0}, short_of{0}, other{0};
  std::vector<std::thread> threads;
  for (int a = 0; a < agents; ++a)
    threads.emplace_back([&, a] {
      agent me(port, "token-ag-00000000" + std::to_string(a));
      for (int k = 0; k < per_agent; ++k) {
        auto r = me.call(R"({"c":"send","id":"s)" + std::to_string(k) + R"(","cv":"wa-main:)" +
                         patient((a * per_agent + k) % patients) + R"(","tx":"recordatorio"})");
        if (code(r) == "ok") {
          ++ok;
          EXPECT_EQ(r.at("cost"), cost);
        } else if (code(r) == "insufficient_balance") {
          ++short_of;
          auto bal = r.at("bal").to_number<std::int64_t>();
          EXPECT_GE(bal, 0);
          EXPECT_LT(bal, cost);  // refused only when it truly could not pay
        } else {
          ++other;
          ADD_FAILURE() << json::serialize(r);
        }
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok + short_of, agents * per_agent);
  EXPECT_GE(ok, budget / cost);  // refunds of rejected messages paid for more
  EXPECT_GT(short_of, 0);

  wait_settled(port);
  auto st = states(port, patients);
  int sent = 0, failed = 0;
  for (const auto& [id, state] : st) {
    sent += state == "sent";
    failed += state == "failed";
  }
  ASSERT_EQ(static_cast<int>(st.size()), ok.load());
  EXPECT_EQ(sent + failed, ok.load());  // every message ended
  EXPECT_GT(failed, 0);

  auto b = balance(port);
  auto s = statement(port);
  std::int64_t sum = 0, held = 0;
  std::map<std::string, std::map<std::string, int>> by_message;  // id -> kind -> count
  for (const auto& m : s) {
    auto kind = std::string(m.at("kind").as_string());
    auto amount = m.at("amount").to_number<std::int64_t>();
    ASSERT_GE(m.at("available_after").to_number<std::int64_t>(), 0) << json::serialize(m);
    if (kind == "top_up") sum += amount;
    if (kind == "commit") sum -= amount;
    if (kind == "reserve") held += amount;
    if (kind == "commit" || kind == "refund") held -= amount;
    if (kind != "top_up") ++by_message[std::string(m.at("message").as_string())][kind];
  }
  EXPECT_EQ(sum, b.at("balance").to_number<std::int64_t>());
  EXPECT_EQ(held, 0);
  EXPECT_EQ(b.at("reserved"), 0);
  EXPECT_EQ(b.at("balance").to_number<std::int64_t>(), budget - sent * cost);
  // Each message: reserved once, then committed if sent or refunded if failed.
  ASSERT_EQ(static_cast<int>(by_message.size()), ok.load());
  for (const auto& [id, kinds] : by_message) {
    ASSERT_TRUE(st.contains(id)) << id;
    EXPECT_EQ(kinds.at("reserve"), 1) << id;
    bool was_sent = st[id] == "sent";
    EXPECT_EQ(kinds.contains("commit") ? kinds.at("commit") : 0, was_sent ? 1 : 0) << id;
    EXPECT_EQ(kinds.contains("refund") ? kinds.at("refund") : 0, was_sent ? 0 : 1) << id;
  }
  // The provider accepted exactly the messages marked sent, each once.
  auto sim = json::parse(http_get(d.sim->port(), "/sim/stats").body());
  EXPECT_EQ(sim.at("accepted").to_number<std::int64_t>(), sent);
  EXPECT_EQ(sim.at("keys_sent_twice").to_number<std::int64_t>(), 0);

  // The admin who only listened heard that the balance ran low.
  bool told = false;
  for (int i = 0; i < 5 && !told; ++i) {
    auto f = json::parse(watcher.ws.read_text()).as_object();
    if (f.at("t") == "bal") {
      told = true;
      EXPECT_EQ(f.at("ch"), "wa-main");
      EXPECT_EQ(f.at("min"), low_balance);
      EXPECT_LT(f.at("bal").to_number<std::int64_t>(), low_balance);
    }
  }
  EXPECT_TRUE(told);

  // The same ledger after a crash.
  gw->signal(SIGKILL);
  ASSERT_EQ(gw->wait_exit(5s), 128 + SIGKILL);
  gw = d.start();
  EXPECT_EQ(balance(gw->port()), b);
  EXPECT_EQ(statement(gw->port()), s);
}

// Appends one movement to the balance journal of a stopped gateway, as if
// it had crashed right after making that movement durable.
void plant(const std::string& data_dir, const std::string& message_id, std::int64_t amount) {
  auto dir = data_dir + "/balance";
  auto rec = store::recover_journal(dir, 1, [](const store::record_view&) {});
  boost::asio::io_context ioc;
  std::error_code result = std::make_error_code(std::errc::interrupted);
  {
    store::journal_options o;
    o.dir = dir;
    store::journal j(ioc, o, rec);
    domain::movement m;
    m.type = domain::movement::kind::reserve;
    m.amount = amount;
    m.ref = message_id;
    m.to = patient(0);
    m.at_ms = 1;
    bool done = false;
    j.append(store::record_type::balance, domain::encode_movement({"clinic-1", "wa-main"}, m),
             [&](std::error_code ec, std::uint64_t) { result = ec, done = true; });
    // The syncer thread posts the completion once the record is durable.
    auto work = boost::asio::make_work_guard(ioc);
    for (int i = 0; i < 500 && !done; ++i) ioc.run_for(10ms);
  }
  ASSERT_FALSE(result) << result.message();
}

// A crash between the two journals leaves a reservation open; the restart
// settles it from the message's state: a message that was sent is
// committed, one that was never stored is refunded, one still queued
// keeps its hold until it is sent.
TEST(Billing, ARestartSettlesWhatACrashLeftOpen) {
  billed_deployment d;
  // Free at first, so the first reply is sent without a reservation.
  d.write_config("http://127.0.0.1:" + std::to_string(d.sim->port()), 0);
  auto gw = d.start();
  auto port = gw->port();
  patients_write(port, 1);
  ASSERT_EQ(
      admin(port, http::verb::post, balance_path + "/top-ups", R"({"amount":100})").result_int(),
      201);
  std::string sent_id;
  {
    agent bo(port, "token-bo-0000000002");
    auto r = bo.call(R"({"c":"send","id":"a","cv":"wa-main:)" + patient(0) + R"(","tx":"uno"})");
    ASSERT_EQ(code(r), "ok") << json::serialize(r);
    sent_id = std::string(r.at("m").at("m").as_string());
  }
  wait_settled(port);
  ASSERT_EQ(states(port, 1)[sent_id], "sent");
  gw->signal(SIGTERM);
  ASSERT_EQ(gw->wait_exit(10s), 0);

  // As if the gateway had crashed after holding the cost of the sent
  // reply but before committing it; and after holding one for a message it
  // then never stored.
  plant(d.dir.path() + "/data", sent_id, cost);
  plant(d.dir.path() + "/data", "m-never-stored", 7);
  // The provider is unreachable now: the next reply stays queued.
  d.write_config("http://127.0.0.1:1");
  gw = d.start({"GATEWAY_OUTBOUND_MAX_ATTEMPTS=1000"});
  port = gw->port();
  std::string queued_id;
  {
    agent bo(port, "token-bo-0000000002");
    auto r = bo.call(R"({"c":"send","id":"b","cv":"wa-main:)" + patient(0) + R"(","tx":"dos"})");
    ASSERT_EQ(code(r), "ok") << json::serialize(r);
    queued_id = std::string(r.at("m").at("m").as_string());
  }
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (balance(port).at("reserved") != cost && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(50ms);
  auto b = balance(port);
  EXPECT_EQ(b.at("reserved"), cost);           // the queued reply's hold only
  EXPECT_EQ(b.at("balance"), 100 - cost);      // the sent one committed
  std::map<std::string, std::string> settled;  // message -> how its planted hold ended
  for (const auto& m : statement(port))
    if (m.at("kind") == "commit" || m.at("kind") == "refund")
      settled[std::string(m.at("message").as_string())] = m.at("kind").as_string();
  EXPECT_EQ(settled[sent_id], "commit");
  EXPECT_EQ(settled["m-never-stored"], "refund");

  // Kill it with the reply queued, point the channel back at the provider:
  // the reply goes out once and is paid once.
  gw->signal(SIGKILL);
  ASSERT_EQ(gw->wait_exit(5s), 128 + SIGKILL);
  d.write_config("http://127.0.0.1:" + std::to_string(d.sim->port()));
  gw = d.start();
  port = gw->port();
  wait_settled(port);
  b = balance(port);
  EXPECT_EQ(b.at("reserved"), 0);
  EXPECT_EQ(b.at("balance"), 100 - 2 * cost);
  auto st = states(port, 1);
  EXPECT_EQ(st[sent_id], "sent");
  EXPECT_EQ(st[queued_id], "sent");
  EXPECT_EQ(json::parse(http_get(d.sim->port(), "/sim/stats").body()).at("accepted"), 2);
}

// Clinic systems send reminders through the REST API: paid like any send,
// deduplicated by their key, refused for a contact locked against automatic
// messages (whom an agent may still write to), and able to open a
// conversation with a patient who never wrote.
TEST(Automatic, RemindersArePaidOnceAndRespectLockedContacts) {
  billed_deployment d;
  auto gw = d.start();
  auto port = gw->port();
  ASSERT_EQ(
      admin(port, http::verb::post, balance_path + "/top-ups", R"({"amount":100})").result_int(),
      201);
  const std::string messages = "/v1/tenants/clinic-1/channels/wa-main/messages";
  const std::string to = patient(7);  // never wrote: no conversation yet
  auto remind = [&](std::string key) {
    return admin(port, http::verb::post, messages,
                 R"({"to":")" + to + R"(","key":")" + key +
                     R"(","tpl":{"n":"recordatorio_cita","lang":"es","vars":["Ana","10:00"]}})");
  };
  for (auto [body, status, why] : std::vector<std::tuple<std::string, unsigned, std::string>>{
           {R"({"to":")" + to + R"(","tpl":{"n":"recordatorio_cita","lang":"es"}})", 400, "key"},
           {R"({"to":"","key":"k","tx":"a"})", 400, "the patient's address"},
           {R"({"to":")" + to + R"(","key":"k","tx":"a","when":1})", 400, "unknown field"},
           {R"({"to":")" + to + R"(","key":"k","tx":"a","tpl":{"n":"a","lang":"es"}})", 400,
            "not both"},
           {R"({"to":")" + to + R"(","key":"k","tpl":{"n":"promo","lang":"es"}})", 400,
            "not a template"},
           // Free text to a patient who never wrote: WhatsApp's window is closed.
           {R"({"to":")" + to + R"(","key":"k","tx":"Recuerde su cita"})", 409, "24 hours"}}) {
    auto res = admin(port, http::verb::post, messages, body);
    EXPECT_EQ(res.result_int(), status) << body << " -> " << res.body();
    EXPECT_NE(res.body().find(why), std::string::npos) << body << " -> " << res.body();
  }
  // The closed window was found after the cost was held: given back at once.
  EXPECT_EQ(balance(port).at("available"), 100);
  EXPECT_EQ(balance(port).at("reserved"), 0);

  auto first = remind("cita-123");
  ASSERT_EQ(first.result_int(), 202) << first.body();
  auto sent = json::parse(first.body());
  EXPECT_EQ(sent.at("cost"), template_cost);
  EXPECT_EQ(sent.at("message").at("ty"), "template");
  EXPECT_EQ(sent.at("message").at("au"), "auto");
  auto again = remind("cita-123");  // the clinic system retried
  ASSERT_EQ(again.result_int(), 200) << again.body();
  EXPECT_EQ(json::parse(again.body()).at("repeat"), true);
  EXPECT_EQ(json::parse(again.body()).at("message").at("m"), sent.at("message").at("m"));
  wait_settled(port);
  EXPECT_EQ(balance(port).at("balance"), 100 - template_cost);  // paid once
  EXPECT_EQ(states(port, 8).size(), 1u);

  // The patient asks not to get reminders.
  const std::string contact = "/v1/tenants/clinic-1/channels/wa-main/contacts/" + to;
  EXPECT_EQ(admin(port, http::verb::put, contact, R"({"auto_locked":"yes"})").result_int(), 400);
  EXPECT_EQ(admin(port, http::verb::put, contact, R"({})").result_int(), 400);
  ASSERT_EQ(admin(port, http::verb::put, contact, R"({"auto_locked":true})").result_int(), 200);
  auto locked = remind("cita-124");
  EXPECT_EQ(locked.result_int(), 403) << locked.body();
  EXPECT_NE(locked.body().find("locked against automatic messages"), std::string::npos);
  {  // an agent may still write to them
    agent bo(port, "token-bo-0000000002");
    auto manual =
        bo.call(R"({"c":"send","id":"m1","cv":"wa-main:)" + to +
                R"(","tpl":{"n":"recordatorio_cita","lang":"es","vars":["Ana","11:00"]}})");
    EXPECT_EQ(code(manual), "ok") << json::serialize(manual);
  }
  // The lock survives a restart; lifting it lets reminders through again.
  gw->signal(SIGKILL);
  ASSERT_EQ(gw->wait_exit(5s), 128 + SIGKILL);
  gw = d.start();
  port = gw->port();
  EXPECT_EQ(json::parse(admin(port, http::verb::get, contact).body()).at("auto_locked"), true);
  EXPECT_EQ(remind("cita-125").result_int(), 403);
  ASSERT_EQ(admin(port, http::verb::put, contact, R"({"auto_locked":false})").result_int(), 200);
  EXPECT_EQ(remind("cita-125").result_int(), 202);
}

}  // namespace
}  // namespace gw::test

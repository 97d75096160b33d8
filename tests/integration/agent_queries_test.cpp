// Agent reads over a real WebSocket against the real binary: list (views,
// newest first, cursor paging), hist, recent and read with its unread
// count, who may read what, and that all of it survives SIGKILL.
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

constexpr std::string_view secret = "meta-app-secret";

struct deployment {
  deployment() {
    std::ofstream(dir.path() + "/gateway.json") << R"({
      "channels": [
        {"id": "wa-main", "provider": "whatsapp", "tenant": "clinic-1",
         "phone_number_id": "106540352242922", "app_secret": ")"
                                                << secret << R"(", "verify_token": "v",
         "access_token": "t", "api_base_url": "http://127.0.0.1:1"},
        {"id": "wa-side", "provider": "whatsapp", "tenant": "clinic-1",
         "phone_number_id": "206540352242922", "app_secret": ")"
                                                << secret << R"(", "verify_token": "v",
         "access_token": "t", "api_base_url": "http://127.0.0.1:1"}],
      "agents": [
        {"tenant": "clinic-1", "id": "ana", "role": "admin", "token": "token-ana-000000001"},
        {"tenant": "clinic-1", "id": "bo", "channels": ["wa-main"], "token": "token-bo-0000000002"}]})";
  }
  std::unique_ptr<gateway_process> start() {
    // The channels send to a closed port, so their messages stay queued (retrying).
    return std::make_unique<gateway_process>(
        std::vector<std::string>{"--config", dir.path() + "/gateway.json", "--data-dir",
                                 dir.path() + "/data"},
        std::vector<std::string>{"GATEWAY_OUTBOUND_MAX_ATTEMPTS=1000"});
  }
  temp_dir dir;
};

void patient_writes(std::uint16_t port, std::string_view channel, std::string_view number,
                    std::string_view wamid, std::string_view text) {
  auto res = post_whatsapp_text(port, channel,
                                channel == "wa-main" ? "106540352242922" : "206540352242922",
                                secret, number, wamid, text);
  ASSERT_EQ(res.result_int(), 200) << res.body();
}

// Every page of a paged command, following `next`: the items' `key` values.
std::vector<std::string> all_pages(agent& a, const std::string& args, std::string_view key,
                                   std::size_t* pages = nullptr) {
  std::vector<std::string> out;
  std::string cur;
  for (int i = 0; i < 50; ++i) {
    auto frame = "{\"id\":\"p" + std::to_string(i) + "\"," + args +
                 (cur.empty() ? "" : ",\"cur\":" + json::serialize(json::value(cur))) + "}";
    auto page = a.call(frame);
    EXPECT_EQ(code(page), "ok") << json::serialize(page);
    if (code(page) != "ok") break;
    for (const auto& item : page.at("items").as_array()) {
      const auto& v = item.at(key);
      out.push_back(v.is_string() ? std::string(v.as_string()) : json::serialize(v));
    }
    if (pages) ++*pages;
    if (page.at("next").is_null()) break;
    cur = std::string(page.at("next").as_string());
  }
  return out;
}

TEST(AgentQueries, ListHistRecentReadAndTheySurviveSigkill) {
  deployment d;
  const std::vector<std::string> numbers{"34600000001", "34600000002", "34600000003"};
  {
    auto gw = d.start();
    auto port = gw->port();
    // Three conversations on wa-main, written to in this order (the first
    // one twice, last), and one on wa-side that bo may not use.
    for (std::size_t i = 0; i < numbers.size(); ++i) {
      patient_writes(port, "wa-main", numbers[i], "wamid.A" + std::to_string(i), "hi");
      std::this_thread::sleep_for(5ms);  // distinct last-message times
    }
    patient_writes(port, "wa-main", numbers[0], "wamid.B0", "are you there?");
    patient_writes(port, "wa-side", "34600000009", "wamid.S", "side door");

    agent bo(port, "token-bo-0000000002");
    agent ana(port, "token-ana-000000001");

    // Newest last message first, two to a page, each conversation once.
    std::size_t pages = 0;
    auto listed = all_pages(bo, R"("c":"list","v":"new","lim":2)", "cv", &pages);
    EXPECT_EQ(listed, (std::vector<std::string>{"wa-main:+34600000001", "wa-main:+34600000003",
                                                "wa-main:+34600000002"}));
    EXPECT_EQ(pages, 2u);
    EXPECT_EQ(all_pages(ana, R"("c":"list","v":"new")", "cv").size(), 4u);  // every channel

    auto first = bo.call(R"({"c":"list","id":"l1","v":"new","lim":1})");
    auto cur = std::string(first.at("next").as_string());
    auto unread = first.at("items").at(0).at("unr").as_int64();
    EXPECT_EQ(unread, 2);
    EXPECT_EQ(code(bo.call(R"({"c":"list","id":"l2","v":"mine","cur":")" + cur + R"("})")),
              "bad_cursor");
    EXPECT_EQ(code(bo.call(R"({"c":"list","id":"l3","v":"new","cur":"nonsense"})")), "bad_cursor");
    EXPECT_EQ(code(bo.call(R"({"c":"list","id":"l4","v":"others"})")), "forbidden");

    // A reply, a note, then the history newest first, one per page.
    const std::string cv = "wa-main:+34600000001";
    ASSERT_EQ(code(bo.call(R"({"c":"send","id":"s1","cv":")" + cv + R"(","tx":"Yes, at 10."})")),
              "ok");
    ASSERT_EQ(code(bo.call(R"({"c":"note","id":"n1","cv":")" + cv + R"(","tx":"VIP"})")), "ok");
    auto texts = all_pages(bo, R"("c":"hist","cv":")" + cv + R"(","lim":1)", "tx", &pages);
    EXPECT_EQ(texts, (std::vector<std::string>{"VIP", "Yes, at 10.", "are you there?", "hi"}));
    auto hist = bo.call(R"({"c":"hist","id":"h1","cv":")" + cv + R"("})");
    const auto& newest = hist.at("items").as_array();
    EXPECT_EQ(newest.at(0).at("d").as_string(), "note");
    EXPECT_EQ(newest.at(1).at("d").as_string(), "out");
    EXPECT_EQ(newest.at(1).at("st").as_string(), "queued");
    EXPECT_EQ(newest.at(2).at("d").as_string(), "in");
    EXPECT_TRUE(hist.at("next").is_null());
    EXPECT_EQ(code(bo.call(R"({"c":"hist","id":"h2","cv":"wa-side:+34600000009"})")), "not_found");
    EXPECT_EQ(code(bo.call(R"({"c":"hist","id":"h3","cv":"wa-main:+34999999999"})")), "not_found");

    // recent: bo's conversations only; ana's include wa-side.
    auto mine = all_pages(bo, R"("c":"recent","h":1,"lim":3)", "tx");
    EXPECT_EQ(mine.size(), 6u);  // 4 patient messages on wa-main, the reply, the note
    EXPECT_EQ(mine.front(), "VIP");
    EXPECT_EQ(std::count(mine.begin(), mine.end(), "side door"), 0);
    auto everyone = all_pages(ana, R"("c":"recent","h":24)", "tx");
    EXPECT_EQ(everyone.size(), 7u);

    // read: up to the latest by default; the unread count follows.
    auto read = bo.call(R"({"c":"read","id":"r1","cv":")" + cv + R"("})");
    ASSERT_EQ(code(read), "ok") << json::serialize(read);
    EXPECT_EQ(read.at("c").at("unr").as_int64(), 0);
    EXPECT_GE(read.at("c").at("lm").as_int64(), read.at("c").at("lin").as_int64());
    patient_writes(port, "wa-main", numbers[0], "wamid.C0", "thanks");
    auto again = bo.call(R"({"c":"list","id":"l5","v":"new","lim":1})");
    EXPECT_EQ(again.at("items").at(0).at("cv").as_string(), cv);
    EXPECT_EQ(again.at("items").at(0).at("unr").as_int64(), 1);
    gw->signal(SIGKILL);
    EXPECT_EQ(gw->wait_exit(5s), 128 + SIGKILL);
  }
  auto gw = d.start();
  agent bo(gw->port(), "token-bo-0000000002");
  const std::string cv = "wa-main:+34600000001";
  auto texts = all_pages(bo, R"("c":"hist","cv":")" + cv + R"(")", "tx");
  EXPECT_EQ(texts,
            (std::vector<std::string>{"thanks", "VIP", "Yes, at 10.", "are you there?", "hi"}));
  auto listed = bo.call(R"({"c":"list","id":"l1","v":"new"})");
  ASSERT_EQ(listed.at("items").as_array().size(), 3u);
  EXPECT_EQ(listed.at("items").at(0).at("unr").as_int64(), 1);
  EXPECT_EQ(listed.at("items").at(1).at("unr").as_int64(), 1);
}

}  // namespace
}  // namespace gw::test

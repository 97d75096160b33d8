// The real binary over a journal it did not write: /readyz says
// "recovering" until replay is done, then "ready", and the log reports what
// was recovered.
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <thread>

#include "gateway/domain/conversations.hpp"
#include "tests/support/clients.hpp"
#include "tests/support/process.hpp"

namespace gw::test {
namespace {

// Writes `n` inbound events over `n` conversations into data_dir with two
// shards (the gateway below runs with --threads 2: same shard count).
void fill_journal(const std::string& data_dir, long n) {
  runtime::shard_set shards(2);
  shards.start();
  {
    domain::core_options o;
    o.data_dir = data_dir;
    domain::conversation_service core(shards, o);
    core.recover();
    std::atomic<long> done{0};
    for (long i = 0; i < n; ++i) {
      while (i - done.load() > 4096) std::this_thread::yield();
      domain::event e;
      e.kind = domain::event_kind::message_in;
      e.provider_id = "w" + std::to_string(i);
      core.submit({"t", "c", "+" + std::to_string(i)}, {std::move(e)},
                  [&](std::error_code ec, auto) {
                    EXPECT_FALSE(ec);
                    ++done;
                  });
    }
    while (done.load() < n) std::this_thread::sleep_for(1ms);
    shards.stop();
  }
}

TEST(Recovery, ReadyOnlyAfterReplay) {
  temp_dir d;
  auto data = d.path() + "/data";
  constexpr long events = 300'000;
  fill_journal(data, events);

  gateway_process gw({"--data-dir", data}, {}, gateway_process::start_until::listening);
  // Right after "listening" the journal is still being replayed.
  auto first = http_get(gw.port(), "/readyz");
  std::vector<std::string> states{std::string(first.body())};
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (states.back() != R"({"status":"ready"})" && std::chrono::steady_clock::now() < deadline)
    states.push_back(http_get(gw.port(), "/readyz").body());
  EXPECT_EQ(states.front(), R"({"status":"recovering"})") << "replay of 300k events finished "
                                                             "before the first probe";
  EXPECT_EQ(states.back(), R"({"status":"ready"})");
  EXPECT_EQ(http_get(gw.port(), "/healthz").result_int(), 200);
  ASSERT_TRUE(gw.wait_log("\"msg\":\"recovered\"", 5s));
  bool counted = false;
  for (auto& l : gw.log_lines())
    if (l.find("\"msg\":\"recovered\"") != std::string::npos)
      counted = l.find("\"events\":300000") != std::string::npos &&
                l.find("\"conversations\":300000") != std::string::npos;
  EXPECT_TRUE(counted);
}

}  // namespace
}  // namespace gw::test

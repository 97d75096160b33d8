// The durability promise under SIGKILL: a writer appends events and prints
// each acknowledged one; it is killed at random moments, many rounds over the
// same data directory; after each kill, recovery must find every
// acknowledged event, each conversation's events in order with contiguous
// seqs, and only whole records.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <optional>
#include <random>
#include <set>

#include "gateway/domain/event.hpp"
#include "gateway/store/journal.hpp"
#include "tests/support/process.hpp"

namespace gw::test {
namespace {

namespace fs = std::filesystem;

// Runs the writer for `run_for`, then SIGKILLs it; returns the acked numbers.
std::vector<std::uint64_t> run_and_kill(const std::string& dir, std::uint64_t first,
                                        std::chrono::milliseconds run_for) {
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  std::string first_s = std::to_string(first);
  char* argv[] = {const_cast<char*>(CRASH_WRITER), const_cast<char*>(dir.c_str()), first_s.data(),
                  nullptr};
  pid_t pid;
  int rc = posix_spawn(&pid, CRASH_WRITER, &fa, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  ::close(out[1]);
  if (rc != 0) throw std::runtime_error("spawn crash_writer");

  // The random kill moment counts from the first acknowledgement, so slow
  // builds (sanitizers) and long recoveries still get killed mid-write.
  std::string text;
  auto started = std::chrono::steady_clock::now();
  std::optional<std::chrono::steady_clock::time_point> deadline;
  char buf[65536];
  while (std::chrono::steady_clock::now() < deadline.value_or(started + std::chrono::seconds(20))) {
    pollfd p{out[0], POLLIN, 0};
    if (poll(&p, 1, 5) > 0) {
      ssize_t n = ::read(out[0], buf, sizeof buf);
      if (n <= 0) break;
      text.append(buf, static_cast<std::size_t>(n));
      if (!deadline) deadline = std::chrono::steady_clock::now() + run_for;
    }
  }
  ::kill(pid, SIGKILL);
  int status;
  waitpid(pid, &status, 0);
  // Whatever the writer printed before dying was acknowledged.
  for (ssize_t n; (n = ::read(out[0], buf, sizeof buf)) > 0;)
    text.append(buf, static_cast<std::size_t>(n));
  ::close(out[0]);

  std::vector<std::uint64_t> acked;
  std::size_t pos = 0;
  while (true) {
    auto nl = text.find('\n', pos);
    if (nl == std::string::npos) break;  // a half-printed line was not acknowledged
    acked.push_back(std::stoull(text.substr(pos + 4, nl - pos - 4)));
    pos = nl + 1;
  }
  return acked;
}

TEST(Crash, EveryAcknowledgedEventSurvivesSigkill) {
  temp_dir d;
  std::mt19937 rng(20261122);
  std::set<std::uint64_t> all_acked;
  std::size_t rounds_with_acks = 0;
  for (int round = 0; round < 15; ++round) {
    auto run_for = std::chrono::milliseconds(std::uniform_int_distribution<int>(1, 300)(rng));
    auto acked =
        run_and_kill(d.path(), static_cast<std::uint64_t>(round) * 1'000'000'000ULL + 1, run_for);
    rounds_with_acks += !acked.empty();
    all_acked.insert(acked.begin(), acked.end());

    // Recover the journal of both shards as the gateway would.
    std::set<std::uint64_t> found;
    std::map<std::string, std::vector<std::pair<std::uint64_t, std::uint64_t>>> per_conv;  // seq, n
    const std::uint64_t from[] = {1, 1};
    store::recover_journal(
        d.path() + "/events", from, [&](std::span<const store::record_view> records) {
          for (const auto& rec : records) {
            auto events = domain::decode_events(rec.payload);
            ASSERT_TRUE(events) << "a record with a valid CRC must decode";
            for (auto& e : *events) {
              auto n = std::stoull(e.provider_id.substr(1));
              EXPECT_TRUE(found.insert(n).second) << "event " << n << " stored twice";
              EXPECT_EQ(e.text.size(), n % 200) << "event " << n << " damaged";
              per_conv[e.conv.str()].emplace_back(e.seq, n);
            }
          }
        });
    for (auto n : all_acked)
      ASSERT_TRUE(found.contains(n)) << "acknowledged event " << n << " lost in round " << round;
    for (auto& [conv, list] : per_conv)
      for (std::size_t i = 0; i < list.size(); ++i) {
        ASSERT_EQ(list[i].first, i + 1) << conv << ": seqs not contiguous";
        if (i > 0) {
          ASSERT_LT(list[i - 1].second, list[i].second) << conv << ": out of order";
        }
      }
  }
  EXPECT_EQ(rounds_with_acks, 15u) << "a round ended before any acknowledgement: it proves little";
  EXPECT_GT(all_acked.size(), 1000u);
}

}  // namespace
}  // namespace gw::test

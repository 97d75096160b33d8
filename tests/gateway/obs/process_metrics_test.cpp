#include "gateway/obs/process_metrics.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "gateway/obs/metrics.hpp"
#include "gateway/runtime/thread_name.hpp"

namespace gw::metrics {
namespace {

// A stat line with fields 3 to 24 numbered by their position, so each one
// read is the number of the field it should come from.
std::string stat_line(std::string_view comm) {
  std::string line = "4242 (" + std::string(comm) + ") S";
  for (int field = 4; field <= 52; ++field) line += " " + std::to_string(field * 100);
  return line + "\n";
}

TEST(ProcStat, ReadsTheFieldsAfterTheLastParenthesis) {
  // A name may hold spaces and parentheses; the fields count from the last ')'.
  auto st = parse_proc_stat(stat_line("gw (odd) name"));
  ASSERT_TRUE(st);
  EXPECT_EQ(st->comm, "gw (odd) name");
  EXPECT_EQ(st->utime_ticks, 1400u);
  EXPECT_EQ(st->stime_ticks, 1500u);
  EXPECT_EQ(st->start_ticks, 2200u);
  EXPECT_EQ(st->rss_pages, 2400u);
}

TEST(ProcStat, RefusesWhatIsNotAStatLine) {
  EXPECT_FALSE(parse_proc_stat(""));
  EXPECT_FALSE(parse_proc_stat("4242 gateway S 1 2 3"));                   // no parentheses
  EXPECT_FALSE(parse_proc_stat("4242 (gateway) S 1 2 3 4 5 6 7 8 9 10"));  // too short
  auto bad = stat_line("gateway");
  bad.replace(bad.find(" 1400 "), 6, " 14x0 ");
  EXPECT_FALSE(parse_proc_stat(bad));  // utime is not a number
}

TEST(ProcStat, ReadsThisProcess) {
  std::ifstream in("/proc/self/stat");
  std::stringstream text;
  text << in.rdbuf();
  auto st = parse_proc_stat(text.str());
  ASSERT_TRUE(st);
  EXPECT_GT(st->rss_pages, 0u);
  EXPECT_GT(st->start_ticks, 0u);
}

TEST(ProcessMetrics, TicksPrintAsTheSecondsTheyAre) {
  auto text = [](std::uint64_t ticks) {
    std::string out;
    write_real_sample(out, "t", {}, ticks_to_seconds(ticks, 100));
    return out;
  };
  EXPECT_EQ(text(2074), "t 20.74\n");  // times 0.01: 20.740000000000002
  EXPECT_EQ(text(35), "t 0.35\n");     // times 0.01: 0.35000000000000003
  EXPECT_EQ(text(0), "t 0\n");
  EXPECT_EQ(text(179603788245), "t 1796037882.45\n");
}

// The value of the one sample `line_start` begins, or -1.
double sample(const std::string& text, const std::string& line_start) {
  auto at = text.find("\n" + line_start + " ");
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + line_start.size() + 2));
}

TEST(ProcessMetrics, ReportsTheProcessAndEachNamedThread) {
  // A thread named like the gateway's uses 0.2 s of CPU (its own clock, so
  // however busy the machine is) and waits.
  std::atomic<bool> burnt{false}, done{false};
  std::thread worker([&] {
    runtime::name_this_thread("gw-test-burn");
    auto cpu = [] {
      timespec t{};
      ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
      return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
    };
    const double until = cpu() + 0.2;
    volatile std::uint64_t x = 0;
    while (cpu() < until) x = x + 1;
    burnt = true;
    while (!done) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  });
  while (!burnt) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  std::string text = "\n";
  write_process_metrics(text);
  done = true;
  worker.join();

  EXPECT_GE(sample(text, R"(gateway_thread_cpu_seconds_total{thread="gw-test-burn"})"), 0.1);
  EXPECT_GE(sample(text, "process_cpu_seconds_total"), 0.1);
  EXPECT_GT(sample(text, "process_resident_memory_bytes"), 1e6);
  EXPECT_GE(sample(text, "process_open_fds"), 3);  // at least stdin, stdout, stderr
  EXPECT_GT(sample(text, "process_max_fds"), 0);
  auto now = static_cast<double>(std::chrono::duration_cast<std::chrono::seconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count());
  auto started = sample(text, "process_start_time_seconds");
  EXPECT_LE(started, now + 1);
  EXPECT_GT(started, now - 3600) << "this test process started within the hour";
  // Every family has its HELP and TYPE lines.
  EXPECT_NE(text.find("# TYPE gateway_thread_cpu_seconds_total counter\n"), std::string::npos);
  EXPECT_NE(text.find("# TYPE process_open_fds gauge\n"), std::string::npos);
}

TEST(ProcessMetrics, CountsOpenDescriptors) {
  auto fds = [] {
    std::string text = "\n";
    write_process_metrics(text);
    return sample(text, "process_open_fds");
  };
  auto before = fds();
  std::vector<int> opened;
  for (int i = 0; i < 5; ++i) opened.push_back(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  EXPECT_EQ(fds(), before + 5);
  for (int fd : opened) ::close(fd);
  EXPECT_EQ(fds(), before);
}

}  // namespace
}  // namespace gw::metrics

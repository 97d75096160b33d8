// The executable's command line: help, version, config checks and exit codes;
// and the tests' own handling of the processes they start.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <thread>

#include "tests/support/process.hpp"

namespace gw::test {
namespace {

std::string write_file(const temp_dir& d, const std::string& name, const std::string& text) {
  auto path = d.path() + "/" + name;
  std::ofstream(path) << text;
  return path;
}

int count_lines(const std::string& s) {
  return static_cast<int>(std::count(s.begin(), s.end(), '\n'));
}

TEST(Cli, HelpListsFlagsAndEverySetting) {
  auto r = run_gateway({"--help"});
  EXPECT_EQ(r.exit_code, 0);
  for (auto word : {"--config", "--listen", "--data-dir", "--threads", "--check-config",
                    "http.max_header_bytes", "ws.max_frame_bytes", "GATEWAY_HTTP_IDLE_TIMEOUT_MS"})
    EXPECT_NE(r.out.find(word), std::string::npos) << word;
}

TEST(Cli, Version) {
  auto r = run_gateway({"--version"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out.rfind("gateway ", 0), 0u);
}

TEST(Cli, CheckConfigAcceptsTheShippedConfigs) {
  for (auto name : {"/deploy/demo.json", "/deploy/gateway.example.json"}) {
    auto r = run_gateway({"--check-config", "--config", std::string(GATEWAY_SOURCE_DIR) + name});
    EXPECT_EQ(r.exit_code, 0) << name << ": " << r.err;
    EXPECT_NE(r.out.find("config ok"), std::string::npos);
  }
}

TEST(Cli, BadSettingsExitTwoWithOneLineNamingTheKey) {
  temp_dir d;
  struct {
    std::vector<std::string> args;
    std::vector<std::string> env;
    std::string expect;
  } cases[] = {
      {{"--config", write_file(d, "typo.json", R"({"http":{"max_body_byte":10}})")},
       {},
       "http.max_body_byte"},
      {{"--config", write_file(d, "range.json", R"({"ws":{"max_frame_bytes":1}})")},
       {},
       "ws.max_frame_bytes"},
      {{"--config", write_file(d, "broken.json", "{")}, {}, "not valid JSON"},
      {{"--threads", "many"}, {}, "threads (flag)"},
      {{}, {"GATEWAY_HTTP_MAX_CONNECTIONS=0"}, "GATEWAY_HTTP_MAX_CONNECTIONS"},
      {{}, {"GATEWAY_LISTEN_PORT=1"}, "GATEWAY_LISTEN_PORT (environment): unknown setting"},
      {{"--bogus"}, {}, "unknown argument"},
      {{"--config"}, {}, "needs a value"},
  };
  for (auto& c : cases) {
    auto args = c.args;
    args.insert(args.begin(), "--check-config");
    auto r = run_gateway(args, c.env);
    EXPECT_EQ(r.exit_code, 2) << c.expect;
    EXPECT_EQ(count_lines(r.err), 1) << r.err;
    EXPECT_NE(r.err.find(c.expect), std::string::npos) << r.err;
    // Without --check-config the same problem stops start-up the same way.
    auto start = run_gateway(c.args, c.env);
    EXPECT_EQ(start.exit_code, 2) << c.expect;
  }
}

// runtime.cpu_affinity=shards puts each shard thread of the real process on
// one CPU; the journal's syncer and the main thread stay where the process
// may run. By default nothing is pinned.
TEST(Cli, CpuAffinityShardsPinsEachShardThread) {
  gateway_process plain;
  auto unpinned = cpus_by_thread(plain.pid());
  ASSERT_TRUE(unpinned.count("gw-shard-0") && unpinned.count("gw-shard-1"));
  const auto whole = unpinned["gw-shard-0"];
  EXPECT_EQ(unpinned["gw-shard-1"], whole);

  gateway_process pinned({}, {"GATEWAY_RUNTIME_CPU_AFFINITY=shards"});
  auto threads = cpus_by_thread(pinned.pid());
  ASSERT_TRUE(threads.count("gw-shard-0") && threads.count("gw-shard-1"));
  // One CPU each: no range, no list.
  for (auto name : {"gw-shard-0", "gw-shard-1"}) {
    EXPECT_EQ(threads[name].find_first_of(",-"), std::string::npos)
        << name << ": " << threads[name];
  }
  if (whole.find_first_of(",-") != std::string::npos) {  // two CPUs or more: two different ones
    EXPECT_NE(threads["gw-shard-0"], threads["gw-shard-1"]);
  }
  for (const auto& [name, cpus] : threads) {
    if (name.rfind("gw-shard-", 0) != 0) {
      EXPECT_EQ(cpus, whole) << name;
    }
  }
  EXPECT_TRUE(pinned.wait_log("shard pinned", std::chrono::seconds(5)));

  auto r = run_gateway({"--check-config"}, {"GATEWAY_RUNTIME_CPU_AFFINITY=all"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("expected one of none|shards"), std::string::npos) << r.err;
}

TEST(Cli, UnbindableAddressExitsOne) {
  auto r = run_gateway({"--listen", "192.0.2.1:1", "--data-dir", temp_dir().path() + "/d"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("cannot start"), std::string::npos) << r.err;
}

TEST(Cli, ChangedThreadCountOnExistingDataIsRefused) {
  temp_dir d;
  { gateway_process first({"--data-dir", d.path() + "/data", "--threads", "2"}); }
  auto r =
      run_gateway({"--listen", "127.0.0.1:0", "--data-dir", d.path() + "/data", "--threads", "3"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("--threads 2"), std::string::npos) << r.err;
}

TEST(Cli, UnwritableDataDirExitsTwo) {
  auto r = run_gateway({"--listen", "127.0.0.1:0", "--data-dir", "/proc/forbidden"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("data_dir"), std::string::npos) << r.err;
}

// The tests' own process handling: a gateway started by a test that dies
// (a crash, a sanitizer's abort, ctest's timeout) goes with it, and a
// program that cannot be started is an error, not a silent exit code.
TEST(TestProcesses, AGatewayDiesWithTheTestThatStartedIt) {
  int ends[2];
  ASSERT_EQ(pipe(ends), 0);
  pid_t test = fork();
  ASSERT_GE(test, 0);
  if (test == 0) {  // a test that starts a gateway and dies without cleaning up
    ::close(ends[0]);
    gateway_process gw;
    pid_t child = gw.pid();
    if (::write(ends[1], &child, sizeof child) != sizeof child) ::_exit(2);
    ::_exit(1);
  }
  ::close(ends[1]);
  pid_t gateway = -1;
  ASSERT_EQ(::read(ends[0], &gateway, sizeof gateway), static_cast<ssize_t>(sizeof gateway));
  ::close(ends[0]);
  ASSERT_EQ(::waitpid(test, nullptr, 0), test);
  // Gone, or a zombie waiting for the reaper that inherited it.
  auto gone = [gateway] {
    std::ifstream stat("/proc/" + std::to_string(gateway) + "/stat");
    std::string pid, comm, state;
    return !(stat >> pid >> comm >> state) || state == "Z";
  };
  for (int i = 0; i < 200 && !gone(); ++i) std::this_thread::sleep_for(10ms);
  bool died = gone();
  if (!died) ::kill(gateway, SIGKILL);
  EXPECT_TRUE(died) << "gateway " << gateway << " outlived the test process that started it";
}

TEST(TestProcesses, AProgramThatCannotStartThrows) {
  EXPECT_THROW(run_program("/nonexistent/gateway", {}, 1s), std::runtime_error);
}

}  // namespace
}  // namespace gw::test

// Test support: start the real gateway binary as a child process, learn its
// port from its "listening" log line, signal it, and collect its output.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace gw::test {

using namespace std::chrono_literals;

// A fresh directory under the system temp dir, removed on destruction.
class temp_dir {
 public:
  temp_dir();
  ~temp_dir();
  const std::string& path() const noexcept { return path_; }

 private:
  std::string path_;
};

struct run_result {
  int exit_code = -1;  // -1: killed after the time limit
  std::string out, err;
};

// Runs the gateway with `args` to completion (10 s at most). The child's
// environment is PATH plus `env` ("K=V"), so stray GATEWAY_* do not leak in.
run_result run_gateway(const std::vector<std::string>& args,
                       const std::vector<std::string>& env = {});
// Runs `binary` with `args` to completion, `limit` at most (then SIGKILL,
// exit code -1); same environment rule.
run_result run_program(const std::string& binary, const std::vector<std::string>& args,
                       std::chrono::milliseconds limit, const std::vector<std::string>& env = {});

// Each thread of process `pid` by name (/proc/PID/task/N/comm) with the CPUs
// it may run on ("Cpus_allowed_list", e.g. "0-1" or "1").
std::map<std::string, std::string> cpus_by_thread(pid_t pid);

class gateway_process {
 public:
  enum class start_until { listening, ready };

  // Starts the gateway on 127.0.0.1:0 with a private data dir, two threads
  // and `extra` arguments (later flags win), and waits until it listens and,
  // by default, has finished recovery (so /readyz says ready).
  explicit gateway_process(std::vector<std::string> extra = {}, std::vector<std::string> env = {},
                           start_until until = start_until::ready);
  ~gateway_process();

  std::uint16_t port() const noexcept { return port_; }
  pid_t pid() const noexcept { return pid_; }
  void signal(int sig);
  // Waits for the process to end: its exit code, or -1 after `limit`.
  int wait_exit(std::chrono::milliseconds limit);
  // Waits until a log line contains `needle`.
  bool wait_log(std::string_view needle, std::chrono::milliseconds limit);
  std::vector<std::string> log_lines() const;

 private:
  void read_stderr(int fd);
  [[noreturn]] void abort_start(const std::string& what);

  temp_dir data_;
  pid_t pid_ = -1;
  int exit_code_ = -1;
  bool exited_ = false;
  std::uint16_t port_ = 0;
  std::thread reader_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> lines_;
  bool eof_ = false;
};

// The provider simulator (bench/load/provider_sim) as a child process,
// configured with `config_json`; stopped with SIGTERM on destruction.
class provider_sim_process {
 public:
  explicit provider_sim_process(const std::string& config_json);
  ~provider_sim_process();
  provider_sim_process(const provider_sim_process&) = delete;
  provider_sim_process& operator=(const provider_sim_process&) = delete;
  std::uint16_t port() const noexcept { return port_; }
  void stop();

 private:
  temp_dir dir_;
  pid_t pid_ = -1;
  int out_fd_ = -1, err_fd_ = -1;
  std::uint16_t port_ = 0;
};

}  // namespace gw::test

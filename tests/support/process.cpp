// Child-process management for integration tests (fork + exec + pipes).
#include "tests/support/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace gw::test {

namespace {

struct spawned {
  pid_t pid;
  int out_fd;
  int err_fd;
};

spawned spawn(const std::vector<std::string>& args, const std::vector<std::string>& env,
              const std::string& binary = GATEWAY_BINARY) {
  std::vector<std::string> argv_s{binary};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<std::string> env_s{std::string("PATH=") +
                                 (std::getenv("PATH") ? std::getenv("PATH") : "/usr/bin:/bin")};
  env_s.insert(env_s.end(), env.begin(), env.end());
  std::vector<char*> argv, envp;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : env_s) envp.push_back(e.data());
  envp.push_back(nullptr);

  // fork + exec rather than posix_spawn, for PR_SET_PDEATHSIG: a test that
  // dies (a crash, a sanitizer's abort, ctest's timeout) takes its gateway
  // with it instead of leaving it running. (Strictly, the child dies with
  // the thread that started it: tests start processes from their own
  // thread.) Between fork and exec the child makes only async-signal-safe
  // calls; an exec that fails is reported through `report`, which a
  // successful exec closes.
  int out[2], err[2], report[2];
  if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0 || pipe2(report, O_CLOEXEC) != 0)
    throw std::runtime_error("pipe");
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid == 0) {
    if (::prctl(PR_SET_PDEATHSIG, SIGKILL) == 0 && ::getppid() == parent &&
        ::dup2(out[1], 1) == 1 && ::dup2(err[1], 2) == 2)
      ::execve(argv[0], argv.data(), envp.data());
    int e = errno;
    [[maybe_unused]] auto n = ::write(report[1], &e, sizeof e);
    ::_exit(127);
  }
  int error = pid < 0 ? errno : 0;
  ::close(out[1]);
  ::close(err[1]);
  ::close(report[1]);
  if (pid > 0) {
    ssize_t got;
    do got = ::read(report[0], &error, sizeof error);
    while (got < 0 && errno == EINTR);
    if (got > 0) {
      ::waitpid(pid, nullptr, 0);
      if (error == 0) error = ECHILD;  // its parent seemed gone: cannot happen here
    }
  }
  ::close(report[0]);
  if (error != 0 || pid < 0) {
    ::close(out[0]);
    ::close(err[0]);
    throw std::runtime_error("cannot start " + argv_s[0] + ": " + std::strerror(error));
  }
  return {pid, out[0], err[0]};
}

int decode_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

// Waits for `pid` up to `limit`; the exit code, or -1 when still running.
int wait_for(pid_t pid, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    int status = 0;
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) return decode_status(status);
    if (std::chrono::steady_clock::now() >= deadline) return -1;
    std::this_thread::sleep_for(5ms);
  }
}

}  // namespace

temp_dir::temp_dir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "gwtest-XXXXXX").string();
  if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp");
  path_ = tmpl;
}

temp_dir::~temp_dir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

run_result run_gateway(const std::vector<std::string>& args, const std::vector<std::string>& env) {
  return run_program(GATEWAY_BINARY, args, 10s, env);
}

run_result run_program(const std::string& binary, const std::vector<std::string>& args,
                       std::chrono::milliseconds limit, const std::vector<std::string>& env) {
  auto child = spawn(args, env, binary);
  run_result r;
  pollfd fds[2] = {{child.out_fd, POLLIN, 0}, {child.err_fd, POLLIN, 0}};
  auto deadline = std::chrono::steady_clock::now() + limit;
  int open = 2;
  char buf[4096];
  while (open > 0 && std::chrono::steady_clock::now() < deadline) {
    if (poll(fds, 2, 100) <= 0) continue;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP))) continue;
      ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n <= 0) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open;
      } else {
        (i == 0 ? r.out : r.err).append(buf, static_cast<std::size_t>(n));
      }
    }
  }
  for (auto& f : fds)
    if (f.fd >= 0) ::close(f.fd);
  r.exit_code = wait_for(child.pid, 5s);
  if (r.exit_code == -1) {
    ::kill(child.pid, SIGKILL);
    wait_for(child.pid, 5s);
  }
  return r;
}

std::map<std::string, std::string> cpus_by_thread(pid_t pid) {
  std::map<std::string, std::string> out;
  for (const auto& t :
       std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task")) {
    std::string name, line;
    std::getline(std::ifstream(t.path() / "comm"), name);
    std::ifstream status(t.path() / "status");
    while (std::getline(status, line))
      if (line.rfind("Cpus_allowed_list:", 0) == 0)
        out[name] = line.substr(line.find_first_not_of(" \t", 18));
  }
  return out;
}

gateway_process::gateway_process(std::vector<std::string> extra, std::vector<std::string> env,
                                 start_until until) {
  std::vector<std::string> args{"--listen", "127.0.0.1:0", "--threads",
                                "2",        "--data-dir",  data_.path() + "/data"};
  args.insert(args.end(), extra.begin(), extra.end());
  auto child = spawn(args, env);
  ::close(child.out_fd);
  pid_ = child.pid;
  reader_ = std::thread([this, fd = child.err_fd] { read_stderr(fd); });

  bool listening;
  {
    std::unique_lock lock(mu_);
    listening = cv_.wait_for(lock, 15s, [this] { return port_ != 0 || eof_; }) && port_ != 0;
  }
  if (!listening) abort_start("did not start listening");
  if (until == start_until::ready && !wait_log("\"msg\":\"recovered\"", 30s))
    abort_start("did not finish recovery");
}

// A constructor that throws gets no destructor: stop the child and the
// reader here, then report with the child's log.
void gateway_process::abort_start(const std::string& what) {
  ::kill(pid_, SIGKILL);
  wait_exit(5s);
  if (reader_.joinable()) reader_.join();
  std::string log;
  for (auto& l : log_lines()) log += l + "\n";
  throw std::runtime_error("gateway " + what + "; its log:\n" + log);
}

gateway_process::~gateway_process() {
  if (!exited_) {
    ::kill(pid_, SIGKILL);
    wait_exit(5s);
  }
  if (reader_.joinable()) reader_.join();
}

void gateway_process::read_stderr(int fd) {
  std::string pending;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    pending.append(buf, static_cast<std::size_t>(n));
    std::size_t nl;
    while ((nl = pending.find('\n')) != std::string::npos) {
      std::string line = pending.substr(0, nl);
      pending.erase(0, nl + 1);
      std::lock_guard lock(mu_);
      if (port_ == 0 && line.find("\"msg\":\"listening\"") != std::string::npos) {
        boost::system::error_code ec;
        auto v = boost::json::parse(line, ec);
        if (!ec) port_ = static_cast<std::uint16_t>(v.at("port").to_number<int>());
      }
      lines_.push_back(std::move(line));
      cv_.notify_all();
    }
  }
  ::close(fd);
  std::lock_guard lock(mu_);
  eof_ = true;
  cv_.notify_all();
}

void gateway_process::signal(int sig) { ::kill(pid_, sig); }

int gateway_process::wait_exit(std::chrono::milliseconds limit) {
  if (exited_) return exit_code_;
  int code = wait_for(pid_, limit);
  if (code != -1) {
    exited_ = true;
    exit_code_ = code;
  }
  return code;
}

bool gateway_process::wait_log(std::string_view needle, std::chrono::milliseconds limit) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, limit, [&] {
    for (const auto& l : lines_)
      if (l.find(needle) != std::string::npos) return true;
    return eof_;
  }) && [&] {
    for (const auto& l : lines_)
      if (l.find(needle) != std::string::npos) return true;
    return false;
  }();
}

std::vector<std::string> gateway_process::log_lines() const {
  std::lock_guard lock(mu_);
  return lines_;
}

provider_sim_process::provider_sim_process(const std::string& config_json) {
  auto file = dir_.path() + "/sim.json";
  {
    std::ofstream out(file);
    out << config_json;
  }
  auto child = spawn({"--config", file}, {}, PROVIDER_SIM_BINARY);
  pid_ = child.pid;
  out_fd_ = child.out_fd;
  err_fd_ = child.err_fd;
  // The first stdout line is {"listening":PORT}; anything else is a failure.
  std::string line;
  auto deadline = std::chrono::steady_clock::now() + 10s;
  char c;
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{out_fd_, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    if (::read(out_fd_, &c, 1) != 1) break;
    if (c == '\n') break;
    line += c;
  }
  boost::system::error_code ec;
  auto v = boost::json::parse(line, ec);
  if (ec || !v.is_object() || !v.as_object().contains("listening")) {
    std::string err;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(err_fd_, buf, sizeof buf)) > 0) err.append(buf, static_cast<std::size_t>(n));
    stop();
    throw std::runtime_error("provider_sim did not start: " + line + " " + err);
  }
  port_ = static_cast<std::uint16_t>(v.at("listening").to_number<int>());
}

void provider_sim_process::stop() {
  if (pid_ < 0) return;
  ::kill(pid_, SIGTERM);
  if (wait_for(pid_, 5s) == -1) {
    ::kill(pid_, SIGKILL);
    wait_for(pid_, 5s);
  }
  pid_ = -1;
  ::close(out_fd_);
  ::close(err_fd_);
}

provider_sim_process::~provider_sim_process() { stop(); }

}  // namespace gw::test

// The gateway executable: command line, configuration, start, signals, stop.
#include <signal.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "gateway/app/server.hpp"
#include "gateway/config/config.hpp"
#include "gateway/config/settings.hpp"
#include "gateway/obs/log.hpp"

extern char** environ;

namespace {

constexpr int exit_ok = 0, exit_runtime = 1, exit_config = 2;

void print_usage() {
  std::printf(
      "gateway %s: messaging gateway for clinic inboxes (WhatsApp, SMS)\n\n"
      "usage: gateway [--config FILE] [--listen HOST:PORT] [--data-dir DIR] [--threads N]\n"
      "               [--check-config] [--help] [--version]\n\n"
      "  --config FILE      JSON settings file (see deploy/gateway.example.json)\n"
      "  --listen HOST:PORT overrides `listen`\n"
      "  --data-dir DIR     overrides `data_dir`\n"
      "  --threads N        overrides `threads`\n"
      "  --check-config     validate the settings, print them, exit 0 (valid) or 2\n\n"
      "Precedence: flags > GATEWAY_* environment > config file > defaults.\n"
      "An unknown or invalid setting stops start-up with exit code 2.\n\n"
      "settings:\n%s",
      GATEWAY_VERSION, gw::describe_settings().c_str());
}

// Creates data_dir and proves it writable, so a bad disk stops start-up
// instead of the first acknowledged write.
void prepare_data_dir(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec)
    throw gw::config_error("data_dir (check): cannot create \"" + dir + "\": " + ec.message());
  auto probe = std::filesystem::path(dir) / ".write-probe";
  {
    std::ofstream out(probe);
    if (!out || !(out << "ok") || !out.flush())
      throw gw::config_error("data_dir (check): \"" + dir + "\" is not writable");
  }
  std::filesystem::remove(probe, ec);
}

struct command_line {
  std::string config_file;
  gw::flag_settings flags;
  bool check_only = false;
};

// Returns the exit code to stop with, or -1 to go on.
int parse_args(int argc, char** argv, command_line& out) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&](const char* flag) -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "gateway: %s needs a value\n", flag);
        return nullptr;
      }
      return argv[++i];
    };
    if (arg == "--help" || arg == "-h") {
      print_usage();
      return exit_ok;
    } else if (arg == "--version") {
      std::printf("gateway %s (asio backend %s)\n", GATEWAY_VERSION, GATEWAY_ASIO_BACKEND_NAME);
      return exit_ok;
    } else if (arg == "--check-config") {
      out.check_only = true;
    } else if (arg == "--config" || arg == "--listen" || arg == "--data-dir" ||
               arg == "--threads") {
      const char* v = value(arg.c_str());
      if (!v) return exit_config;
      if (arg == "--config")
        out.config_file = v;
      else if (arg == "--listen")
        out.flags["listen"] = v;
      else if (arg == "--data-dir")
        out.flags["data_dir"] = v;
      else
        out.flags["threads"] = v;
    } else {
      std::fprintf(stderr, "gateway: unknown argument \"%s\"; see gateway --help\n", arg.c_str());
      return exit_config;
    }
  }
  return -1;
}

}  // namespace

int main(int argc, char** argv) {
  command_line cl;
  if (int rc = parse_args(argc, argv, cl); rc >= 0) return rc;

  gw::config cfg;
  try {
    cfg = gw::load_config(cl.config_file, environ, cl.flags);
  } catch (const gw::config_error& e) {
    std::fprintf(stderr, "gateway: config error: %s\n", e.what());
    return exit_config;
  }
  if (cl.check_only) {
    std::printf("config ok: listen %s:%u, %u threads, data_dir %s, tls %s\n",
                cfg.listen_host.c_str(), cfg.listen_port, cfg.effective_threads(),
                cfg.data_dir.c_str(), cfg.tls.enabled() ? "on" : "off");
    return exit_ok;
  }

  gw::log::set_level(cfg.log_level);
  ::signal(SIGPIPE, SIG_IGN);

  // SIGINT/SIGTERM are caught from here on, before any shard thread starts;
  // the main thread waits for one and then runs the shutdown sequence.
  boost::asio::io_context control;
  boost::asio::signal_set signals(control, SIGINT, SIGTERM);

  try {
    prepare_data_dir(cfg.data_dir);
    gw::app::server srv(cfg);
    srv.start();
    int received = 0;
    signals.async_wait([&](const boost::system::error_code& ec, int sig) {
      if (!ec) received = sig;
    });
    control.run();
    gw::log::info("shutting down",
                  {{"signal", received}, {"grace_ms", cfg.shutdown_grace.count()}});
    auto left = srv.shutdown();
    if (left > 0)
      gw::log::warn("grace period over; closing remaining connections", {{"open", left}});
    gw::log::info("stopped");
    return exit_ok;
  } catch (const gw::config_error& e) {
    std::fprintf(stderr, "gateway: config error: %s\n", e.what());
    return exit_config;
  } catch (const std::exception& e) {
    gw::log::error("cannot start", {{"what", e.what()}});
    return exit_runtime;
  }
}

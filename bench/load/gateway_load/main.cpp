// gateway-load: one tool that drives a gateway on loopback the way its
// users do: providers posting signed webhooks, agents connected over
// WebSocket reading, marking read and replying, replies going out through
// provider_sim. Prints a live progress line, then a summary (text, or one
// JSON line with --json): throughput, errors by kind, and latency
// percentiles from HDR-style histograms. `gateway-load --help` lists every
// option. Bounded: warm-up + duration seconds and --requests webhooks, then
// it stops by itself.
#include <unistd.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bench/load/gateway_load/agents.hpp"
#include "bench/load/gateway_load/options.hpp"
#include "bench/load/gateway_load/run.hpp"
#include "bench/load/gateway_load/webhooks.hpp"

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using namespace gw::load;

// provider_sim's count of accepted messages; -1 when it cannot be read.
long long sim_accepted(const options& o) {
  try {
    asio::io_context ioc;
    beast::tcp_stream s(ioc);
    s.expires_after(std::chrono::seconds(2));
    s.connect({asio::ip::make_address(o.host), o.sim_port});
    http::request<http::empty_body> req{http::verb::get, "/sim/stats", 11};
    req.set(http::field::host, o.host);
    http::write(s, req);
    beast::flat_buffer b;
    http::response<http::string_body> res;
    http::read(s, b, res);
    auto at = res.body().find(R"("accepted":)");
    return at == std::string::npos ? -1 : std::stoll(res.body().substr(at + 11));
  } catch (const std::exception&) {
    return -1;
  }
}

struct totals {
  thread_results all;
  double hook_seconds = 0;  // the measured time webhooks ran
  double seconds = 0;       // the measured time
  long rss_before = -1, rss_after = -1;
  long long sim_before = -1, sim_after = -1;
  double connect_seconds = 0;
  std::uint64_t unanswered = 0;  // webhooks sent but not answered when the run stopped
};

std::string percentiles_json(const char* name, const histogram& h) {
  char b[256];
  std::snprintf(
      b, sizeof b,
      R"("%s":{"n":%llu,"p50_us":%lld,"p90_us":%lld,"p99_us":%lld,"p999_us":%lld,)"
      R"("max_us":%lld})",
      name, static_cast<unsigned long long>(h.total()), static_cast<long long>(h.percentile(0.50)),
      static_cast<long long>(h.percentile(0.90)), static_cast<long long>(h.percentile(0.99)),
      static_cast<long long>(h.percentile(0.999)), static_cast<long long>(h.max()));
  return b;
}

std::string json_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) >= 0x20) out += c;
  }
  return out;
}

void print_json(const options& o, const run_state& run, const totals& t) {
  const auto& a = t.all;
  std::string errors;
  for (const auto& [k, v] : a.errors)
    errors += (errors.empty() ? "" : ",") + ("\"" + json_escape(k) + "\":" + std::to_string(v));
  auto per_s = [](std::uint64_t n, double s) { return s > 0 ? static_cast<double>(n) / s : 0.0; };
  std::printf(
      R"({"provider":"%s","tenants":%u,"mode":"%s","target_rate":%.0f,"connections":%u,)"
      R"("seconds":%.2f,)"
      R"("hooks_ok":%llu,"hooks_bad":%llu,"hooks_unanswered":%llu,"hooks_measured":%llu,)"
      R"("rate":%.0f,%s,%s,)"
      R"("agents":%u,"agents_up":%llu,"agents_failed":%llu,"agents_lost":%llu,"connect_s":%.2f,)"
      R"("frames":%llu,"frames_per_s":%.0f,"messages_in":%llu,%s,)"
      R"("reads_ok":%llu,"replies_ok":%llu,"replies_per_s":%.0f,%s,%s,)"
      R"("rss_before_kib":%ld,"rss_after_kib":%ld,"bytes_per_session":%.0f,)"
      R"("sim_accepted":%lld,"sim_accepted_per_s":%.0f,"errors":{%s}})"
      "\n",
      provider_name(o.kind), o.tenants, o.rate > 0 ? "open" : "closed", o.rate, o.connections,
      t.seconds, static_cast<unsigned long long>(run.live.hooks_ok.load()),
      static_cast<unsigned long long>(run.live.hooks_bad.load()),
      static_cast<unsigned long long>(t.unanswered),
      static_cast<unsigned long long>(a.hooks_measured), per_s(a.hooks_measured, t.hook_seconds),
      percentiles_json("webhook", a.webhook).c_str(),
      percentiles_json("exchange", a.exchange).c_str(), o.agents,
      static_cast<unsigned long long>(run.live.agents_up.load()),
      static_cast<unsigned long long>(run.live.agents_failed.load()),
      static_cast<unsigned long long>(run.live.agents_lost.load()), t.connect_seconds,
      static_cast<unsigned long long>(a.frames_measured), per_s(a.frames_measured, t.seconds),
      static_cast<unsigned long long>(a.messages_in),
      percentiles_json("delivery", a.delivery).c_str(), static_cast<unsigned long long>(a.reads_ok),
      static_cast<unsigned long long>(a.replies_ok), per_s(a.replies_ok, t.seconds),
      percentiles_json("reply_ack", a.reply_ack).c_str(),
      percentiles_json("reply_sent", a.reply_sent).c_str(), t.rss_before, t.rss_after,
      (t.rss_before >= 0 && run.live.agents_up.load() > 0)
          ? static_cast<double>(t.rss_after - t.rss_before) * 1024.0 /
                static_cast<double>(run.live.agents_up.load())
          : -1.0,
      (t.sim_before >= 0 && t.sim_after >= 0) ? t.sim_after - t.sim_before : -1LL,
      (t.sim_before >= 0 && t.sim_after >= 0)
          ? static_cast<double>(t.sim_after - t.sim_before) / t.seconds
          : -1.0,
      errors.c_str());
}

void print_latency(const char* name, const histogram& h) {
  if (h.total() == 0) return;
  std::printf(
      "  %-22s n %-9llu p50 %6lld  p90 %6lld  p99 %6lld  p99.9 %6lld  max %6lld us\n", name,
      static_cast<unsigned long long>(h.total()), static_cast<long long>(h.percentile(0.50)),
      static_cast<long long>(h.percentile(0.90)), static_cast<long long>(h.percentile(0.99)),
      static_cast<long long>(h.percentile(0.999)), static_cast<long long>(h.max()));
}

void print_text(const options& o, const run_state& run, const totals& t) {
  const auto& a = t.all;
  std::printf("gateway-load: %s:%u, %.1f s measured after %.1f s of warm-up\n", o.host.c_str(),
              o.port, o.duration, o.warmup);
  if (o.kind != provider::none) {
    if (o.rate > 0)
      std::printf("webhooks (%s, open loop at %.0f/s, %u connections):\n", provider_name(o.kind),
                  o.rate, o.connections);
    else
      std::printf("webhooks (%s, closed loop, %u connections):\n", provider_name(o.kind),
                  o.connections);
    std::printf("  %llu answered 200, %llu failed, %llu unanswered at the end; %.0f/s measured\n",
                static_cast<unsigned long long>(run.live.hooks_ok.load()),
                static_cast<unsigned long long>(run.live.hooks_bad.load()),
                static_cast<unsigned long long>(t.unanswered),
                t.hook_seconds > 0 ? static_cast<double>(a.hooks_measured) / t.hook_seconds : 0);
    print_latency("answer", a.webhook);
    print_latency("write -> answer", a.exchange);
  }
  if (o.agents > 0) {
    std::printf(
        "agents (%u sessions in %u tenants, up in %.2f s): %llu up, %llu failed, %llu lost\n",
        o.agents, o.tenants, t.connect_seconds,
        static_cast<unsigned long long>(run.live.agents_up.load()),
        static_cast<unsigned long long>(run.live.agents_failed.load()),
        static_cast<unsigned long long>(run.live.agents_lost.load()));
    std::printf("  %.0f event frames/s, %llu patient messages seen, %llu read marks\n",
                static_cast<double>(a.frames_measured) / t.seconds,
                static_cast<unsigned long long>(a.messages_in),
                static_cast<unsigned long long>(a.reads_ok));
    print_latency("webhook -> agent", a.delivery);
    if (o.reply_rate > 0 || o.reply_window > 0) {
      std::printf("  %llu replies answered ok (%.0f/s)\n",
                  static_cast<unsigned long long>(a.replies_ok),
                  static_cast<double>(a.replies_ok) / t.seconds);
      print_latency("reply -> ok", a.reply_ack);
      print_latency("reply -> sent", a.reply_sent);
    }
    if (t.rss_before >= 0)
      std::printf("  gateway resident memory %ld -> %ld KiB: %.0f bytes per session\n",
                  t.rss_before, t.rss_after,
                  run.live.agents_up.load() > 0
                      ? static_cast<double>(t.rss_after - t.rss_before) * 1024.0 /
                            static_cast<double>(run.live.agents_up.load())
                      : 0.0);
  }
  if (t.sim_before >= 0 && t.sim_after >= 0)
    std::printf("provider_sim accepted %lld messages in the measured time (%.0f/s)\n",
                t.sim_after - t.sim_before,
                static_cast<double>(t.sim_after - t.sim_before) / t.seconds);
  if (a.errors.empty()) {
    std::printf("errors: none\n");
  } else {
    std::printf("errors:\n");
    for (const auto& [k, v] : a.errors)
      std::printf("  %-50s %llu\n", k.c_str(), static_cast<unsigned long long>(v));
  }
}

// Webhooks only, and every request of the --requests budget answered.
bool budget_answered(const run_state& run) {
  const auto& o = run.opt;
  return o.kind != provider::none && o.agents == 0 && run.live.issued.load() >= o.requests &&
         run.live.hooks_ok.load() + run.live.hooks_bad.load() >= o.requests;
}

// One line a second on stderr (rewritten in place on a terminal).
void progress(const run_state& run, clock_type::time_point since, std::uint64_t& last_hooks,
              std::uint64_t& last_frames, std::uint64_t& last_replies) {
  const auto& l = run.live;
  auto now = clock_type::now();
  auto hooks = l.hooks_ok.load(), frames = l.frames.load(), replies = l.replies_ok.load();
  bool tty = isatty(2);
  std::fprintf(stderr,
               "%s[%5.1f s] webhooks %llu/s (%llu ok, %llu failed)  agents %llu up  "
               "frames %llu/s  replies %llu/s%s",
               tty ? "\r" : "", std::chrono::duration<double>(now - since).count(),
               static_cast<unsigned long long>(hooks - last_hooks),
               static_cast<unsigned long long>(hooks),
               static_cast<unsigned long long>(l.hooks_bad.load()),
               static_cast<unsigned long long>(l.agents_up.load()),
               static_cast<unsigned long long>(frames - last_frames),
               static_cast<unsigned long long>(replies - last_replies), tty ? "   " : "\n");
  last_hooks = hooks, last_frames = frames, last_replies = replies;
}

}  // namespace

int main(int argc, char** argv) {
  auto opt = parse_options(argc, argv);
  run_state run{opt, {}, {}};
  webhook_source source(opt);
  std::vector<std::string> prepared;
  if (opt.kind != provider::none && !opt.stamp) {
    // Signed before the clock starts: the client spends its CPU on sockets,
    // not on HMAC (it shares the cores with the gateway).
    prepared.reserve(opt.requests);
    for (std::uint64_t i = 0; i < opt.requests; ++i)
      prepared.push_back(source.request(opt.id_base + i));
  }

  std::vector<std::unique_ptr<asio::io_context>> owned;
  std::vector<asio::io_context*> contexts;
  std::vector<thread_results> results(opt.threads);
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> work;
  for (unsigned t = 0; t < opt.threads; ++t) {
    owned.push_back(std::make_unique<asio::io_context>(1));
    contexts.push_back(owned.back().get());
    work.push_back(asio::make_work_guard(*owned.back()));
  }
  std::vector<std::thread> threads;
  for (auto* ioc : contexts) threads.emplace_back([ioc] { ioc->run(); });

  totals t;
  if (opt.gateway_pid) t.rss_before = resident_kib(opt.gateway_pid);
  agent_pool agents(run, contexts, results);
  if (opt.agents > 0) {
    auto t0 = clock_type::now();
    agents.connect_all(t0 + std::chrono::seconds(120));
    t.connect_seconds = std::chrono::duration<double>(clock_type::now() - t0).count();
    if (!opt.quiet)
      std::fprintf(stderr, "gateway-load: %llu of %u agent sessions up in %.2f s\n",
                   static_cast<unsigned long long>(run.live.agents_up.load()), opt.agents,
                   t.connect_seconds);
    if (opt.gateway_pid) {
      std::this_thread::sleep_for(std::chrono::seconds(1));  // the gateway settles
      t.rss_after = resident_kib(opt.gateway_pid);
    }
  }

  auto seconds = [](double s) {
    return std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(s));
  };
  auto begin = clock_type::now();
  run.clock.start = begin + std::chrono::milliseconds(100);  // connections open first
  run.clock.record_from = run.clock.start + seconds(opt.warmup);
  run.clock.end = run.clock.record_from + seconds(opt.duration);
  if (opt.kind != provider::none) start_webhooks(run, contexts, results, source, prepared);
  agents.start_traffic();
  // The simulator's count at both ends of the measured time.
  std::thread sim_poll;
  if (opt.sim_port)
    sim_poll = std::thread([&] {
      std::this_thread::sleep_until(run.clock.record_from);
      t.sim_before = sim_accepted(opt);
      std::this_thread::sleep_until(run.clock.end);
      t.sim_after = sim_accepted(opt);
    });

  // Answers still on their way at `end` get a little longer, then the
  // contexts stop: the run is bounded whatever the gateway does.
  std::uint64_t h = 0, f = 0, r = 0;
  for (auto next = begin + std::chrono::seconds(1); next < run.clock.end + std::chrono::seconds(1);
       next += std::chrono::seconds(1)) {
    std::this_thread::sleep_until(next);
    if (!opt.quiet) progress(run, begin, h, f, r);
    if (budget_answered(run)) break;  // nothing left to send or to wait for
  }
  if (!opt.quiet && isatty(2)) std::fputc('\n', stderr);
  for (auto* ioc : contexts) ioc->stop();
  for (auto& th : threads) th.join();
  if (sim_poll.joinable()) sim_poll.join();
  for (const auto& res : results) {
    auto& a = t.all;
    a.webhook.merge(res.webhook);
    a.exchange.merge(res.exchange);
    a.delivery.merge(res.delivery);
    a.reply_ack.merge(res.reply_ack);
    a.reply_sent.merge(res.reply_sent);
    a.hooks_measured += res.hooks_measured;
    a.frames_measured += res.frames_measured;
    a.messages_in += res.messages_in;
    a.reads_ok += res.reads_ok;
    a.replies_ok += res.replies_ok;
    a.last_answer = std::max(a.last_answer, res.last_answer);
    for (const auto& [k, v] : res.errors) a.errors[k] += v;
  }
  t.seconds = opt.duration;
  auto issued = std::min(run.live.issued.load(), opt.requests);
  t.unanswered = issued - std::min(issued, run.live.hooks_ok.load() + run.live.hooks_bad.load());
  t.hook_seconds = opt.duration;
  // The --requests budget ran out early: the rate is over the time it lasted.
  if (opt.kind != provider::none && run.live.issued.load() >= opt.requests &&
      t.all.last_answer > run.clock.record_from) {
    t.hook_seconds =
        std::chrono::duration<double>(t.all.last_answer - run.clock.record_from).count();
    t.all.error("note: the --requests budget ran out (rate measured over the time it lasted)");
  }
  if (opt.json)
    print_json(opt, run, t);
  else
    print_text(opt, run, t);
  std::fflush(stdout);
  bool clean = run.live.hooks_bad.load() == 0 && run.live.agents_failed.load() == 0 &&
               run.live.agents_lost.load() == 0;
  std::_Exit(clean ? 0 : 1);  // sessions are left to the kernel to close
}

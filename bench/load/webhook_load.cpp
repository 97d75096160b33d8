// webhook_load: keep-alive POSTs of signed ~1 KB WhatsApp webhooks, each
// with a fresh message id, spread over many conversations. Two modes:
//
//   closed loop (default): every connection sends its next request when the
//     previous answer arrives; measures the maximum rate.
//   --rate R: requests are scheduled at R per second in total; latency is
//     measured from the scheduled time (so a stall counts against the
//     server, no coordinated omission).
//
// Every request (headers, body, signature) is built and signed before the
// clock starts, so the client spends its CPU on sockets, not on HMAC: on a
// 2-core machine the client shares the cores with the server under test.
// With --stamp 1 each request is built and signed as it is sent instead,
// its message id carrying the send time (".lt<CLOCK_MONOTONIC ns>."), which
// agent_load reads back from the agents' frames: webhook-to-agent latency.
// Bounded: stops after --duration seconds or when the --requests prepared
// requests are used up, whichever comes first. Prints one JSON line with
// counts, rate and latency percentiles. Loopback benchmarking only.
#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bench/load/payloads.hpp"
#include "protocol/signatures.hpp"

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using clock_type = std::chrono::steady_clock;

struct options {
  std::string host = "127.0.0.1";
  unsigned short port = 0;
  std::string path = "/webhooks/whatsapp/wa-bench";
  std::string secret = "bench-app-secret";
  std::string phone_number_id = "100000000000001";
  unsigned connections = 64;
  unsigned threads = 1;
  double duration = 10;
  double warmup = 1;                   // seconds at the start that are not recorded
  std::uint64_t requests = 1'000'000;  // prepared up front (~1.2 KB each)
  double rate = 0;                     // 0: closed loop
  std::uint64_t conversations = 10'000;
  std::uint64_t id_base = 0;  // first message number (distinct runs, distinct ids)
  bool stamp = false;         // sign at send time, with the send time in the message id
};

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr,
               "webhook_load: %s\n"
               "usage: webhook_load --port P [--host H] [--path /webhooks/whatsapp/ID]\n"
               "  [--secret S] [--phone-number-id N] [--connections 64] [--threads 1]\n"
               "  [--duration 10] [--warmup 1] [--requests N] [--rate R]\n"
               "  [--conversations 10000] [--id-base 0] [--stamp 0|1]\n",
               why);
  std::exit(2);
}

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    std::string_view flag = argv[i];
    if (i + 1 >= argc) usage("every flag takes a value");
    std::string value = argv[++i];
    auto number = [&]() -> double {
      try {
        return std::stod(value);
      } catch (...) {
        usage("not a number");
      }
    };
    if (flag == "--host")
      o.host = value;
    else if (flag == "--port")
      o.port = static_cast<unsigned short>(number());
    else if (flag == "--path")
      o.path = value;
    else if (flag == "--secret")
      o.secret = value;
    else if (flag == "--phone-number-id")
      o.phone_number_id = value;
    else if (flag == "--connections")
      o.connections = static_cast<unsigned>(number());
    else if (flag == "--threads")
      o.threads = static_cast<unsigned>(number());
    else if (flag == "--duration")
      o.duration = number();
    else if (flag == "--warmup")
      o.warmup = number();
    else if (flag == "--requests")
      o.requests = static_cast<std::uint64_t>(number());
    else if (flag == "--rate")
      o.rate = number();
    else if (flag == "--conversations")
      o.conversations = static_cast<std::uint64_t>(number());
    else if (flag == "--id-base")
      o.id_base = static_cast<std::uint64_t>(number());
    else if (flag == "--stamp")
      o.stamp = number() != 0;
    else
      usage("unknown flag");
  }
  if (o.port == 0) usage("--port is required");
  if (o.connections == 0 || o.threads == 0 || o.conversations == 0) usage("counts must be > 0");
  if (o.duration <= 0 || o.duration > 600) usage("--duration must be in (0, 600]");
  if (o.requests == 0 || o.requests > 20'000'000) usage("--requests must be in [1, 20000000]");
  return o;
}

// The raw bytes of request `n`: a fresh message id, the patient cycling over
// --conversations numbers, signed like Meta signs.
std::string build_request(const options& opt, std::uint64_t n, long long sent_ns = 0) {
  char from[32], suffix[64];
  std::snprintf(from, sizeof from, "3460%07llu",
                static_cast<unsigned long long>(n % opt.conversations));
  if (sent_ns != 0)
    std::snprintf(suffix, sizeof suffix, "%016llX.lt%lld.", static_cast<unsigned long long>(n),
                  sent_ns);
  else
    std::snprintf(suffix, sizeof suffix, "%016llX", static_cast<unsigned long long>(n));
  auto body = gw::bench::whatsapp_text_webhook(opt.phone_number_id, from, suffix);
  std::string req;
  req.reserve(body.size() + 320);
  req += "POST " + opt.path + " HTTP/1.1\r\nHost: " + opt.host +
         "\r\nUser-Agent: facebookexternalua\r\nContent-Type: application/json\r\n"
         "X-Hub-Signature-256: " +
         gw::protocol::meta_signature(opt.secret, body) +
         "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n";
  req += body;
  return req;
}

// Shared by every connection of every thread.
struct run_state {
  const options& opt;
  std::vector<std::string> prepared;
  clock_type::time_point start, record_from, end;
  std::atomic<std::uint64_t> issued{0};
  std::atomic<std::uint64_t> ok{0}, refused{0}, failed{0};
};

// Per thread: latencies in microseconds of recorded requests.
struct thread_stats {
  std::vector<std::uint32_t> latency_us;
  std::uint64_t recorded_ok = 0;
  clock_type::time_point last{};  // the last recorded answer
};

class connection : public std::enable_shared_from_this<connection> {
 public:
  connection(asio::io_context& ioc, run_state& run, thread_stats& stats, tcp::endpoint ep,
             clock_type::duration interval, clock_type::duration phase)
      : socket_(ioc),
        timer_(ioc),
        run_(run),
        stats_(stats),
        ep_(ep),
        interval_(interval),
        next_(run.start + phase) {}

  void start() { connect(); }

 private:
  void connect() {
    socket_ = tcp::socket(socket_.get_executor());
    socket_.async_connect(ep_, [self = shared_from_this()](beast::error_code ec) {
      if (ec) {
        self->run_.failed.fetch_add(1);
        return;  // this connection is done
      }
      self->socket_.set_option(tcp::no_delay(true));
      self->schedule();
    });
  }

  void schedule() {
    auto now = clock_type::now();
    if (now >= run_.end) return;
    if (interval_.count() == 0) return send(now);
    if (next_ >= run_.end) return;
    if (next_ > now) {
      timer_.expires_at(next_);
      return timer_.async_wait(
          [self = shared_from_this()](beast::error_code) { self->send(self->next_); });
    }
    send(next_);
  }

  void send(clock_type::time_point scheduled) {
    auto n = run_.issued.fetch_add(1, std::memory_order_relaxed);
    if (n >= run_.opt.requests) return;  // used up: this connection is done
    scheduled_ = scheduled;
    if (interval_.count() != 0) next_ += interval_;
    if (run_.opt.stamp)
      stamped_ = build_request(
          run_.opt, run_.opt.id_base + n,
          std::chrono::duration_cast<std::chrono::nanoseconds>(clock_type::now().time_since_epoch())
              .count());
    asio::async_write(socket_, asio::buffer(run_.opt.stamp ? stamped_ : run_.prepared[n]),
                      [self = shared_from_this()](beast::error_code ec, std::size_t) {
                        if (ec) return self->on_error();
                        self->read();
                      });
  }

  void read() {
    res_.emplace();
    http::async_read(socket_, buffer_, *res_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) {
                       if (ec) return self->on_error();
                       self->on_response();
                     });
  }

  void on_response() {
    auto now = clock_type::now();
    bool ok = res_->get().result_int() == 200;
    (ok ? run_.ok : run_.refused).fetch_add(1, std::memory_order_relaxed);
    if (scheduled_ >= run_.record_from && now <= run_.end && ok) {
      stats_.last = std::max(stats_.last, now);
      auto us = std::chrono::duration_cast<std::chrono::microseconds>(now - scheduled_).count();
      stats_.latency_us.push_back(static_cast<std::uint32_t>(std::min<long long>(us, UINT32_MAX)));
      ++stats_.recorded_ok;
    }
    if (!res_->keep_alive()) {
      buffer_.clear();
      return connect();
    }
    schedule();
  }

  void on_error() {
    run_.failed.fetch_add(1, std::memory_order_relaxed);
    buffer_.clear();
    beast::error_code ignored;
    socket_.close(ignored);
    if (clock_type::now() < run_.end) connect();
  }

  tcp::socket socket_;
  asio::steady_timer timer_;
  run_state& run_;
  thread_stats& stats_;
  tcp::endpoint ep_;
  clock_type::duration interval_;  // per connection; 0 in closed loop
  clock_type::time_point next_;
  clock_type::time_point scheduled_;
  beast::flat_buffer buffer_;
  std::optional<http::response_parser<http::string_body>> res_;
  std::string stamped_;  // --stamp: this request, built at send time
};

std::uint32_t percentile(const std::vector<std::uint32_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  auto i = static_cast<std::size_t>(p * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(i, sorted.size() - 1)];
}

}  // namespace

int main(int argc, char** argv) {
  auto opt = parse(argc, argv);
  tcp::endpoint ep(asio::ip::make_address(opt.host), opt.port);
  run_state run{opt, {}, {}, {}, {}};
  if (!opt.stamp) {
    run.prepared.reserve(opt.requests);
    for (std::uint64_t i = 0; i < opt.requests; ++i)
      run.prepared.push_back(build_request(opt, opt.id_base + i));
  }
  auto seconds = [](double s) {
    return std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(s));
  };
  run.start = clock_type::now() + std::chrono::milliseconds(100);  // connect first
  run.record_from = run.start + seconds(opt.warmup);
  run.end = run.record_from + seconds(opt.duration);

  // In rate mode each connection sends every connections/rate seconds,
  // phases spread evenly so the total is smooth.
  clock_type::duration interval{0};
  if (opt.rate > 0) interval = seconds(opt.connections / opt.rate);

  std::vector<std::unique_ptr<asio::io_context>> contexts;
  std::vector<thread_stats> stats(opt.threads);
  for (unsigned t = 0; t < opt.threads; ++t)
    contexts.push_back(std::make_unique<asio::io_context>());
  for (unsigned c = 0; c < opt.connections; ++c) {
    auto phase = opt.rate > 0 ? interval * c / opt.connections : clock_type::duration{0};
    std::make_shared<connection>(*contexts[c % opt.threads], run, stats[c % opt.threads], ep,
                                 interval, phase)
        ->start();
  }
  std::vector<std::thread> threads;
  for (auto& ioc : contexts) threads.emplace_back([&ioc] { ioc->run(); });
  // Connections stop scheduling at `end`; an answer that never comes is cut
  // off a little later.
  std::this_thread::sleep_until(run.end + std::chrono::seconds(2));
  for (auto& ioc : contexts) ioc->stop();
  for (auto& t : threads) t.join();

  std::vector<std::uint32_t> all;
  std::uint64_t recorded = 0;
  auto last = run.record_from;
  for (auto& s : stats) {
    all.insert(all.end(), s.latency_us.begin(), s.latency_us.end());
    recorded += s.recorded_ok;
    last = std::max(last, s.last);
  }
  // Requests used up early: the rate is over the time actually measured.
  bool exhausted = run.issued.load() >= opt.requests;
  double measured =
      exhausted ? std::chrono::duration<double>(last - run.record_from).count() : opt.duration;
  if (exhausted)
    std::fprintf(stderr, "webhook_load: the %llu requests ran out after %.1f s\n",
                 static_cast<unsigned long long>(opt.requests), measured);
  std::sort(all.begin(), all.end());
  std::printf(
      "{\"mode\":\"%s\",\"target_rate\":%.0f,\"connections\":%u,\"seconds\":%.1f,"
      "\"ok\":%llu,\"refused\":%llu,\"failed\":%llu,\"recorded\":%llu,\"rate\":%.0f,"
      "\"p50_us\":%u,\"p90_us\":%u,\"p99_us\":%u,\"max_us\":%u}\n",
      opt.rate > 0 ? "rate" : "closed", opt.rate, opt.connections, measured,
      static_cast<unsigned long long>(run.ok.load()),
      static_cast<unsigned long long>(run.refused.load()),
      static_cast<unsigned long long>(run.failed.load()), static_cast<unsigned long long>(recorded),
      measured > 0 ? static_cast<double>(recorded) / measured : 0.0, percentile(all, 0.50),
      percentile(all, 0.90), percentile(all, 0.99), all.empty() ? 0u : all.back());
  return run.refused.load() + run.failed.load() == 0 ? 0 : 1;
}

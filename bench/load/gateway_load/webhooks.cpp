#include "bench/load/gateway_load/webhooks.hpp"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>

#include "bench/load/payloads.hpp"
#include "protocol/signatures.hpp"
#include "protocol/twilio_webhook.hpp"

namespace gw::load {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

std::string stamp_text(std::int64_t sent_ns) {
  return sent_ns == 0 ? std::string{} : " " + std::string(stamp_marker) + std::to_string(sent_ns);
}

std::string http_request(const options& opt, std::string_view path, std::string_view type,
                         std::string_view signature_header, std::string_view signature,
                         std::string_view body) {
  std::string req;
  req.reserve(body.size() + 320);
  req += "POST ";
  req += path;
  req += " HTTP/1.1\r\nHost: " + opt.host + ":" + std::to_string(opt.port) + "\r\nContent-Type: ";
  req += type;
  req += "\r\n";
  req += signature_header;
  req += ": ";
  req += signature;
  req += "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n";
  req += body;
  return req;
}

class connection : public std::enable_shared_from_this<connection> {
 public:
  connection(asio::io_context& ioc, run_state& run, thread_results& mine,
             const webhook_source& source, const std::vector<std::string>& prepared,
             tcp::endpoint ep, clock_type::duration interval, clock_type::duration phase)
      : socket_(ioc),
        timer_(ioc),
        run_(run),
        mine_(mine),
        source_(source),
        prepared_(prepared),
        ep_(ep),
        interval_(interval),
        next_(run.clock.start + phase) {}

  void connect() {
    socket_ = tcp::socket(socket_.get_executor());
    socket_.async_connect(ep_, [self = shared_from_this()](beast::error_code ec) {
      if (ec) return self->fail("webhook connect: " + ec.message(), false);
      self->socket_.set_option(tcp::no_delay(true));
      self->schedule();
    });
  }

 private:
  void schedule() {
    auto now = clock_type::now();
    if (now >= run_.clock.end) return;
    if (interval_.count() == 0) {  // closed loop
      if (now < run_.clock.start) return wait_until(run_.clock.start);
      return send(now);
    }
    if (next_ >= run_.clock.end) return;
    if (next_ > now) return wait_until(on_grid(next_));
    send(next_);
  }

  // The first multiple of --tick-us (from the start) at or after t: the
  // connections due within one tick share a timer expiry, and the thread
  // wakes once for all of them, not once per send.
  clock_type::time_point on_grid(clock_type::time_point t) const {
    const clock_type::duration tick = std::chrono::microseconds(run_.opt.tick_us);
    if (tick.count() == 0) return t;
    auto since = t - run_.clock.start;
    return run_.clock.start + (since + tick - clock_type::duration{1}) / tick * tick;
  }

  void wait_until(clock_type::time_point t) {
    timer_.expires_at(t);
    timer_.async_wait([self = shared_from_this()](beast::error_code) { self->schedule(); });
  }

  void send(clock_type::time_point scheduled) {
    auto n = run_.live.issued.fetch_add(1, std::memory_order_relaxed);
    if (n >= run_.opt.requests) return;  // the budget is spent: this connection is done
    scheduled_ = scheduled;
    if (interval_.count() != 0) next_ += interval_;
    const std::string* req;
    if (run_.opt.stamp) {
      stamped_ = source_.request(run_.opt.id_base + n, mono_ns());
      req = &stamped_;
    } else {
      req = &prepared_[n];
    }
    written_ = clock_type::now();
    asio::async_write(socket_, asio::buffer(*req),
                      [self = shared_from_this()](beast::error_code ec, std::size_t) {
                        if (ec) return self->fail("webhook write: " + ec.message(), true);
                        self->read();
                      });
  }

  void read() {
    res_.emplace();
    http::async_read(socket_, buffer_, *res_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) {
                       if (ec) return self->fail("webhook read: " + ec.message(), true);
                       self->on_response();
                     });
  }

  void on_response() {
    auto now = clock_type::now();
    auto status = res_->get().result_int();
    if (status == 200) {
      run_.live.hooks_ok.fetch_add(1, std::memory_order_relaxed);
      // Throughput: answers that arrive in the measured time. Latency: of
      // requests scheduled in it (an overloaded server's backlog from the
      // warm-up is not charged twice).
      if (run_.clock.measuring(now)) {
        ++mine_.hooks_measured;
        mine_.last_answer = std::max(mine_.last_answer, now);
        if (scheduled_ >= run_.clock.record_from) {
          mine_.webhook.record(micros(now - scheduled_));
          mine_.exchange.record(micros(now - written_));
        }
      }
    } else {
      run_.live.hooks_bad.fetch_add(1, std::memory_order_relaxed);
      mine_.error("webhook http " + std::to_string(status));
    }
    if (!res_->keep_alive()) {
      buffer_.clear();
      return connect();
    }
    schedule();
  }

  // Counts the failure and reconnects while the run lasts.
  void fail(const std::string& what, bool reconnect) {
    run_.live.hooks_bad.fetch_add(1, std::memory_order_relaxed);
    mine_.error(what);
    buffer_.clear();
    beast::error_code ignored;
    socket_.close(ignored);
    if (reconnect && clock_type::now() < run_.clock.end) connect();
  }

  tcp::socket socket_;
  asio::steady_timer timer_;
  run_state& run_;
  thread_results& mine_;
  const webhook_source& source_;
  const std::vector<std::string>& prepared_;
  tcp::endpoint ep_;
  clock_type::duration interval_;  // 0: closed loop
  clock_type::time_point next_, scheduled_, written_;
  beast::flat_buffer buffer_;
  std::optional<http::response_parser<http::string_body>> res_;
  std::string stamped_;
};

}  // namespace

webhook_source::webhook_source(const options& opt) : opt_(opt) {
  std::string base = opt.kind == provider::twilio ? "/webhooks/twilio/" : "/webhooks/whatsapp/";
  for (unsigned t = 0; t < opt.tenants; ++t) {
    paths_.push_back(base + opt.channel_of(t));
    phone_number_ids_.push_back(opt.phone_number_id_of(t));
  }
}

std::string webhook_source::patient(std::uint64_t n) const {
  char digits[32];
  std::snprintf(digits, sizeof digits, "3460%07llu",
                static_cast<unsigned long long>(n % opt_.conversations));
  return "+" + std::string(digits);
}

std::string webhook_source::request(std::uint64_t n, std::int64_t sent_ns) const {
  char id[24];
  std::snprintf(id, sizeof id, "%016llX", static_cast<unsigned long long>(n));
  auto from = patient(n);
  auto tenant = static_cast<unsigned>(n % opt_.conversations % opt_.tenants);
  const auto& path = paths_[tenant];
  if (opt_.kind == provider::twilio) {
    auto params =
        bench::twilio_sms_params(opt_.number, from, std::string(16, '0') + id, stamp_text(sent_ns));
    auto signature = protocol::twilio_signature(opt_.secret, opt_.public_url + path, params);
    return http_request(opt_, path, "application/x-www-form-urlencoded", "X-Twilio-Signature",
                        signature, protocol::encode_form(params));
  }
  const auto now_s = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
  auto body = bench::whatsapp_text_webhook(phone_number_ids_[tenant], from.substr(1), id, now_s,
                                           stamp_text(sent_ns));
  return http_request(opt_, path, "application/json", "X-Hub-Signature-256",
                      protocol::meta_signature(opt_.secret, body), body);
}

void start_webhooks(run_state& run, const std::vector<asio::io_context*>& contexts,
                    std::vector<thread_results>& results, const webhook_source& source,
                    const std::vector<std::string>& prepared) {
  const auto& opt = run.opt;
  tcp::endpoint ep(asio::ip::make_address(opt.host), opt.port);
  // Open loop: each connection sends every connections/rate seconds, the
  // phases spread evenly so that the total is smooth.
  clock_type::duration interval{0};
  if (opt.rate > 0)
    interval = std::chrono::duration_cast<clock_type::duration>(
        std::chrono::duration<double>(opt.connections / opt.rate));
  for (unsigned c = 0; c < opt.connections; ++c) {
    auto t = c % contexts.size();
    auto phase = opt.rate > 0 ? interval * c / opt.connections : clock_type::duration{0};
    auto conn = std::make_shared<connection>(*contexts[t], run, results[t], source, prepared, ep,
                                             interval, phase);
    asio::post(*contexts[t], [conn] { conn->connect(); });
  }
}

}  // namespace gw::load

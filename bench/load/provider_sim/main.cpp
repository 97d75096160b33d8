// provider_sim: WhatsApp Cloud API and Twilio Messages on loopback, for
// tests and load runs. It authenticates and checks every send like the real
// APIs, enforces each sender's throughput and WhatsApp's pair rate (with
// the providers' real error bodies), injects the configured faults, sends
// signed status webhooks back, and counts every accepted message per
// idempotency key so a test can prove nothing was sent twice.
//
//   provider_sim --config sim.json [--listen 127.0.0.1:0] [--duration S]
//
// Prints {"listening":PORT} on stdout once it accepts connections, serves
// GET /sim/stats (JSON counters) and GET /healthz, and stops by itself
// after duration_s (or on SIGTERM/SIGINT), printing its final stats.
// Loopback only: it is a test double, not a server to expose.
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

#include "bench/load/provider_sim/sim_config.hpp"
#include "bench/load/provider_sim/sim_core.hpp"
#include "bench/load/provider_sim/status_sender.hpp"
#include "gateway/net/http_wire.hpp"
#include "protocol/signatures.hpp"
#include "protocol/twilio_webhook.hpp"

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using tcp = asio::ip::tcp;
using namespace gw::sim;

gw::protocol::nanos now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::vector<std::string_view> split_path(std::string_view target) {
  target = target.substr(0, target.find('?'));
  std::vector<std::string_view> parts;
  while (!target.empty()) {
    if (target.front() == '/') {
      target.remove_prefix(1);
      continue;
    }
    auto slash = target.find('/');
    parts.push_back(target.substr(0, slash));
    target = slash == std::string_view::npos ? std::string_view{} : target.substr(slash);
  }
  return parts;
}

// The provider APIs: one request in, one answer out (the session acts on it).
class provider {
 public:
  provider(const config& c, sim_core& core, status_sender& statuses)
      : cfg_(c), core_(core), statuses_(statuses) {}

  answer handle(const http::request<http::string_body>& req) {
    auto parts = split_path(req.target());
    if (req.method() == http::verb::get && req.target() == "/sim/stats")
      return json_answer(200, json::serialize(core_.stats(now_ns())));
    if (req.method() == http::verb::get && req.target() == "/healthz")
      return json_answer(200, R"({"status":"ok"})");
    if (req.method() == http::verb::post && parts.size() == 3 && parts[2] == "messages")
      return whatsapp(req, parts[1]);
    if (req.method() == http::verb::post && parts.size() == 4 && parts[0] == "2010-04-01" &&
        parts[1] == "Accounts" && parts[3] == "Messages.json")
      return twilio(req, parts[2]);
    core_.count_refusal("not_found");
    return json_answer(404, R"({"error":"no such route"})");
  }

 private:
  static answer json_answer(unsigned status, std::string body) {
    answer a;
    a.status = status;
    a.body = std::move(body);
    return a;
  }
  answer refuse(std::string_view why, unsigned status, std::string body) {
    core_.count_refusal(why);
    return json_answer(status, std::move(body));
  }

  answer whatsapp(const http::request<http::string_body>& req, std::string_view pnid) {
    const whatsapp_number* n = nullptr;
    for (const auto& w : cfg_.whatsapp)
      if (w.phone_number_id == pnid) n = &w;
    if (!n)
      return refuse("unknown_sender", 400,
                    sim_core::whatsapp_error(100, "Invalid parameter",
                                             "Object with ID does not exist or lacks permission"));
    if (req[http::field::authorization] != "Bearer " + n->access_token)
      return refuse("unauthorized", 401,
                    sim_core::whatsapp_error(190, "Invalid OAuth access token.", ""));
    json::error_code ec;
    auto body = json::parse(req.body(), ec);
    auto* o = ec ? nullptr : body.if_object();
    auto text = [&](std::string_view k) -> std::string {
      auto* v = o ? o->if_contains(k) : nullptr;
      return v && v->is_string() ? std::string(v->get_string()) : std::string{};
    };
    auto type = text("type");
    bool typed = o && !type.empty() && o->if_contains(type) && o->at(type).is_object();
    if (text("messaging_product") != "whatsapp" || text("to").empty() || !typed)
      return refuse(
          "invalid", 400,
          sim_core::whatsapp_error(100, "Invalid parameter",
                                   "messaging_product, to, type and its object are required"));
    if (type == "template") {  // a name and a language code, as the Cloud API requires
      const auto& t = o->at("template").as_object();
      auto* name = t.if_contains("name");
      auto* lang = t.if_contains("language");
      auto* code = lang && lang->is_object() ? lang->as_object().if_contains("code") : nullptr;
      if (!name || !name->is_string() || !code || !code->is_string())
        return refuse("invalid", 400,
                      sim_core::whatsapp_error(100, "Invalid parameter",
                                               "template.name and template.language.code are "
                                               "required"));
    }
    send_request r{api::whatsapp,
                   n->phone_number_id,
                   text("to"),
                   std::string(req["Idempotency-Key"]),
                   n->messages_per_second,
                   n->pair_interval_ms,
                   n->pair_burst};
    if (r.key.empty()) r.key = text("biz_opaque_callback_data");
    auto a = core_.decide(r, now_ns());
    if (a.accepted)
      statuses_.whatsapp_sent(*n, a.id, r.recipient, text("biz_opaque_callback_data"));
    return a;
  }

  answer twilio(const http::request<http::string_body>& req, std::string_view sid) {
    const twilio_account* acct = nullptr;
    for (const auto& t : cfg_.twilio)
      if (t.account_sid == sid) acct = &t;
    if (!acct)
      return refuse("unknown_sender", 404,
                    sim_core::twilio_error(20404, "The requested resource was not found", 404));
    auto expected = "Basic " + gw::protocol::base64(acct->account_sid + ":" + acct->auth_token);
    if (req[http::field::authorization] != expected)
      return refuse("unauthorized", 401, sim_core::twilio_error(20003, "Authenticate", 401));
    auto form = gw::protocol::parse_form(req.body());
    auto get = [&](std::string_view k) -> std::string {
      if (form)
        for (const auto& [name, value] : *form)
          if (name == k) return value;
      return {};
    };
    if (get("To").empty())
      return refuse("invalid", 400,
                    sim_core::twilio_error(21604, "A 'To' phone number is required.", 400));
    if (get("From").empty())
      return refuse("invalid", 400,
                    sim_core::twilio_error(21603, "A 'From' phone number is required.", 400));
    if (get("Body").empty() && get("MediaUrl").empty() && get("ContentSid").empty())
      return refuse("invalid", 400,
                    sim_core::twilio_error(21602, "Message body is required.", 400));
    send_request r{api::twilio,
                   get("From"),
                   get("To"),
                   std::string(req["Idempotency-Key"]),
                   acct->messages_per_second,
                   0,
                   1};
    auto a = core_.decide(r, now_ns());
    if (a.accepted)
      statuses_.twilio_sent(*acct, a.id, r.sender, r.recipient, get("StatusCallback"));
    return a;
  }

  const config& cfg_;
  sim_core& core_;
  status_sender& statuses_;
};

class session : public std::enable_shared_from_this<session> {
 public:
  session(tcp::socket s, provider& p, sim_core& core)
      : socket_(std::move(s)), delay_(socket_.get_executor()), provider_(p), core_(core) {
    core_.connection_opened();
  }
  ~session() { core_.connection_closed(); }
  session(const session&) = delete;
  session& operator=(const session&) = delete;

  void read() {
    parser_.emplace();
    parser_->body_limit(1024 * 1024);
    // A client that pipelines leaves its next request in the buffer.
    beast::error_code parse_ec;
    std::size_t used = 0;
    if (gw::net::parse_buffered(*parser_, buf_, true, parse_ec, used)) {
      if (parse_ec) return close();
      return on_request(parser_->release());
    }
    http::async_read(socket_, buf_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) {
                       if (ec) return self->close();
                       self->on_request(self->parser_->release());
                     });
  }

 private:
  void on_request(http::request<http::string_body> req) {
    auto a = provider_.handle(req);
    if (a.act == answer::action::drop) return close();
    if (a.act == answer::action::silent) return read();  // no answer; wait for the client to go
    res_ = {static_cast<http::status>(a.status), req.version()};
    res_.set(http::field::content_type, "application/json");
    if (!a.retry_after.empty()) res_.set(http::field::retry_after, a.retry_after);
    res_.body() = std::move(a.body);
    res_.keep_alive(req.keep_alive());
    res_.prepare_payload();
    if (a.delay_ms == 0) return write();
    delay_.expires_after(std::chrono::milliseconds(a.delay_ms));
    delay_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (!ec) self->write();
    });
  }

  // The answer goes out as one buffer (gateway/net/http_wire.hpp): the
  // simulator shares the cores with what it measures, so it spends little.
  void write() {
    out_.clear();
    gw::net::serialize(res_, out_);
    asio::async_write(socket_, asio::buffer(out_),
                      [self = shared_from_this()](beast::error_code ec, std::size_t) {
                        if (ec || !self->res_.keep_alive()) return self->close();
                        self->read();
                      });
  }

  void close() {
    beast::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
  }

  tcp::socket socket_;  // no timeouts here: the clients under test keep their own
  beast::flat_buffer buf_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> res_;
  std::string out_;
  asio::steady_timer delay_;
  provider& provider_;
  sim_core& core_;
};

void accept(tcp::acceptor& a, provider& p, sim_core& core) {
  a.async_accept([&a, &p, &core](beast::error_code ec, tcp::socket s) {
    if (ec) return;
    s.set_option(tcp::no_delay(true));
    std::make_shared<session>(std::move(s), p, core)->read();
    accept(a, p, core);
  });
}

[[noreturn]] void usage(const std::string& why) {
  std::fprintf(stderr,
               "provider_sim: %s\nusage: provider_sim --config FILE [--listen HOST:PORT] "
               "[--duration SECONDS]\n",
               why.c_str());
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_file, listen, duration;
  for (int i = 1; i < argc; ++i) {
    std::string_view flag = argv[i];
    if (flag == "--help") usage("loopback stand-in for the WhatsApp Cloud and Twilio APIs");
    if (i + 1 >= argc) usage("every flag takes a value");
    if (flag == "--config")
      config_file = argv[++i];
    else if (flag == "--listen")
      listen = argv[++i];
    else if (flag == "--duration")
      duration = argv[++i];
    else
      usage("unknown flag " + std::string(flag));
  }
  if (config_file.empty()) usage("--config is required");
  std::ifstream in(config_file);
  if (!in) usage("cannot read " + config_file);
  std::stringstream text;
  text << in.rdbuf();
  config cfg;
  try {
    cfg = parse_config(text.str());
    if (!listen.empty()) cfg.listen = listen;
    if (!duration.empty()) cfg.duration_s = static_cast<unsigned>(std::stoul(duration));
  } catch (const std::exception& e) {
    usage(e.what());
  }
  auto colon = cfg.listen.rfind(':');
  if (colon == std::string::npos) usage("listen must be HOST:PORT");
  auto host = cfg.listen.substr(0, colon);
  auto port = static_cast<unsigned short>(std::stoul(cfg.listen.substr(colon + 1)));
  beast::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  if (ec || !address.is_loopback()) usage("listen must be a loopback address");

  asio::io_context ioc(1);
  sim_core core(cfg);
  status_sender statuses(ioc, cfg, core);
  provider api(cfg, core, statuses);
  tcp::acceptor acceptor(ioc, {address, port});
  accept(acceptor, api, core);
  std::printf("{\"listening\":%u}\n", acceptor.local_endpoint().port());
  std::fflush(stdout);

  auto stop = [&] {
    acceptor.close();
    statuses.close();
    ioc.stop();
  };
  asio::signal_set signals(ioc, SIGINT, SIGTERM);
  signals.async_wait([&](beast::error_code, int) { stop(); });
  asio::steady_timer deadline(ioc, std::chrono::seconds(cfg.duration_s));
  deadline.async_wait([&](beast::error_code e) {
    if (!e) stop();
  });
  ioc.run();
  std::printf("%s\n", json::serialize(core.stats(now_ns())).c_str());
  return 0;
}

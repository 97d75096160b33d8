// Keep-alive HTTP/1.1 client connections and the per-origin pool.
#include "gateway/net/http_client.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <charconv>
#include <stdexcept>
#include <vector>

#include "gateway/net/http_wire.hpp"
#include "gateway/runtime/thread_name.hpp"

namespace gw::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using steady = std::chrono::steady_clock;

std::string origin::key() const {
  return std::string(tls ? "https://" : "http://") + host + ":" + std::to_string(port);
}

std::optional<origin> parse_origin(std::string_view url) {
  origin o;
  if (url.starts_with("https://")) {
    url.remove_prefix(8);
  } else if (url.starts_with("http://")) {
    o.tls = false;
    o.port = 80;
    url.remove_prefix(7);
  } else {
    return std::nullopt;
  }
  auto slash = url.find('/');
  auto authority = url.substr(0, slash);
  o.path = slash == std::string_view::npos ? "" : std::string(url.substr(slash));
  while (!o.path.empty() && o.path.back() == '/') o.path.pop_back();
  if (authority.empty() || authority.find('@') != std::string_view::npos ||
      o.path.find_first_of("?#") != std::string::npos)
    return std::nullopt;
  std::string_view host = authority;
  if (authority.front() == '[') {  // [IPv6]:port
    auto close = authority.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = authority.substr(1, close - 1);
    authority.remove_prefix(close + 1);
    if (!authority.empty() && authority.front() != ':') return std::nullopt;
  } else if (auto colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    authority.remove_prefix(colon);
  } else {
    authority = {};
  }
  if (!authority.empty()) {  // ":port"
    auto digits = authority.substr(1);
    unsigned port = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
    if (ec != std::errc{} || end != digits.data() + digits.size() || port == 0 || port > 65535)
      return std::nullopt;
    o.port = static_cast<std::uint16_t>(port);
  }
  if (host.empty()) return std::nullopt;
  o.host = std::string(host);
  return o;
}

namespace {
// Asio resolves names on a private thread per io_context, which the first
// async_resolve starts, and a thread inherits its creator's name: started
// from a shard as it is, `top -H` and /metrics' CPU by thread would show
// two gw-shard-N. The name the first resolve on this thread should start
// it under (gw-dns-N on shard N), or "" once it has started.
std::string resolver_thread_name() {
  static thread_local bool started = false;
  if (std::exchange(started, true)) return {};
  auto name = runtime::this_thread_name();
  constexpr std::string_view shard = "gw-shard-";
  return name.starts_with(shard) ? "gw-dns-" + name.substr(shard.size()) : name;
}
}  // namespace

// One connection: connect (resolve, TCP, TLS), then any number of
// request/answer exchanges, one at a time. Holds the current request's
// completion, so it is called exactly once even if the pool is gone.
class http_client_pool::connection : public std::enable_shared_from_this<connection> {
 public:
  using exchange_fn = std::function<void(client_result, bool reusable)>;

  connection(asio::io_context& ioc, ssl::context& tls, const origin& o, const client_options& opts)
      : resolver_(ioc), deadline_(ioc), where_(o), opts_(opts) {
    if (o.tls)
      tls_stream_ = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(ioc, tls);
    else
      plain_ = std::make_unique<beast::tcp_stream>(ioc);
  }

  void connect(std::function<void(std::string error)> on_done) {
    arm(opts_.connect_timeout);
    auto then = [self = shared_from_this(), on_done = std::move(on_done)](std::string error) {
      self->deadline_.cancel();
      if (self->timed_out_)
        error = "connect " + self->where_.key() + ": timed out after " +
                std::to_string(self->opts_.connect_timeout.count()) + " ms";
      on_done(std::move(error));
    };
    auto resolve = [&] {
      resolver_.async_resolve(
          where_.host, std::to_string(where_.port),
          [self = shared_from_this(), then = std::move(then)](
              beast::error_code ec, tcp::resolver::results_type r) mutable {
            if (ec) return then("resolve " + self->where_.host + ": " + ec.message());
            self->lowest().async_connect(
                r, [self, then = std::move(then)](beast::error_code ec2,
                                                  const tcp::endpoint&) mutable {
                  if (ec2) return then("connect " + self->where_.key() + ": " + ec2.message());
                  self->lowest().socket().set_option(tcp::no_delay(true));
                  if (!self->tls_stream_) return then("");
                  self->handshake(std::move(then));
                });
          });
    };
    if (auto name = resolver_thread_name(); name.empty())
      resolve();
    else
      runtime::start_named(name, resolve);
  }

  void exchange(adapters::http_call call, const std::string& prefix, exchange_fn then) {
    then_ = std::move(then);
    req_ = {};
    req_.method(http::string_to_verb(call.method));
    req_.target(prefix + call.target);
    req_.version(11);
    bool default_port = where_.port == (where_.tls ? 443 : 80);
    req_.set(http::field::host,
             default_port ? where_.host : where_.host + ":" + std::to_string(where_.port));
    req_.set(http::field::user_agent, "gw-gateway");
    for (auto& [name, value] : call.headers) req_.set(name, value);
    req_.body() = std::move(call.body);
    req_.keep_alive(true);
    req_.prepare_payload();
    out_.clear();
    serialize(req_, out_);  // one buffer, one write
    arm(opts_.request_timeout);
    with_stream([self = shared_from_this()](auto& s) {
      asio::async_write(s, asio::buffer(self->out_), [self](beast::error_code ec, std::size_t) {
        if (ec) return self->complete("write: " + ec.message(), false);
        self->written_ = true;
        self->read_answer();
      });
    });
  }

  bool idle_too_long(steady::time_point now) const { return now - last_used_ > opts_.idle_timeout; }
  bool served_before() const noexcept { return served_ > 0; }

  void close() {
    closing_ = true;
    deadline_.cancel();
    resolver_.cancel();
    beast::error_code ignored;
    lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
    lowest().close();
  }

 private:
  beast::tcp_stream& lowest() {
    return tls_stream_ ? beast::get_lowest_layer(*tls_stream_) : *plain_;
  }

  template <class F>
  void with_stream(F f) {
    if (tls_stream_)
      f(*tls_stream_);
    else
      f(*plain_);
  }

  // Timeouts cancel the pending operation and let it complete; the socket is
  // closed only once nothing is pending on it. (Closing a socket under a
  // pending operation, as Beast's own stream timeouts do, lost the answer
  // of the next connection opened on the reused descriptor with Asio's
  // io_uring backend: provider_sim_test found it.)
  void arm(std::chrono::milliseconds limit) {
    timed_out_ = false;
    deadline_.expires_after(limit);
    deadline_.async_wait([weak = weak_from_this()](beast::error_code ec) {
      auto self = weak.lock();
      if (ec || !self) return;
      self->timed_out_ = true;
      beast::error_code ignored;
      self->resolver_.cancel();
      self->lowest().socket().cancel(ignored);
    });
  }

  void handshake(std::function<void(std::string)> then) {
    auto* native = tls_stream_->native_handle();
    beast::error_code ec;
    asio::ip::make_address(where_.host, ec);
    bool is_ip = !ec;
    // SNI names a host, never an address (RFC 6066 section 3).
    if (!is_ip && !SSL_set_tlsext_host_name(native, where_.host.c_str()))
      return then("tls: cannot set the server name");
    if (opts_.verify_peer) {
      tls_stream_->set_verify_mode(ssl::verify_peer);
      tls_stream_->set_verify_callback(ssl::host_name_verification(where_.host));
    } else {
      tls_stream_->set_verify_mode(ssl::verify_none);
    }
    tls_stream_->async_handshake(
        ssl::stream_base::client,
        [self = shared_from_this(), then = std::move(then)](beast::error_code ec2) {
          then(ec2 ? "tls handshake with " + self->where_.key() + ": " + ec2.message() : "");
        });
  }

  void read_answer() {
    parser_.emplace();
    parser_->body_limit(opts_.max_response_bytes);
    with_stream([self = shared_from_this()](auto& s) {
      http::async_read(s, self->buf_, *self->parser_, [self](beast::error_code ec, std::size_t) {
        if (ec) return self->complete("read: " + ec.message(), false);
        auto& res = self->parser_->get();
        self->result_.reply.status = res.result_int();
        self->result_.reply.body = std::move(res.body());
        if (auto it = res.find(http::field::retry_after); it != res.end())
          self->result_.reply.retry_after = std::string(it->value());
        self->complete("", res.keep_alive());
      });
    });
  }

  void complete(std::string error, bool reusable) {
    deadline_.cancel();
    if (timed_out_ && !error.empty())
      error = error.substr(0, error.find(':')) + ": timed out after " +
              std::to_string(opts_.request_timeout.count()) + " ms";
    result_.error = closing_ ? "client closed" : std::move(error);
    result_.written = written_;
    result_.reused = served_ > 0;
    result_.timed_out = timed_out_ && !result_.error.empty();
    ++served_;
    last_used_ = steady::now();
    written_ = false;
    bool keep = reusable && result_.error.empty();
    auto then = std::move(then_);
    auto result = std::move(result_);
    result_ = {};
    then(std::move(result), keep);
  }

  tcp::resolver resolver_;
  asio::steady_timer deadline_;
  bool timed_out_ = false;
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> tls_stream_;
  std::unique_ptr<beast::tcp_stream> plain_;
  origin where_;
  client_options opts_;  // a copy: completions may outlive the pool
  beast::flat_buffer buf_;
  http::request<http::string_body> req_;
  std::string out_;  // req_ as written
  std::optional<http::response_parser<http::string_body>> parser_;
  exchange_fn then_;
  client_result result_;
  bool written_ = false;
  bool closing_ = false;  // close() was called: what fails now fails because of it
  unsigned served_ = 0;
  steady::time_point last_used_ = steady::now();
};

namespace {

ssl::context make_client_tls(const client_options& o) {
  ssl::context ctx(ssl::context::tls_client);
  ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                  ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  beast::error_code ec;
  if (o.ca_file.empty())
    ctx.set_default_verify_paths(ec);
  else
    ctx.load_verify_file(o.ca_file, ec);
  if (ec)
    throw std::runtime_error("outbound TLS: cannot load CA " +
                             (o.ca_file.empty() ? std::string("default paths") : o.ca_file) + ": " +
                             ec.message());
  return ctx;
}

}  // namespace

http_client_pool::http_client_pool(asio::io_context& ioc, client_options opts)
    : ioc_(ioc),
      opts_(std::move(opts)),
      tls_(make_client_tls(opts_)),
      alive_(std::make_shared<bool>(true)) {}

http_client_pool::~http_client_pool() {
  close();
  *alive_ = false;
}

void http_client_pool::fail(done_fn done, std::string why) {
  ++stats_.failures;
  client_result r;
  r.error = std::move(why);
  asio::post(ioc_, [done = std::move(done), r = std::move(r)]() mutable { done(std::move(r)); });
}

void http_client_pool::request(const origin& o, adapters::http_call call, done_fn done) {
  if (closed_) return fail(std::move(done), "client closed");
  ++stats_.requests;
  auto [it, fresh] = hosts_.try_emplace(o.key());
  if (fresh) it->second.where = o;
  dispatch(it->second, pending{std::move(call), std::move(done)});
}

void http_client_pool::dispatch(host_pool& h, pending p) {
  auto now = steady::now();
  while (!h.idle.empty()) {
    auto c = std::move(h.idle.back());  // the most recently used is the least likely stale
    h.idle.pop_back();
    if (!c->idle_too_long(now)) {
      ++stats_.reused;
      return run_on(h, std::move(c), std::move(p));
    }
    c->close();
    --h.open;
  }
  if (h.open < opts_.max_connections_per_origin) return start_connection(h, std::move(p));
  if (h.waiting.size() >= opts_.max_waiting_per_origin) {
    ++stats_.refused_full;
    return fail(std::move(p.done), "too many requests waiting for " + h.where.key());
  }
  h.waiting.push_back(std::move(p));
}

void http_client_pool::run_on(host_pool& h, std::shared_ptr<connection> c, pending p) {
  c->exchange(std::move(p.call), h.where.path,
              [this, alive = alive_, &h, c, done = std::move(p.done)](client_result r,
                                                                      bool reusable) mutable {
                if (!r.error.empty()) ++stats_.failures;
                done(std::move(r));
                if (*alive) finished(h, std::move(c), reusable);
              });
}

void http_client_pool::finished(host_pool& h, std::shared_ptr<connection> c, bool reusable) {
  if (reusable && !closed_) {
    if (h.waiting.empty()) return h.idle.push_back(std::move(c));
    auto next = std::move(h.waiting.front());
    h.waiting.pop_front();
    return run_on(h, std::move(c), std::move(next));
  }
  c->close();
  --h.open;
  start_next_waiting(h);
}

void http_client_pool::start_next_waiting(host_pool& h) {
  if (h.waiting.empty() || closed_) return;
  auto next = std::move(h.waiting.front());
  h.waiting.pop_front();
  start_connection(h, std::move(next));
}

void http_client_pool::start_connection(host_pool& h, pending p) {
  ++h.open;
  ++stats_.connects;
  auto c = std::make_shared<connection>(ioc_, tls_, h.where, opts_);
  std::erase_if(h.live, [](const auto& w) { return w.expired(); });
  h.live.push_back(c);
  c->connect([this, alive = alive_, &h, c, p = std::move(p)](std::string error) mutable {
    if (!*alive) {
      client_result r;
      r.error = error.empty() ? "client closed" : std::move(error);
      return p.done(std::move(r));
    }
    if (error.empty() && !closed_) return run_on(h, std::move(c), std::move(p));
    ++stats_.connect_failures;
    --h.open;
    fail(std::move(p.done), error.empty() ? "client closed" : std::move(error));
    start_next_waiting(h);  // it gets a connection attempt of its own
  });
}

void http_client_pool::close() {
  if (closed_) return;
  closed_ = true;
  for (auto& [key, h] : hosts_) {
    for (auto& p : h.waiting) fail(std::move(p.done), "client closed");
    h.waiting.clear();
    h.idle.clear();
    for (auto& w : h.live)
      if (auto c = w.lock()) c->close();
    h.live.clear();
  }
}

bool http_client_pool::can_start_now(const origin& o) const {
  if (closed_) return false;
  auto it = hosts_.find(o.key());
  if (it == hosts_.end()) return true;
  const auto& h = it->second;
  return h.waiting.empty() && (!h.idle.empty() || h.open < opts_.max_connections_per_origin);
}

http_client_pool::stats http_client_pool::counters() const {
  auto s = stats_;
  for (const auto& [key, h] : hosts_) {
    s.open += h.open;
    s.idle += h.idle.size();
    s.waiting += h.waiting.size();
  }
  return s;
}

}  // namespace gw::net

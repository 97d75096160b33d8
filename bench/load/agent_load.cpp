// agent_load: many agent sessions on one gateway, for the M4 figures.
//
// Opens --sessions WebSocket sessions (gw.agent.v1, the token in the
// Authorization header), each subscribing to --views, then:
//   - reports the gateway's resident memory before and after (--gateway-pid),
//     i.e. the bytes per idle authenticated, subscribed session;
//   - counts the `ev` frames all sessions receive for --duration seconds
//     (drive webhooks with webhook_load meanwhile): frames per second
//     delivered by the fan-out.
// Single-threaded, bounded in time, loopback only. Prints one JSON line.
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

struct options {
  std::string host = "127.0.0.1";
  unsigned short port = 0;
  std::string token;
  unsigned sessions = 100;
  std::string views = R"(["new","mine"])";  // "none": authenticate only
  double duration = 10;                     // seconds of counting after every session is up
  double settle = 2;                        // seconds between "all up" and the memory reading
  long gateway_pid = 0;                     // 0: no memory figures
  unsigned parallel_connects = 200;
};

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr,
               "agent_load: %s\n"
               "usage: agent_load --port P --token T [--host H] [--sessions 100]\n"
               "  [--views '[\"new\",\"mine\"]'] [--duration 10] [--settle 2]\n"
               "  [--gateway-pid PID] [--parallel-connects 200]\n",
               why);
  std::exit(2);
}

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; i += 2) {
    std::string k = argv[i];
    if (i + 1 >= argc) usage("every flag takes a value");
    std::string v = argv[i + 1];
    if (k == "--host")
      o.host = v;
    else if (k == "--port")
      o.port = static_cast<unsigned short>(std::stoul(v));
    else if (k == "--token")
      o.token = v;
    else if (k == "--sessions")
      o.sessions = static_cast<unsigned>(std::stoul(v));
    else if (k == "--views")
      o.views = v;
    else if (k == "--duration")
      o.duration = std::stod(v);
    else if (k == "--settle")
      o.settle = std::stod(v);
    else if (k == "--gateway-pid")
      o.gateway_pid = std::stol(v);
    else if (k == "--parallel-connects")
      o.parallel_connects = static_cast<unsigned>(std::stoul(v));
    else
      usage(("unknown flag " + k).c_str());
  }
  if (o.port == 0 || o.token.empty()) usage("--port and --token are required");
  return o;
}

long rss_kib(long pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

struct counters {
  std::uint64_t up = 0, failed = 0, events = 0, other = 0;
  bool counting = false;
};

class session : public std::enable_shared_from_this<session> {
 public:
  session(asio::io_context& io, const options& o, counters& c, std::function<void()> ready)
      : ws_(io), o_(o), c_(c), ready_(std::move(ready)) {}

  void start(const tcp::endpoint& ep) {
    ws_.next_layer().async_connect(ep, [self = shared_from_this()](beast::error_code ec) {
      if (ec) return self->fail();
      self->ws_.set_option(
          websocket::stream_base::decorator([token = self->o_.token](websocket::request_type& req) {
            req.set(beast::http::field::sec_websocket_protocol, "gw.agent.v1");
            req.set(beast::http::field::authorization, "Bearer " + token);
          }));
      self->ws_.async_handshake(self->o_.host, "/v1/agent", [self](beast::error_code ec2) {
        if (ec2) return self->fail();
        if (self->o_.views == "none") return self->read();  // authenticated, no subscription
        self->sub_ = R"({"c":"sub","id":"s","v":)" + self->o_.views + "}";
        self->ws_.async_write(asio::buffer(self->sub_), [self](beast::error_code ec3, std::size_t) {
          if (ec3) return self->fail();
          self->read();
        });
      });
    });
  }

 private:
  void read() {
    buf_.clear();
    ws_.async_read(buf_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) return self->fail();
      auto text = beast::buffers_to_string(self->buf_.data());
      if (text.rfind(R"({"t":"ev")", 0) == 0) {
        if (self->c_.counting) ++self->c_.events;
      } else if (!self->ok_ &&
                 (text.rfind(R"({"t":"ok")", 0) == 0 ||
                  (self->o_.views == "none" && text.rfind(R"({"t":"hello")", 0) == 0))) {
        self->ok_ = true;  // subscribed (the hello came before), or just authenticated
        ++self->c_.up;
        self->ready_();
      } else {
        ++self->c_.other;
      }
      self->read();
    });
  }
  void fail() {
    if (!ok_) {
      ++c_.failed;
      ready_();
    }
    ok_ = true;
  }

  websocket::stream<tcp::socket> ws_;
  const options& o_;
  counters& c_;
  std::function<void()> ready_;
  beast::flat_buffer buf_;
  std::string sub_;
  bool ok_ = false;
};

}  // namespace

int main(int argc, char** argv) {
  auto o = parse(argc, argv);
  asio::io_context io;
  tcp::endpoint ep(asio::ip::make_address(o.host), o.port);
  counters c;
  long before = o.gateway_pid ? rss_kib(o.gateway_pid) : -1;
  std::vector<std::shared_ptr<session>> all;
  unsigned started = 0, finished = 0;
  std::function<void()> next = [&] {
    while (started < o.sessions && started - finished < o.parallel_connects) {
      auto s = std::make_shared<session>(io, o, c, [&] {
        ++finished;
        next();
      });
      all.push_back(s);
      ++started;
      s->start(ep);
    }
  };
  next();
  auto t0 = std::chrono::steady_clock::now();
  while (finished < o.sessions && std::chrono::steady_clock::now() - t0 < std::chrono::seconds(60))
    io.run_for(std::chrono::milliseconds(50));
  double connect_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  io.run_for(std::chrono::milliseconds(static_cast<long>(o.settle * 1000)));
  long after = o.gateway_pid ? rss_kib(o.gateway_pid) : -1;
  c.counting = true;
  auto t1 = std::chrono::steady_clock::now();
  io.run_for(std::chrono::milliseconds(static_cast<long>(o.duration * 1000)));
  double counted_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
  std::printf(
      "{\"sessions\":%u,\"up\":%llu,\"failed\":%llu,\"connect_s\":%.2f,"
      "\"rss_before_kib\":%ld,\"rss_after_kib\":%ld,\"bytes_per_session\":%.0f,"
      "\"events\":%llu,\"events_per_s\":%.0f}\n",
      o.sessions, static_cast<unsigned long long>(c.up), static_cast<unsigned long long>(c.failed),
      connect_s, before, after,
      (before >= 0 && c.up > 0) ? (after - before) * 1024.0 / static_cast<double>(c.up) : -1.0,
      static_cast<unsigned long long>(c.events), static_cast<double>(c.events) / counted_s);
  return c.failed == 0 ? 0 : 1;
}

// agent_load: many agent sessions on one gateway, for the M4 figures.
//
// Opens --sessions WebSocket sessions (gw.agent.v1, the token in the
// Authorization header) spread over --threads threads, each subscribing to
// --views, then:
//   - reports the gateway's resident memory before and after (--gateway-pid),
//     i.e. the bytes per idle authenticated, subscribed session;
//   - counts the `ev` frames all sessions receive for --duration seconds
//     (drive webhooks with `webhook_load` meanwhile): frames per second
//     delivered by the fan-out;
//   - with webhook_load --stamp, the webhook-to-agent latency of every frame
//     that carries a send time (".lt<ns>." in its message id, CLOCK_MONOTONIC
//     of the sender): p50, p90, p99, p99.9, max.
//
// The handshake is written by hand and frames are parsed in place from
// 64 KiB reads (server frames are unmasked), so one client thread keeps up
// with hundreds of thousands of frames per second; Beast's message reads
// would copy and allocate per frame. Bounded in time, loopback only. Prints
// one JSON line.
#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio.hpp>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

struct options {
  std::string host = "127.0.0.1";
  unsigned short port = 0;
  std::string token;
  unsigned sessions = 100;
  unsigned threads = 1;
  std::string views = R"(["new","mine"])";  // "none": authenticate only
  double duration = 10;                     // seconds of counting after every session is up
  double settle = 2;                        // seconds between "all up" and the memory reading
  long gateway_pid = 0;                     // 0: no memory figures
  unsigned parallel_connects = 200;
};

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr,
               "agent_load: %s\n"
               "usage: agent_load --port P --token T [--host H] [--sessions 100] [--threads 1]\n"
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
    else if (k == "--threads")
      o.threads = static_cast<unsigned>(std::stoul(v));
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
  if (o.threads == 0 || o.threads > 64) usage("--threads must be in [1, 64]");
  if (o.duration <= 0 || o.duration > 600) usage("--duration must be in (0, 600]");
  return o;
}

long rss_kib(long pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

std::int64_t mono_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Log-linear latency histogram in microseconds (HDR style: 1/32 relative
// precision), per thread, merged at the end.
class histogram {
 public:
  void record(std::int64_t us) {
    if (us < 0) us = 0;
    ++counts_[index(static_cast<std::uint64_t>(us))];
    ++total_;
    max_ = std::max(max_, us);
  }
  void merge(const histogram& o) {
    for (std::size_t i = 0; i < counts_.size(); ++i) counts_[i] += o.counts_[i];
    total_ += o.total_;
    max_ = std::max(max_, o.max_);
  }
  std::uint64_t total() const { return total_; }
  std::int64_t max() const { return max_; }
  std::int64_t percentile(double p) const {
    if (total_ == 0) return 0;
    auto want = static_cast<std::uint64_t>(p * static_cast<double>(total_ - 1)) + 1;
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < counts_.size(); ++i)
      if ((seen += counts_[i]) >= want) return std::min<std::int64_t>(upper(i), max_);
    return max_;
  }

 private:
  static constexpr unsigned sub = 32;  // buckets per power of two
  static std::size_t index(std::uint64_t v) {
    if (v < sub) return v;
    unsigned e = 63 - static_cast<unsigned>(__builtin_clzll(v));  // >= 5
    auto m = (v >> (e - 5)) & (sub - 1);
    return std::min<std::size_t>((e - 4) * sub + m, 40 * sub - 1);
  }
  static std::int64_t upper(std::size_t i) {
    if (i < sub) return static_cast<std::int64_t>(i);
    auto e = i / sub + 4, m = i % sub;
    return static_cast<std::int64_t>(((sub + m + 1) << (e - 5)) - 1);
  }
  std::array<std::uint64_t, 40 * sub> counts_{};
  std::uint64_t total_ = 0;
  std::int64_t max_ = 0;
};

struct thread_state {
  std::uint64_t up = 0, failed = 0, events = 0, other = 0, stamped = 0;
  histogram latency;
};

struct shared_state {
  const options& o;
  std::atomic<bool> counting{false};
  std::atomic<unsigned> finished{0};  // sessions up or failed
};

// A client frame: FIN + text, masked as RFC 6455 requires of clients.
std::string client_text_frame(std::string_view payload, std::mt19937& rng) {
  std::string f;
  f.push_back(static_cast<char>(0x81));
  if (payload.size() < 126) {
    f.push_back(static_cast<char>(0x80 | payload.size()));
  } else {
    f.push_back(static_cast<char>(0x80 | 126));
    f.push_back(static_cast<char>(payload.size() >> 8));
    f.push_back(static_cast<char>(payload.size() & 0xff));
  }
  std::uint32_t key = rng();
  char k[4];
  std::memcpy(k, &key, 4);
  f.append(k, 4);
  for (std::size_t i = 0; i < payload.size(); ++i) f.push_back(payload[i] ^ k[i % 4]);
  return f;
}

class session : public std::enable_shared_from_this<session> {
 public:
  session(asio::io_context& io, shared_state& shared, thread_state& mine, std::mt19937& rng)
      : socket_(io), shared_(shared), mine_(mine), rng_(rng) {}

  void start(const tcp::endpoint& ep) {
    socket_.async_connect(ep, [self = shared_from_this()](error_code ec) {
      if (ec) return self->fail();
      self->socket_.set_option(tcp::no_delay(true));
      const auto& o = self->shared_.o;
      self->out_ = "GET /v1/agent HTTP/1.1\r\nHost: " + o.host +
                   "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                   "Sec-WebSocket-Protocol: gw.agent.v1\r\nAuthorization: Bearer " +
                   o.token + "\r\n\r\n";
      asio::async_write(self->socket_, asio::buffer(self->out_),
                        [self](error_code ec2, std::size_t) {
                          if (ec2) return self->fail();
                          self->read();
                        });
    });
  }

 private:
  void read() {
    if (buf_.size() - end_ < 16 * 1024) {  // make room: keep the unparsed tail
      std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
      end_ -= begin_;
      begin_ = 0;
      if (buf_.size() - end_ < 16 * 1024) buf_.resize(buf_.size() * 2);
    }
    socket_.async_read_some(asio::buffer(buf_.data() + end_, buf_.size() - end_),
                            [self = shared_from_this()](error_code ec, std::size_t n) {
                              if (ec) return self->fail();
                              self->end_ += n;
                              if (!self->parse()) return self->fail();
                              self->read();
                            });
  }

  // Everything complete in [begin_, end_); false on a protocol error.
  bool parse() {
    if (!handshaken_) {
      auto* start = buf_.data() + begin_;
      auto* stop = buf_.data() + end_;
      auto* crlf = std::search(start, stop, "\r\n\r\n", "\r\n\r\n" + 4);
      if (crlf == stop) return true;
      if (std::strncmp(start, "HTTP/1.1 101", 12) != 0) return false;
      handshaken_ = true;
      begin_ = static_cast<std::size_t>(crlf + 4 - buf_.data());
      // Frames only after the server's answer (RFC 6455 4.1).
      if (shared_.o.views != "none") {
        auto sub = std::make_shared<std::string>(
            client_text_frame(R"({"c":"sub","id":"s","v":)" + shared_.o.views + "}", rng_));
        asio::async_write(socket_, asio::buffer(*sub), [sub](error_code, std::size_t) {});
      }
    }
    while (end_ - begin_ >= 2) {
      auto* p = reinterpret_cast<const unsigned char*>(buf_.data() + begin_);
      std::size_t avail = end_ - begin_, header = 2;
      std::uint64_t len = p[1] & 0x7f;
      if (len == 126) {
        if (avail < 4) return true;
        len = (std::uint64_t{p[2]} << 8) | p[3];
        header = 4;
      } else if (len == 127) {
        if (avail < 10) return true;
        len = 0;
        for (int i = 0; i < 8; ++i) len = (len << 8) | p[2 + i];
        header = 10;
      }
      if (p[1] & 0x80) return false;  // servers do not mask
      if (avail < header + len) {
        if (header + len > buf_.size()) buf_.resize(header + len + 64 * 1024);
        return true;
      }
      on_frame(p[0] & 0x0f, std::string_view(buf_.data() + begin_ + header, len));
      begin_ += header + len;
    }
    if (begin_ == end_) begin_ = end_ = 0;
    return true;
  }

  void on_frame(unsigned opcode, std::string_view payload) {
    if (opcode == 0x9) {  // ping: answer with a pong carrying the same payload
      auto pong = client_text_frame(payload, rng_);
      pong[0] = static_cast<char>(0x8A);
      auto keep = std::make_shared<std::string>(std::move(pong));
      asio::async_write(socket_, asio::buffer(*keep), [keep](error_code, std::size_t) {});
      return;
    }
    if (opcode == 0x8) return;  // close: the read error follows
    if (payload.starts_with(R"({"t":"ev")")) {
      if (!shared_.counting.load(std::memory_order_relaxed)) return;
      ++mine_.events;
      if (auto at = payload.find(".lt"); at != std::string_view::npos) {
        std::int64_t sent = 0;
        for (auto i = at + 3; i < payload.size() && payload[i] >= '0' && payload[i] <= '9'; ++i)
          sent = sent * 10 + (payload[i] - '0');
        if (sent > 0) {
          ++mine_.stamped;
          mine_.latency.record((mono_ns() - sent) / 1000);
        }
      }
      return;
    }
    bool answer = payload.starts_with(R"({"t":"ok")");
    bool hello = payload.starts_with(R"({"t":"hello")");
    if (!up_ && (answer || (hello && shared_.o.views == "none"))) {
      up_ = true;  // subscribed (the hello came before), or just authenticated
      ++mine_.up;
      shared_.finished.fetch_add(1);
    } else if (!hello) {
      ++mine_.other;
    }
  }

  void fail() {
    if (!up_) {
      ++mine_.failed;
      shared_.finished.fetch_add(1);
    }
    up_ = true;
  }

  tcp::socket socket_;
  shared_state& shared_;
  thread_state& mine_;
  std::mt19937& rng_;
  std::string out_;
  std::vector<char> buf_ = std::vector<char>(64 * 1024);
  std::size_t begin_ = 0, end_ = 0;
  bool handshaken_ = false;
  bool up_ = false;
};

}  // namespace

int main(int argc, char** argv) {
  auto o = parse(argc, argv);
  tcp::endpoint ep(asio::ip::make_address(o.host), o.port);
  shared_state shared{o};
  std::vector<std::unique_ptr<asio::io_context>> contexts;
  std::vector<thread_state> states(o.threads);
  std::vector<std::mt19937> rngs;
  for (unsigned t = 0; t < o.threads; ++t) {
    contexts.push_back(std::make_unique<asio::io_context>(1));
    rngs.emplace_back(12345 + t);
  }
  long before = o.gateway_pid ? rss_kib(o.gateway_pid) : -1;

  // Sessions are started in waves of --parallel-connects, round robin over
  // the threads, each wave once the previous one is up.
  std::vector<std::shared_ptr<session>> all;
  std::vector<std::thread> threads;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> work;
  for (auto& ioc : contexts) work.push_back(asio::make_work_guard(*ioc));
  for (auto& ioc : contexts) threads.emplace_back([&ioc] { ioc->run(); });
  auto t0 = std::chrono::steady_clock::now();
  auto deadline = t0 + std::chrono::seconds(60);
  for (unsigned started = 0; started < o.sessions;) {
    while (started - shared.finished.load() >= o.parallel_connects &&
           std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    unsigned t = started % o.threads;
    auto s = std::make_shared<session>(*contexts[t], shared, states[t], rngs[t]);
    all.push_back(s);
    asio::post(*contexts[t], [s, ep] { s->start(ep); });
    ++started;
  }
  while (shared.finished.load() < o.sessions && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  double connect_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<long>(o.settle * 1000)));
  long after = o.gateway_pid ? rss_kib(o.gateway_pid) : -1;
  shared.counting.store(true);
  auto t1 = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<long>(o.duration * 1000)));
  shared.counting.store(false);
  double counted_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
  for (auto& ioc : contexts) ioc->stop();
  for (auto& t : threads) t.join();

  thread_state total;
  for (const auto& s : states) {
    total.up += s.up;
    total.failed += s.failed;
    total.events += s.events;
    total.other += s.other;
    total.stamped += s.stamped;
    total.latency.merge(s.latency);
  }
  const auto& h = total.latency;
  std::printf(
      "{\"sessions\":%u,\"threads\":%u,\"up\":%llu,\"failed\":%llu,\"connect_s\":%.2f,"
      "\"rss_before_kib\":%ld,\"rss_after_kib\":%ld,\"bytes_per_session\":%.0f,"
      "\"events\":%llu,\"events_per_s\":%.0f,\"stamped\":%llu,\"p50_us\":%lld,\"p90_us\":%lld,"
      "\"p99_us\":%lld,\"p999_us\":%lld,\"max_us\":%lld}\n",
      o.sessions, o.threads, static_cast<unsigned long long>(total.up),
      static_cast<unsigned long long>(total.failed), connect_s, before, after,
      (before >= 0 && total.up > 0) ? (after - before) * 1024.0 / static_cast<double>(total.up)
                                    : -1.0,
      static_cast<unsigned long long>(total.events), static_cast<double>(total.events) / counted_s,
      static_cast<unsigned long long>(total.stamped), static_cast<long long>(h.percentile(0.50)),
      static_cast<long long>(h.percentile(0.90)), static_cast<long long>(h.percentile(0.99)),
      static_cast<long long>(h.percentile(0.999)), static_cast<long long>(h.max()));
  std::fflush(stdout);
  std::_Exit(total.failed == 0 ? 0 : 1);  // sessions are left to the kernel to close
}

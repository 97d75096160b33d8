#include "bench/load/gateway_load/agents.hpp"

#include <algorithm>
#include <boost/asio.hpp>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>

#include "bench/load/gateway_load/webhooks.hpp"

namespace gw::load {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

// Where `needle` first occurs in `frame`, from `from` on. memmem, not
// string_view::find: the needles here start with a quote, JSON's commonest
// character, and find stops to compare at every one (~130 ns to find
// "d":"in" in a 400-byte event frame, against ~37 ns): at hundreds of
// thousands of frames a second, that is the client's CPU, which the gateway
// it measures shares.
std::size_t find_in(std::string_view frame, std::string_view needle, std::size_t from = 0) {
  if (from > frame.size()) return std::string_view::npos;
  const void* at = ::memmem(frame.data() + from, frame.size() - from, needle.data(), needle.size());
  return at ? static_cast<std::size_t>(static_cast<const char*>(at) - frame.data())
            : std::string_view::npos;
}

// The value of a string field in a flat JSON frame, `key` being the field's
// name with its quotes, colon and opening quote (R"("cv":")"): our own
// frames' ids, conversation ids and codes carry no escapes. Per frame, so
// nothing is allocated.
std::string_view string_field(std::string_view frame, std::string_view key, std::size_t from = 0) {
  auto at = find_in(frame, key, from);
  if (at == frame.npos) return {};
  at += key.size();
  auto end = frame.find('"', at);
  return end == frame.npos ? std::string_view{} : frame.substr(at, end - at);
}

std::int64_t stamp_of(std::string_view frame) {
  auto at = frame.find(stamp_marker);
  if (at == frame.npos) return 0;
  std::int64_t ns = 0;
  for (auto i = at + stamp_marker.size(); i < frame.size() && frame[i] >= '0' && frame[i] <= '9';
       ++i)
    ns = ns * 10 + (frame[i] - '0');
  return ns;
}

}  // namespace

// One agent session. Lives on one thread (its context); everything below
// runs there.
class agent_session : public std::enable_shared_from_this<agent_session> {
 public:
  agent_session(asio::io_context& io, run_state& run, thread_results& mine, unsigned index,
                std::string bind)
      : socket_(io),
        timer_(io),
        run_(run),
        mine_(mine),
        index_(index),
        bind_(std::move(bind)),
        rng_(index),
        // Conversations to mark read (--ack-ms) and to reply to (replies
        // without --reply-conversations) are kept only when asked for.
        keeps_conversations_(run.opt.ack_ms > 0 ||
                             ((run.opt.reply_rate > 0 || run.opt.reply_window > 0) &&
                              run.opt.reply_conversations == 0)) {}

  void start() {
    const auto& o = run_.opt;
    tcp::endpoint ep(asio::ip::make_address(o.host), o.port);
    error_code ec;
    socket_.open(ep.protocol(), ec);
    if (!ec && !bind_.empty()) socket_.bind({asio::ip::make_address(bind_), 0}, ec);
    if (ec) return failed("agent connect: " + ec.message());
    socket_.async_connect(ep, [self = shared_from_this()](error_code ec2) {
      if (ec2) return self->failed("agent connect: " + ec2.message());
      self->socket_.set_option(tcp::no_delay(true));
      const auto& opt = self->run_.opt;
      self->write(std::string("GET /v1/agent HTTP/1.1\r\nHost: ") + opt.host +
                  "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                  "Sec-WebSocket-Protocol: gw.agent.v1\r\nAuthorization: Bearer " +
                  opt.token_of(self->tenant()) + "\r\n\r\n");
      self->read();
    });
  }

  // Read marks and replies, each on its own schedule (one timer, the
  // earlier of the two).
  void start_traffic() {
    const auto& o = run_.opt;
    if (!up_ || lost_) return;
    if (o.reply_rate > 0) {
      reply_every_ = std::chrono::duration_cast<clock_type::duration>(
          std::chrono::duration<double>(o.agents / o.reply_rate));
      next_reply_ = run_.clock.start + reply_every_ * index_ / o.agents;
    }
    if (o.reply_window > 0) {
      // Closed loop: the window fills at the start; each answer sends the next.
      asio::post(socket_.get_executor(), [self = shared_from_this()] {
        for (unsigned i = 0; i < self->run_.opt.reply_window; ++i) self->reply();
      });
    }
    if (o.ack_ms > 0) {
      ack_every_ = std::chrono::milliseconds(o.ack_ms);
      next_ack_ = run_.clock.start + ack_every_ * index_ / o.agents;
    }
    tick();
  }

 private:
  unsigned tenant() const { return index_ % run_.opt.tenants; }

  void tick() {
    if (lost_) return;
    auto now = clock_type::now();
    if (now >= run_.clock.end) return;
    if (reply_every_.count() && now >= next_reply_) {
      reply();
      next_reply_ += reply_every_;
    }
    if (ack_every_.count() && now >= next_ack_) {
      mark_read();
      next_ack_ += ack_every_;
    }
    auto next = clock_type::time_point::max();
    if (reply_every_.count()) next = std::min(next, next_reply_);
    if (ack_every_.count()) next = std::min(next, next_ack_);
    if (next == clock_type::time_point::max()) return;
    timer_.expires_at(next);
    timer_.async_wait([self = shared_from_this()](error_code ec) {
      if (!ec) self->tick();
    });
  }

  // A reply to one of the conversations this agent saw a patient write in,
  // or, with --reply-conversations, to one of the webhooks' patients.
  void reply() {
    const auto& o = run_.opt;
    std::string cv;
    if (o.reply_conversations > 0) {
      // One of the first N patients who write to this agent's clinic.
      auto t = tenant();
      auto patients = (o.reply_conversations - t + o.tenants - 1) / o.tenants;
      char address[32];
      std::snprintf(address, sizeof address, ":+3460%07llu",
                    static_cast<unsigned long long>(rng_() % patients * o.tenants + t));
      cv = o.channel_of(t) + address;
    } else if (!seen_.empty()) {
      cv = seen_[rng_() % seen_.size()];
    } else {
      if (run_.clock.measuring(clock_type::now()))
        mine_.error("reply skipped: no conversation seen yet");
      return;
    }
    auto n = ++commands_;
    auto now = clock_type::now();
    replies_[n] = now;
    send_text(R"({"c":"send","id":"r)" + std::to_string(index_) + "-" + std::to_string(n) +
              R"(","cv":")" + cv +
              R"(","tx":"Gracias, le confirmamos la cita del jueves a las )"
              R"(17:00. )" +
              std::string(stamp_marker) + std::to_string(mono_ns(now)) + R"("})");
  }

  void mark_read() {
    if (last_cv_.empty()) return;
    send_text(R"({"c":"read","id":"a)" + std::to_string(index_) + "-" +
              std::to_string(++commands_) + R"(","cv":")" + last_cv_ + R"("})");
    last_cv_.clear();
  }

  void read() {
    if (buf_.size() - end_ < 1024) {  // make room: keep the unparsed tail
      std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
      end_ -= begin_;
      begin_ = 0;
      if (buf_.size() - end_ < 1024) buf_.resize(buf_.size() * 2);
    }
    socket_.async_read_some(asio::buffer(buf_.data() + end_, buf_.size() - end_),
                            [self = shared_from_this()](error_code ec, std::size_t n) {
                              if (ec) return self->lost("agent read: " + ec.message());
                              self->end_ += n;
                              if (!self->parse()) return self->lost("agent: bad frame");
                              // A buffer that filled up grows, up to 64 KiB.
                              if (n == self->buf_.size() && self->buf_.size() < 64 * 1024)
                                self->buf_.resize(self->buf_.size() * 2);
                              self->read();
                            });
  }

  // Everything complete in [begin_, end_); false on a protocol error. The
  // frames of one read arrived together: one clock reading serves them all,
  // and the shared frame counter is bumped once (this client shares the
  // cores it measures, so its cost per frame is kept small).
  bool parse() {
    now_ = clock_type::now();
    frames_in_read_ = 0;
    struct count_frames {
      agent_session& s;
      ~count_frames() {
        if (s.frames_in_read_)
          s.run_.live.frames.fetch_add(s.frames_in_read_, std::memory_order_relaxed);
      }
    } counted{*this};
    if (!handshaken_) {
      auto* start = buf_.data() + begin_;
      auto* stop = buf_.data() + end_;
      static constexpr char crlf2[] = "\r\n\r\n";
      auto* crlf = std::search(start, stop, crlf2, crlf2 + 4);
      if (crlf == stop) return true;
      if (std::strncmp(start, "HTTP/1.1 101", 12) != 0) {
        failed("agent handshake: " + std::string(start, std::find(start, crlf, '\r')));
        return true;
      }
      handshaken_ = true;
      begin_ = static_cast<std::size_t>(crlf + 4 - buf_.data());
      if (run_.opt.views != "none")  // frames only after the server's answer (RFC 6455 4.1)
        send_text(R"({"c":"sub","id":"s)" + std::to_string(index_) + R"(","v":)" + run_.opt.views +
                  "}");
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
        if (header + len > buf_.size()) buf_.resize(header + len + 4096);
        return true;
      }
      on_frame(p[0] & 0x0f, std::string_view(buf_.data() + begin_ + header, len));
      begin_ += header + len;
    }
    if (begin_ == end_) begin_ = end_ = 0;
    return true;
  }

  void on_frame(unsigned opcode, std::string_view f) {
    if (opcode == 0x9) return send_frame(0x8A, f);  // ping: pong with the same payload
    if (opcode == 0x8) {
      auto code = f.size() >= 2
                      ? (static_cast<unsigned char>(f[0]) << 8) | static_cast<unsigned char>(f[1])
                      : 1005;
      close_code_ = code;
      return;  // the read error follows
    }
    auto now = now_;
    if (f.starts_with(R"({"t":"ev")")) return on_event(f, now);
    if (f.starts_with(R"({"t":"hello")")) {
      if (run_.opt.views == "none") became_up();
      return;
    }
    auto id = string_field(f, R"("id":")");
    if (f.starts_with(R"({"t":"ok")")) {
      if (id.starts_with('s')) return became_up();
      if (id.starts_with('a')) return void(++mine_.reads_ok);
      if (id.starts_with('r')) return on_reply_ok(f, id, now);
      return;
    }
    if (f.starts_with(R"({"t":"err")")) {
      auto what = id.starts_with('s')   ? "sub"
                  : id.starts_with('a') ? "read"
                  : id.starts_with('r') ? "reply"
                                        : "command";
      mine_.error(std::string("agent ") + what +
                  " error: " + std::string(string_field(f, R"("code":")")));
      if (id.starts_with('s')) failed("agent sub refused");
      if (id.starts_with('r')) {
        replies_.erase(command_number(id));
        next_in_loop(now);
      }
    }
  }

  void on_event(std::string_view f, clock_type::time_point now) {
    bool measuring = run_.clock.measuring(now);
    if (measuring) {
      ++mine_.frames_measured;
      ++frames_in_read_;
    }
    auto kind = string_field(f, R"("k":")");
    if (kind == "msg" && find_in(f, R"("d":"in")") != f.npos) {
      if (keeps_conversations_) {
        auto cv = string_field(f, R"("cv":")");
        last_cv_ = cv;
        if (seen_.size() < 64)
          seen_.emplace_back(cv);
        else
          seen_[rng_() % seen_.size()] = cv;
      }
      if (!measuring) return;
      ++mine_.messages_in;
      if (auto sent = stamp_of(f); sent > 0) mine_.delivery.record((mono_ns(now) - sent) / 1000);
    } else if (kind == "msg.st" && !sent_.empty()) {
      auto at = sent_.find(std::string(string_field(f, R"("mid":")")));
      if (at == sent_.end()) return;
      auto st = string_field(f, R"("st":")");
      if (st == "sent") {
        mine_.reply_sent.record(micros(now - at->second));
        run_.live.replies_sent.fetch_add(1, std::memory_order_relaxed);
        sent_.erase(at);
      } else if (st == "failed") {
        mine_.error("reply failed: " + std::string(string_field(f, R"("code":")")));
        sent_.erase(at);
      }
    }
  }

  void on_reply_ok(std::string_view f, std::string_view id, clock_type::time_point now) {
    auto at = replies_.find(command_number(id));
    if (at == replies_.end()) return;
    run_.live.replies_ok.fetch_add(1, std::memory_order_relaxed);
    if (run_.clock.measuring(at->second)) {  // sent in the measured time
      mine_.reply_ack.record(micros(now - at->second));
      ++mine_.replies_ok;
      // The message comes first in the answer: {"t":"ok","id":..,"m":{"m":"<id>",..
      if (auto m = find_in(f, R"("m":{"m":")"); m != f.npos)
        sent_.emplace(std::string(string_field(f, R"("m":")", m + 5)), at->second);
    }
    replies_.erase(at);
    next_in_loop(now);
  }

  // Closed loop: an answered reply makes room for the next one.
  void next_in_loop(clock_type::time_point now) {
    if (run_.opt.reply_window > 0 && now < run_.clock.end && !lost_) reply();
  }

  static std::uint64_t command_number(std::string_view id) {
    auto dash = id.find('-');
    std::uint64_t n = 0;
    for (auto i = dash + 1; dash != id.npos && i < id.size(); ++i) n = n * 10 + (id[i] - '0');
    return n;
  }

  void became_up() {
    if (up_) return;
    up_ = true;
    run_.live.agents_up.fetch_add(1);
  }

  void failed(const std::string& why) {
    if (up_ || lost_) return lost(why);
    lost_ = true;
    mine_.error(why);
    run_.live.agents_failed.fetch_add(1);
    error_code ignored;
    socket_.close(ignored);
  }

  void lost(std::string why) {
    if (lost_) return;
    lost_ = true;
    if (close_code_) why = "agent closed by the gateway: " + std::to_string(close_code_);
    mine_.error(why);
    if (up_)
      run_.live.agents_lost.fetch_add(1);
    else
      run_.live.agents_failed.fetch_add(1);
    timer_.cancel();
    error_code ignored;
    socket_.close(ignored);
  }

  void send_text(std::string_view payload) { send_frame(0x81, payload); }

  // A client frame, masked as RFC 6455 requires. Frames leave together:
  // those made by one handler (the replies to a read's answers) in one
  // write, and those made while a write is in flight in the next one, as a
  // TCP stream would carry them. (A write per frame cost this client a
  // system call per command, on the cores it shares with the gateway.)
  void send_frame(unsigned char first, std::string_view payload) {
    auto& f = waiting_;
    f.push_back(static_cast<char>(first));
    if (payload.size() < 126) {
      f.push_back(static_cast<char>(0x80 | payload.size()));
    } else {
      f.push_back(static_cast<char>(0x80 | 126));
      f.push_back(static_cast<char>(payload.size() >> 8));
      f.push_back(static_cast<char>(payload.size() & 0xff));
    }
    std::uint32_t key = static_cast<std::uint32_t>(rng_());
    char k[4];
    std::memcpy(k, &key, 4);
    f.append(k, 4);
    const auto at = f.size();
    f.append(payload);
    for (std::size_t i = 0; i < payload.size(); ++i) f[at + i] ^= k[i % 4];
    flush();
  }

  void write(std::string_view bytes) {
    waiting_.append(bytes);
    flush();
  }

  // Writes what waits once the running handler is done.
  void flush() {
    if (writing_) return;
    writing_ = true;
    asio::post(socket_.get_executor(), [self = shared_from_this()] { self->write_next(); });
  }

  void write_next() {
    writing_bytes_.swap(waiting_);
    waiting_.clear();
    asio::async_write(socket_, asio::buffer(writing_bytes_),
                      [self = shared_from_this()](error_code ec, std::size_t) {
                        if (ec) return self->lost("agent write: " + ec.message());
                        if (self->waiting_.empty())
                          self->writing_ = false;
                        else
                          self->write_next();
                      });
  }

  tcp::socket socket_;
  asio::steady_timer timer_;
  run_state& run_;
  thread_results& mine_;
  unsigned index_;
  std::string bind_;
  std::minstd_rand rng_;
  bool keeps_conversations_;  // fills seen_ and last_cv_
  std::vector<char> buf_ = std::vector<char>(4096);
  std::size_t begin_ = 0, end_ = 0;
  std::string writing_bytes_;  // the write in flight
  std::string waiting_;        // frames made since it started
  bool writing_ = false;       // a write is in flight or posted
  bool handshaken_ = false, up_ = false, lost_ = false;
  unsigned close_code_ = 0;
  std::uint64_t commands_ = 0;
  std::vector<std::string> seen_;  // conversations patients wrote in (at most 64)
  std::string last_cv_;            // to mark read next
  clock_type::time_point now_;     // when the frames being parsed were read
  std::uint64_t frames_in_read_ = 0;
  clock_type::duration reply_every_{0}, ack_every_{0};
  clock_type::time_point next_reply_, next_ack_;
  std::unordered_map<std::uint64_t, clock_type::time_point> replies_;  // command -> sent at
  std::unordered_map<std::string, clock_type::time_point> sent_;       // message -> sent at
};

agent_pool::agent_pool(run_state& run, const std::vector<asio::io_context*>& contexts,
                       std::vector<thread_results>& results)
    : run_(run), contexts_(contexts), results_(results) {}

agent_pool::~agent_pool() = default;

void agent_pool::connect_all(clock_type::time_point deadline) {
  const auto& o = run_.opt;
  auto settled = [&] { return run_.live.agents_up.load() + run_.live.agents_failed.load(); };
  for (unsigned i = 0; i < o.agents; ++i) {
    while (i - settled() >= o.parallel_connects && clock_type::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    auto t = i % contexts_.size();
    auto bind = o.bind.empty() ? std::string{} : o.bind[i % o.bind.size()];
    auto s = std::make_shared<agent_session>(*contexts_[t], run_, results_[t], i, bind);
    sessions_.push_back(s);
    asio::post(*contexts_[t], [s] { s->start(); });
  }
  while (settled() < o.agents && clock_type::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
}

void agent_pool::start_traffic() {
  const auto& o = run_.opt;
  if (o.reply_rate <= 0 && o.reply_window == 0 && o.ack_ms == 0) return;
  for (std::size_t i = 0; i < sessions_.size(); ++i)
    asio::post(*contexts_[i % contexts_.size()], [s = sessions_[i]] { s->start_traffic(); });
}

long resident_kib(long pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

}  // namespace gw::load

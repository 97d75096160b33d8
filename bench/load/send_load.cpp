// send_load: agents' replies through the whole sending path, for the M5
// figures. --sessions agent sessions (one thread each) send `send` commands
// to --conversations existing WhatsApp conversations, --window commands in
// flight per session, until --messages are answered (or --duration runs
// out). Each answer means the message is durable and queued; the gateway
// then sends it to provider_sim and journals the outcome. The tool polls the
// simulator's /sim/stats until it has accepted as many messages as were
// answered `ok`, which gives the end-to-end rate: durable queueing, the
// provider call, and the `sent` event.
//
// Conversations are "+3460" followed by 7 digits, 0..N-1: the numbers
// webhook_load writes from (run it first with --conversations N).
// Bounded in time and messages; loopback only. Prints one JSON line.
#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using clock_type = std::chrono::steady_clock;

struct options {
  unsigned short port = 0, sim_port = 0;
  std::string token, channel = "wa-bench";
  unsigned sessions = 4, window = 32, conversations = 1000;
  std::uint64_t messages = 20'000;
  double duration = 60;
};

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr,
               "send_load: %s\n"
               "usage: send_load --port P --token T --sim-port S [--channel wa-bench]\n"
               "  [--sessions 4] [--window 32] [--conversations 1000] [--messages 20000]\n"
               "  [--duration 60]\n",
               why);
  std::exit(2);
}

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; i += 2) {
    if (i + 1 >= argc) usage("every flag takes a value");
    std::string k = argv[i], v = argv[i + 1];
    auto n = [&] { return std::stoull(v); };
    if (k == "--port")
      o.port = static_cast<unsigned short>(n());
    else if (k == "--sim-port")
      o.sim_port = static_cast<unsigned short>(n());
    else if (k == "--token")
      o.token = v;
    else if (k == "--channel")
      o.channel = v;
    else if (k == "--sessions")
      o.sessions = static_cast<unsigned>(n());
    else if (k == "--window")
      o.window = static_cast<unsigned>(n());
    else if (k == "--conversations")
      o.conversations = static_cast<unsigned>(n());
    else if (k == "--messages")
      o.messages = n();
    else if (k == "--duration")
      o.duration = std::stod(v);
    else
      usage(("unknown flag " + k).c_str());
  }
  if (!o.port || !o.sim_port || o.token.empty())
    usage("--port, --sim-port and --token are required");
  if (!o.sessions || o.sessions > 64 || !o.window || !o.conversations) usage("counts must be > 0");
  if (o.duration <= 0 || o.duration > 600) usage("--duration must be in (0, 600]");
  if (o.messages == 0 || o.messages > 10'000'000) usage("--messages must be in [1, 10000000]");
  return o;
}

struct totals {
  std::mutex mu;
  std::uint64_t ok = 0;
  std::map<std::string, std::uint64_t> errors;
  std::vector<std::int64_t> latency_us;
};

// One session: keeps `window` sends outstanding; ids are sequence numbers.
void run_session(const options& o, unsigned s, std::uint64_t quota, clock_type::time_point until,
                 totals& out) {
  asio::io_context ioc;
  websocket::stream<tcp::socket> ws(ioc);
  ws.next_layer().connect({asio::ip::make_address("127.0.0.1"), o.port});
  ws.set_option(websocket::stream_base::decorator([&](websocket::request_type& r) {
    r.set(http::field::sec_websocket_protocol, "gw.agent.v1");
    r.set(http::field::authorization, "Bearer " + o.token);
  }));
  ws.handshake("127.0.0.1", "/v1/agent");
  beast::flat_buffer buf;
  ws.read(buf);  // hello
  buf.consume(buf.size());

  std::vector<clock_type::time_point> sent_at(quota);
  std::vector<std::int64_t> lat;
  lat.reserve(quota);
  std::map<std::string, std::uint64_t> errors;
  std::uint64_t next = 0, answered = 0, ok = 0;
  char frame[256];
  auto send_one = [&] {
    auto conv = (next * o.sessions + s) % o.conversations;
    int n =
        std::snprintf(frame, sizeof frame,
                      R"({"c":"send","id":"%u-%llu","cv":"%s:+3460%07llu","tx":"Su cita: %llu"})",
                      s, static_cast<unsigned long long>(next), o.channel.c_str(),
                      static_cast<unsigned long long>(conv), static_cast<unsigned long long>(next));
    sent_at[next++] = clock_type::now();
    ws.write(asio::buffer(frame, static_cast<std::size_t>(n)));
  };
  while (next < quota && next < o.window) send_one();
  while (answered < next && clock_type::now() < until) {
    ws.read(buf);
    std::string_view f(static_cast<const char*>(buf.data().data()), buf.size());
    auto at = f.find(R"("id":")");
    if (at != std::string_view::npos &&
        (f.starts_with(R"({"t":"ok")") || f.starts_with(R"({"t":"err")"))) {
      // "<session>-<n>": command ids are per agent, so sessions must not share them.
      auto dash = f.find('-', at + 6);
      if (dash == std::string_view::npos) throw std::runtime_error("an answer without our id");
      auto id = std::strtoull(f.data() + dash + 1, nullptr, 10);
      ++answered;
      if (f.starts_with(R"({"t":"ok")")) {
        ++ok;
        lat.push_back(
            std::chrono::duration_cast<std::chrono::microseconds>(clock_type::now() - sent_at[id])
                .count());
      } else {
        auto c = f.find(R"("code":")");
        ++errors[c == std::string_view::npos
                     ? "?"
                     : std::string(f.substr(c + 8, f.find('"', c + 8) - c - 8))];
      }
      if (next < quota && clock_type::now() < until) send_one();
    }
    buf.consume(buf.size());
  }
  std::lock_guard lock(out.mu);
  out.ok += ok;
  for (auto& [k, v] : errors) out.errors[k] += v;
  out.latency_us.insert(out.latency_us.end(), lat.begin(), lat.end());
}

std::uint64_t sim_accepted(unsigned short port) {
  try {
    asio::io_context ioc;
    beast::tcp_stream s(ioc);
    s.connect({asio::ip::make_address("127.0.0.1"), port});
    http::request<http::empty_body> req{http::verb::get, "/sim/stats", 11};
    req.set(http::field::host, "127.0.0.1");
    http::write(s, req);
    beast::flat_buffer b;
    http::response<http::string_body> res;
    http::read(s, b, res);
    auto at = res.body().find(R"("accepted":)");
    return at == std::string::npos ? 0 : std::stoull(res.body().substr(at + 11));
  } catch (const std::exception&) {
    return 0;
  }
}

}  // namespace

int main(int argc, char** argv) {
  auto o = parse(argc, argv);
  auto before = sim_accepted(o.sim_port);
  totals t;
  auto start = clock_type::now();
  auto until = start + std::chrono::milliseconds(static_cast<long>(o.duration * 1000));
  std::vector<std::thread> threads;
  for (unsigned s = 0; s < o.sessions; ++s) {
    auto quota = o.messages / o.sessions + (s < o.messages % o.sessions ? 1 : 0);
    threads.emplace_back([&, s, quota] {
      try {
        run_session(o, s, quota, until, t);
      } catch (const std::exception& e) {
        std::lock_guard lock(t.mu);
        ++t.errors[std::string("session: ") + e.what()];
      }
    });
  }
  for (auto& th : threads) th.join();
  auto acked_at = clock_type::now();
  // The simulator has every answered message once the queue drained.
  std::uint64_t accepted = 0;
  auto last_change = clock_type::now();
  auto done = acked_at;
  while (clock_type::now() < until + std::chrono::seconds(30)) {
    auto a = sim_accepted(o.sim_port) - before;
    if (a != accepted) accepted = a, last_change = clock_type::now();
    done = last_change;
    if (accepted >= t.ok) break;
    if (clock_type::now() - last_change > std::chrono::seconds(5)) break;  // stalled
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::sort(t.latency_us.begin(), t.latency_us.end());
  auto pct = [&](double p) -> long long {
    if (t.latency_us.empty()) return 0;
    return t.latency_us[std::min(t.latency_us.size() - 1,
                                 static_cast<std::size_t>(p * double(t.latency_us.size())))];
  };
  double ack_s = std::chrono::duration<double>(acked_at - start).count();
  double all_s = std::chrono::duration<double>(done - start).count();
  std::string errs;
  for (auto& [k, v] : t.errors)
    errs += (errs.empty() ? "" : ",") + ("\"" + k + "\":" + std::to_string(v));
  std::printf(
      "{\"sessions\":%u,\"window\":%u,\"ok\":%llu,\"errors\":{%s},\"ack_s\":%.3f,"
      "\"acks_per_s\":%.0f,\"ack_p50_us\":%lld,\"ack_p99_us\":%lld,\"sim_accepted\":%llu,"
      "\"end_to_end_s\":%.3f,\"sends_per_s\":%.0f}\n",
      o.sessions, o.window, static_cast<unsigned long long>(t.ok), errs.c_str(), ack_s,
      double(t.ok) / ack_s, pct(0.5), pct(0.99), static_cast<unsigned long long>(accepted), all_s,
      double(accepted) / all_s);
  return accepted >= t.ok && t.ok > 0 ? 0 : 1;
}

#include "bench/load/gateway_load/options.hpp"

#include <boost/asio/ip/address.hpp>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string_view>

namespace gw::load {
namespace {

// Parses a whole number or a decimal into `out`; false when it is not one.
template <class T>
bool number(std::string_view s, T& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc{} && p == s.data() + s.size();
}

bool loopback(std::string_view a) {
  boost::system::error_code ec;
  auto addr = boost::asio::ip::make_address(std::string(a), ec);
  return !ec && addr.is_loopback();
}

struct option_spec {
  const char* name;
  const char* value;  // nullptr: a switch
  const char* help;
  std::function<std::string(options&, std::string_view)> set;  // "" or the reason
};

template <class T>
std::function<std::string(options&, std::string_view)> num(T options::*field, double lo,
                                                           double hi) {
  return [=](options& o, std::string_view v) -> std::string {
    T x{};
    if (!number(v, x) || static_cast<double>(x) < lo || static_cast<double>(x) > hi)
      return "must be a number in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
    o.*field = x;
    return {};
  };
}

std::function<std::string(options&, std::string_view)> text(std::string options::*field) {
  return [=](options& o, std::string_view v) -> std::string {
    if (v.empty()) return "must not be empty";
    o.*field = std::string(v);
    return {};
  };
}

const std::vector<option_spec>& specs() {
  static const std::vector<option_spec> all = {
      {"--host", "ADDR", "gateway address, loopback only (default 127.0.0.1)",
       [](options& o, std::string_view v) -> std::string {
         if (!loopback(v)) return "must be a loopback address (127.0.0.0/8 or ::1)";
         o.host = std::string(v);
         return {};
       }},
      {"--port", "PORT", "gateway port (required)", num(&options::port, 1, 65535)},
      {"--bind", "A,B,..", "agents' source addresses, loopback, round robin (for >28k sessions)",
       [](options& o, std::string_view v) -> std::string {
         o.bind.clear();
         while (!v.empty()) {
           auto comma = v.find(',');
           auto a = v.substr(0, comma);
           if (!loopback(a)) return "\"" + std::string(a) + "\" is not a loopback address";
           o.bind.emplace_back(a);
           v = comma == v.npos ? std::string_view{} : v.substr(comma + 1);
         }
         return {};
       }},
      {"--threads", "N", "client threads (default 1; the client shares the machine)",
       num(&options::threads, 1, 64)},
      {"--duration", "S", "measured seconds after the warm-up, at most 600 (default 10)",
       num(&options::duration, 0.1, 600)},
      {"--warmup", "S", "seconds of load before measuring (default 1)",
       num(&options::warmup, 0, 60)},
      {"--requests", "N",
       "webhooks at most (default: 1.2 x rate x time, or 1,000,000 in closed loop)",
       num(&options::requests, 1, 50'000'000)},
      {"--provider", "P", "webhooks to send: whatsapp, twilio or none (default whatsapp)",
       [](options& o, std::string_view v) -> std::string {
         if (v == "whatsapp")
           o.kind = provider::whatsapp;
         else if (v == "twilio")
           o.kind = provider::twilio;
         else if (v == "none")
           o.kind = provider::none;
         else
           return "must be whatsapp, twilio or none";
         return {};
       }},
      {"--channel", "ID", "the gateway channel the webhooks and replies use (default wa-bench)",
       text(&options::channel)},
      {"--secret", "S", "WhatsApp app secret or Twilio auth token (default bench-app-secret)",
       text(&options::secret)},
      {"--phone-number-id", "N", "WhatsApp: the channel's phone number id",
       text(&options::phone_number_id)},
      {"--number", "E164", "Twilio: the channel's number, the webhooks' To",
       text(&options::number)},
      {"--public-url", "URL", "Twilio: the signed base URL (default http://HOST:PORT)",
       text(&options::public_url)},
      {"--rate", "R",
       "webhooks per second, open loop (latency from the scheduled time; the report's "
       "`exchange` times each from its write to its answer); 0: closed loop (default 0)",
       num(&options::rate, 0, 1e7)},
      {"--tick-us", "N",
       "open loop: a connection whose send is due wakes at the next multiple of N us, so "
       "that one wake-up sends all that are due, as wrk2's millisecond timers do; latency "
       "still counts from each exact scheduled time; 0: a wake-up per send (default 100)",
       num(&options::tick_us, 0, 100'000)},
      {"--connections", "N", "keep-alive webhook connections (default 64)",
       num(&options::connections, 1, 10'000)},
      {"--conversations", "N", "distinct patients the webhooks come from (default 10000)",
       num(&options::conversations, 1, 10'000'000)},
      {"--id-base", "N", "first provider message number (distinct runs need distinct ids)",
       num(&options::id_base, 0, 1e15)},
      {"--stamp", "0|1",
       "sign each webhook as it is sent, carrying its send time for webhook-to-agent latency "
       "(default: 1 with agents, else every request is signed before the clock starts)",
       num(&options::stamp, 0, 1)},
      {"--tenants", "K",
       "spread the load over K clinics: patient p writes to channel CHANNEL-t and agent i "
       "logs in with TOKEN-t (t = p or i mod K); channel t's phone number id is --phone-number-id "
       "+ t (default 1: CHANNEL and TOKEN as given)",
       num(&options::tenants, 1, 10'000)},
      {"--agents", "N", "agent WebSocket sessions (default 0)",
       num(&options::agents, 0, 1'000'000)},
      {"--token", "T", "the agents' token (required with --agents)", text(&options::token)},
      {"--views", "JSON",
       R"(views each agent subscribes to (default ["new","mine"]); none: log in only)",
       text(&options::views)},
      {"--ack-ms", "MS",
       "each agent marks read the latest message it saw, at most every MS "
       "(default 0: never)",
       num(&options::ack_ms, 0, 600'000)},
      {"--reply-rate", "R",
       "agent replies per second, all agents together, to conversations "
       "they saw a message in (default 0)",
       num(&options::reply_rate, 0, 1e6)},
      {"--reply-window", "N",
       "closed-loop replies instead: each agent keeps N sends "
       "outstanding (default 0)",
       num(&options::reply_window, 0, 10'000)},
      {"--reply-conversations", "N",
       "reply to the conversations of the webhooks' first N patients (+34600000000 on; they "
       "must exist) instead of those the agent saw (default 0)",
       num(&options::reply_conversations, 0, 10'000'000)},
      {"--parallel-connects", "N", "agent sessions connecting at once (default 500)",
       num(&options::parallel_connects, 1, 100'000)},
      {"--gateway-pid", "PID", "report the gateway's resident memory per agent session",
       num(&options::gateway_pid, 1, 1e9)},
      {"--sim-port", "PORT", "provider_sim's port: count the replies it accepted",
       num(&options::sim_port, 1, 65535)},
      {"--json", nullptr, "print the summary as one JSON line", nullptr},
      {"--quiet", nullptr, "no live progress line", nullptr},
      {"--help", nullptr, "this text", nullptr},
  };
  return all;
}

void print_help(std::FILE* to) {
  std::fprintf(to,
               "gateway-load: drives a gateway on loopback the way providers and agents do.\n"
               "Signed webhooks (open or closed loop), agent sessions that subscribe, mark\n"
               "read and reply; reports throughput, errors by kind and latency percentiles.\n"
               "Bounded: stops after --warmup + --duration seconds or --requests webhooks.\n\n"
               "usage: gateway-load --port P [options]\n\n");
  for (const auto& s : specs()) {
    std::string flag = std::string(s.name) + (s.value ? std::string(" ") + s.value : "");
    std::fprintf(to, "  %-22s %s\n", flag.c_str(), s.help);
  }
}

[[noreturn]] void usage(const std::string& why) {
  std::fprintf(stderr, "gateway-load: %s (--help lists the options)\n", why.c_str());
  std::exit(2);
}

}  // namespace

const char* provider_name(provider p) {
  switch (p) {
    case provider::whatsapp:
      return "whatsapp";
    case provider::twilio:
      return "twilio";
    case provider::none:
      break;
  }
  return "none";
}

std::string options::channel_of(unsigned t) const {
  return tenants == 1 ? channel : channel + "-" + std::to_string(t);
}

std::string options::phone_number_id_of(unsigned t) const {
  return tenants == 1 ? phone_number_id : std::to_string(std::stoull(phone_number_id) + t);
}

std::string options::token_of(unsigned t) const {
  return tenants == 1 ? token : token + "-" + std::to_string(t);
}

options parse_options(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    std::string_view flag = argv[i];
    const option_spec* spec = nullptr;
    for (const auto& s : specs())
      if (flag == s.name) spec = &s;
    if (!spec) usage("unknown option " + std::string(flag));
    if (flag == "--help") {
      print_help(stdout);
      std::exit(0);
    }
    if (flag == "--json") {
      o.json = true;
      continue;
    }
    if (flag == "--quiet") {
      o.quiet = true;
      continue;
    }
    if (i + 1 >= argc) usage(std::string(flag) + " needs a value");
    if (auto why = spec->set(o, argv[++i]); !why.empty()) usage(std::string(flag) + " " + why);
  }
  if (o.port == 0) usage("--port is required");
  if (o.agents > 0 && o.token.empty()) usage("--agents needs --token");
  if ((o.reply_rate > 0 || o.reply_window > 0) && o.agents == 0)
    usage("--reply-rate and --reply-window need --agents");
  if (o.reply_window > 0 && o.reply_conversations == 0)
    usage("--reply-window needs --reply-conversations (a closed loop cannot wait for webhooks)");
  if (o.reply_rate > 0 && o.reply_window > 0)
    usage("--reply-rate (open loop) and --reply-window (closed loop) exclude each other");
  if (o.kind == provider::none && o.agents == 0) usage("nothing to do: no webhooks, no agents");
  if (o.tenants > 1) {
    if (o.kind == provider::twilio) usage("--tenants: WhatsApp webhooks only");
    std::uint64_t id = 0;
    if (!number(o.phone_number_id, id) || id > 1'000'000'000'000'000'000ULL)
      usage("--tenants needs a --phone-number-id of digits (tenant t's is that plus t)");
    if (o.conversations < o.tenants)
      usage("--tenants needs at least as many --conversations (each clinic needs a patient)");
    if (o.reply_conversations > 0 && o.reply_conversations < o.tenants)
      usage("--tenants needs at least as many --reply-conversations");
  }
  if (o.stamp < 0) o.stamp = o.agents > 0 ? 1 : 0;
  if (o.public_url.empty()) o.public_url = "http://" + o.host + ":" + std::to_string(o.port);
  if (o.requests == 0)
    o.requests = o.rate > 0
                     ? static_cast<std::uint64_t>(o.rate * (o.warmup + o.duration) * 1.2) + 1000
                     : 1'000'000;
  if (o.kind != provider::none && !o.stamp && o.requests > 5'000'000)
    usage("--requests over 5,000,000 prepared requests (~6 GB); use --stamp 1");
  return o;
}

}  // namespace gw::load

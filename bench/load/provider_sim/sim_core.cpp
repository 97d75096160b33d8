// provider_sim's decisions and counters.
#include "bench/load/provider_sim/sim_core.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <cstdio>

namespace gw::sim {

namespace json = boost::json;
using protocol::nanos;
constexpr nanos ms = 1'000'000;

void append_json_string(std::string& out, std::string_view s) {
  bool plain = std::all_of(s.begin(), s.end(), [](char c) {
    return static_cast<unsigned char>(c) >= 0x20 && c != '"' && c != '\\';
  });
  if (!plain) {
    out += json::serialize(json::string_view(s.data(), s.size()));
    return;
  }
  out += '"';
  out += s;
  out += '"';
}

sim_core::sim_core(const config& c) : cfg_(c), rng_(c.faults.seed) {
  // A load run's keys (tens of thousands a second) without a rehash, each of
  // which would relink every key already there in one stall.
  keys_.reserve(1 << 20);
}

std::string sim_core::whatsapp_error(int code, std::string_view message, std::string_view details) {
  return json::serialize(
      json::object{{"error",
                    {{"message", "(#" + std::to_string(code) + ") " + std::string(message)},
                     {"type", "OAuthException"},
                     {"code", code},
                     {"error_data", {{"messaging_product", "whatsapp"}, {"details", details}}},
                     {"fbtrace_id", "ASimFbTraceId"}}}});
}

std::string sim_core::twilio_error(int code, std::string_view message, unsigned status) {
  return json::serialize(
      json::object{{"code", code},
                   {"message", message},
                   {"more_info", "https://www.twilio.com/docs/errors/" + std::to_string(code)},
                   {"status", status}});
}

sim_core::sender_state& sim_core::sender(const send_request& r) {
  auto key = (r.provider == api::whatsapp ? "wa:" : "tw:") + r.sender;
  auto it = senders_.find(key);
  if (it == senders_.end())
    it =
        senders_
            .emplace(
                key,
                sender_state{
                    protocol::window_limiter(r.sender_limit, protocol::ns_per_second), {}, 0, 0, 0})
            .first;
  return it->second;
}

answer sim_core::refuse_throughput(const send_request& r) {
  answer a;
  if (r.provider == api::whatsapp) {
    a.status = 400;
    a.body =
        whatsapp_error(130429, "Rate limit hit", "Cloud API message throughput has been reached.");
  } else {
    a.status = 429;
    a.body = twilio_error(20429, "Too Many Requests", 429);
    a.retry_after = "1";
  }
  return a;
}

answer sim_core::refuse_pair(const send_request&) {
  answer a;
  a.status = 400;
  a.body = whatsapp_error(131056, "(Business Account, Consumer Account) pair rate limit hit",
                          "Too many messages sent from the sender phone number to the same "
                          "recipient phone number in a short period of time.");
  return a;
}

std::string sim_core::new_id(api p) {
  char buf[48];
  if (p == api::whatsapp)
    std::snprintf(buf, sizeof buf, "wamid.SIM%020llu", static_cast<unsigned long long>(next_id_++));
  else
    std::snprintf(buf, sizeof buf, "SM%032llx", static_cast<unsigned long long>(next_id_++));
  return buf;
}

answer sim_core::decide(const send_request& r, nanos now) {
  if (started_ < 0) started_ = now;
  ++requests_;
  auto& s = sender(r);
  // Every call counts against the sender's throughput, retries included.
  s.offered.push_back(now);
  while (!s.offered.empty() && s.offered.front() <= now - protocol::ns_per_second)
    s.offered.pop_front();
  s.max_offered_per_second = std::max<std::uint64_t>(s.max_offered_per_second, s.offered.size());
  offered_.push_back(now);
  while (!offered_.empty() && offered_.front() <= now - protocol::ns_per_second)
    offered_.pop_front();
  max_offered_per_second_ = std::max<std::uint64_t>(max_offered_per_second_, offered_.size());
  if (s.limit.try_take(now) != 0) {
    ++s.over_limit;
    return refuse_throughput(r);
  }

  const auto& f = cfg_.faults;
  unsigned delay = f.latency_ms;
  if (f.latency_jitter_ms) delay += static_cast<unsigned>(rng_() % (f.latency_jitter_ms + 1));

  if (!r.key.empty() && cfg_.honour_idempotency) {
    if (auto it = keys_.find(r.key); it != keys_.end()) {
      ++repeats_;
      auto a = it->second.first;
      a.accepted = false;
      a.act = answer::action::respond;
      a.delay_ms = delay;
      return a;
    }
  }

  if (f.burst_429_every_ms &&
      (now - started_) % (nanos(f.burst_429_every_ms) * ms) < nanos(f.burst_429_length_ms) * ms) {
    ++faults_["burst_429"];
    auto a = refuse_throughput(r);
    a.delay_ms = delay;
    return a;
  }

  double roll = std::uniform_real_distribution<double>(0, 1)(rng_);
  answer a;
  a.delay_ms = delay;
  auto fault = [&](double share, const char* name) {
    if (roll < share) return ++faults_[name], true;
    roll -= share;
    return false;
  };
  if (fault(f.drop, "drop")) return a.act = answer::action::drop, a;
  if (fault(f.timeout, "timeout")) return a.act = answer::action::silent, a;
  if (fault(f.throttle_429, "throttle_429")) {
    auto t = refuse_throughput(r);
    t.delay_ms = delay;
    return t;
  }
  if (fault(f.error_5xx, "error_5xx")) {
    a.status = 500;
    a.body = r.provider == api::whatsapp ? whatsapp_error(1, "An unknown error has occurred.", "")
                                         : twilio_error(20500, "Internal Server Error", 500);
    return a;
  }
  if (fault(f.reject, "reject")) {  // the providers' permanent refusals
    a.status = 400;
    a.body = r.provider == api::whatsapp
                 ? whatsapp_error(131026, "Message Undeliverable",
                                  "Unable to deliver message. Reasons can include: the recipient "
                                  "phone number is not a WhatsApp phone number.")
                 : twilio_error(21211, "Invalid 'To' Phone Number", 400);
    return a;
  }
  bool silent_after_send = fault(f.timeout_after_send, "timeout_after_send");

  if (r.provider == api::whatsapp && r.pair_interval_ms) {
    auto [it, fresh] = pairs_.try_emplace(r.sender, nanos(r.pair_interval_ms) * ms, r.pair_burst);
    if (it->second.try_take(r.recipient, now) != 0) {
      ++pair_over_limit_;
      auto p = refuse_pair(r);
      p.delay_ms = delay;
      return p;
    }
    if (next_id_ % 4096 == 0) it->second.prune(now);
  }

  a.accepted = true;
  a.id = new_id(r.provider);
  // The answers are written out, not built as JSON trees: the simulator
  // shares the cores with the gateway it measures.
  a.body.reserve(192);
  if (r.provider == api::whatsapp) {
    a.status = 200;
    a.body += R"({"messaging_product":"whatsapp","contacts":[{"input":)";
    append_json_string(a.body, r.recipient);
    a.body += R"(,"wa_id":)";
    append_json_string(a.body, r.recipient);
    a.body += R"(}],"messages":[{"id":)";
    append_json_string(a.body, a.id);
    a.body += R"(,"message_status":"accepted"}]})";
  } else {
    a.status = 201;
    a.body += R"({"sid":)";
    append_json_string(a.body, a.id);
    a.body += R"(,"status":"queued","to":)";
    append_json_string(a.body, r.recipient);
    a.body += R"(,"from":)";
    append_json_string(a.body, r.sender);
    a.body += R"(,"num_segments":"1","api_version":"2010-04-01"})";
  }
  ++accepted_;
  ++s.accepted;
  if (!r.key.empty()) {
    auto [it, fresh] = keys_.try_emplace(r.key);
    if (++it->second.sends > 1) ++duplicate_sends_;
    if (fresh) it->second.first = a;
  }
  if (silent_after_send) a.act = answer::action::silent;
  return a;
}

json::object sim_core::stats(nanos now) const {
  json::object senders;
  for (const auto& [name, s] : senders_)
    senders[name] = {{"accepted", s.accepted},
                     {"over_limit", s.over_limit},
                     {"max_offered_per_second", s.max_offered_per_second},
                     {"limit", s.limit.limit()}};
  auto as_object = [](const std::map<std::string, std::uint64_t>& m) {
    json::object o;
    for (const auto& [k, v] : m) o[k] = v;
    return o;
  };
  std::uint64_t keys_sent_twice = 0;
  for (const auto& [k, state] : keys_) keys_sent_twice += state.sends > 1;
  return {{"requests", requests_},
          {"accepted", accepted_},
          {"keys", keys_.size()},
          {"keys_sent_twice", keys_sent_twice},
          {"duplicate_sends", duplicate_sends_},
          {"repeats_answered", repeats_},
          {"pair_over_limit", pair_over_limit_},
          {"max_offered_per_second", max_offered_per_second_},  // all senders together
          {"connections", connections_},          // open now (this request's included)
          {"max_connections", max_connections_},  // most open at once
          {"faults", as_object(faults_)},
          {"refusals", as_object(refusals_)},
          {"webhooks", as_object(webhooks_)},
          {"senders", std::move(senders)},
          {"uptime_ms", started_ < 0 ? 0 : (now - started_) / ms}};
}

}  // namespace gw::sim

// What provider_sim decides for one authenticated, well-formed send request:
// a fault, a throughput or pair-rate refusal with the provider's real error
// body, a repeat answered from the idempotency memory, or acceptance with a
// fresh provider id. Also what it counts, for /sim/stats. No sockets: the
// HTTP side (sim_server.cpp) calls decide() and acts on the answer.
//
// Threads: one (the simulator's io_context).
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <deque>
#include <map>
#include <random>
#include <string>
#include <string_view>
#include <unordered_map>

#include "bench/load/provider_sim/sim_config.hpp"
#include "protocol/pacing.hpp"

namespace gw::sim {

enum class api : std::uint8_t { whatsapp, twilio };

struct send_request {
  api provider = api::whatsapp;
  std::string sender;          // WhatsApp phone number id, or the Twilio From number
  std::string recipient;       // as given in the request
  std::string key;             // Idempotency-Key, else WhatsApp's biz_opaque_callback_data, else ""
  unsigned sender_limit = 80;  // messages per second
  unsigned pair_interval_ms = 0;  // WhatsApp pair rate; 0: none
  unsigned pair_burst = 1;
};

struct answer {
  enum class action : std::uint8_t { respond, silent, drop } act = action::respond;
  unsigned status = 200;
  std::string body;
  std::string retry_after;  // header value, or ""
  unsigned delay_ms = 0;
  bool accepted = false;  // a new message was sent (statuses follow)
  std::string id;         // accepted or repeated: the provider id
};

// Appends `s` as a JSON string (quoted, escaped where it must be).
void append_json_string(std::string& out, std::string_view s);

class sim_core {
 public:
  explicit sim_core(const config& c);

  answer decide(const send_request& r, protocol::nanos now);

  // An error body in the provider's own shape.
  static std::string whatsapp_error(int code, std::string_view message, std::string_view details);
  static std::string twilio_error(int code, std::string_view message, unsigned status);

  // Counted by the HTTP side.
  void count_refusal(std::string_view why) { ++refusals_[std::string(why)]; }
  void count_webhook(std::string_view what, std::uint64_t n = 1) {
    webhooks_[std::string(what)] += n;
  }

  // Client connections, so tests can check a client's connection cap.
  void connection_opened() { max_connections_ = std::max(max_connections_, ++connections_); }
  void connection_closed() { --connections_; }

  boost::json::object stats(protocol::nanos now) const;

 private:
  struct sender_state {
    protocol::window_limiter limit;
    std::deque<protocol::nanos> offered;  // offered sends in the last second
    std::uint64_t max_offered_per_second = 0, accepted = 0, over_limit = 0;
  };
  sender_state& sender(const send_request& r);
  answer refuse_throughput(const send_request& r);
  answer refuse_pair(const send_request& r);
  std::string new_id(api p);

  const config& cfg_;
  std::mt19937_64 rng_;
  std::map<std::string, sender_state> senders_;
  std::map<std::string, protocol::pair_pacer> pairs_;  // by sender
  struct key_state {
    unsigned sends = 0;  // accepted sends that carried the key
    answer first;        // the first one's answer, repeated to a retry
  };
  std::unordered_map<std::string, key_state> keys_;  // by idempotency key
  std::uint64_t next_id_ = 1;
  std::uint64_t requests_ = 0, accepted_ = 0, repeats_ = 0, duplicate_sends_ = 0,
                pair_over_limit_ = 0;
  std::map<std::string, std::uint64_t> faults_, refusals_, webhooks_;
  std::deque<protocol::nanos> offered_;  // every sender's offered sends in the last second
  std::uint64_t max_offered_per_second_ = 0;
  std::uint64_t connections_ = 0, max_connections_ = 0;  // open now; most open at once
  protocol::nanos started_ = -1;
};

}  // namespace gw::sim

// provider_sim's status webhooks: after a send is accepted, `sent`, then
// `delivered` and `read` (or `failed` with a code) go back to the gateway,
// signed as the real providers sign them: WhatsApp statuses batched per
// number under X-Hub-Signature-256, Twilio StatusCallbacks one per request
// under X-Twilio-Signature. Failed deliveries are retried with backoff, as
// the providers do.
//
// Threads: the simulator's io_context only.
#pragma once

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <random>
#include <string>

#include "bench/load/provider_sim/sim_config.hpp"
#include "bench/load/provider_sim/sim_core.hpp"
#include "gateway/net/http_client.hpp"

namespace gw::sim {

class status_sender {
 public:
  status_sender(boost::asio::io_context& ioc, const config& c, sim_core& core);

  void whatsapp_sent(const whatsapp_number& n, const std::string& wamid,
                     const std::string& recipient, const std::string& opaque);
  void twilio_sent(const twilio_account& a, const std::string& sid, const std::string& from,
                   const std::string& to, const std::string& callback_url);
  void close();

 private:
  struct message {  // what every status of one accepted send repeats
    api provider;
    const void* sender;                      // the whatsapp_number or twilio_account
    std::string id, recipient, from, extra;  // extra: opaque data or the callback URL
  };
  // The states, in the order one message goes through them; each has its
  // own queue (below).
  enum class state : std::uint8_t { sent, failed, delivered, read };
  static constexpr std::size_t states = 4;
  static std::string_view name_of(state s);
  struct status {
    std::shared_ptr<const message> m;
    state st;
  };
  struct delivery {  // one webhook request, retried as a whole
    api provider;
    const void* sender;
    std::string url;
    adapters::http_call call;
    unsigned attempt = 0;
    std::size_t statuses = 0;
  };
  void plan(std::shared_ptr<const message> m);
  void at(protocol::nanos when, status s);
  // The due status that comes first, or nullptr when none is due by `now`.
  std::deque<std::pair<protocol::nanos, status>>* next_due(protocol::nanos now);
  void arm();
  void flush();
  void post(delivery d);
  delivery whatsapp_batch(const whatsapp_number& n, const std::vector<status>& batch);
  delivery twilio_callback(const twilio_account& a, const status& s);

  boost::asio::io_context& ioc_;
  const config& cfg_;
  sim_core& core_;
  net::http_client_pool pool_;
  boost::asio::steady_timer timer_;
  bool armed_ = false;
  // A queue per state: each state follows acceptance by a fixed delay, so
  // each queue is in time order as it is filled, and taking the earliest
  // head of the four is taking statuses in time order.
  std::array<std::deque<std::pair<protocol::nanos, status>>, states> due_;
  std::multimap<protocol::nanos, delivery> retry_;
  std::mt19937_64 rng_;
  bool closed_ = false;
};

// "scheme://authority" and the rest ("/path?query"), for a webhook URL.
std::pair<std::string, std::string> split_url(const std::string& url);

}  // namespace gw::sim

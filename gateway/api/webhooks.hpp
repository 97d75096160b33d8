// Provider webhooks in: WhatsApp Cloud API and Twilio. Each request is
// checked in this order (the first failure answers, and nothing is stored):
//
//   channel known (404) -> signature (401) -> body parses (400) -> every
//   message maps to a channel (404) -> events submitted per conversation
//   -> 200 once every event of the request is durable (503 if the journal
//   cannot write or is still recovering; the provider retries)
//
// Retries are answered 200 and stored once: the conversation actor drops
// provider message ids it already holds, and statuses that change nothing.
//
// Threads: construct and add_routes() before the server starts; handlers
// run on any shard.
#pragma once

#include <array>
#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/config/config.hpp"
#include "gateway/domain/conversations.hpp"
#include "gateway/domain/directory_service.hpp"
#include "gateway/net/router.hpp"
#include "protocol/signatures.hpp"

namespace gw::api {

// The channels webhooks are addressed to, as the directory holds them now
// (declared in the config file or managed through the admin API). A
// lookup's result stays valid while held, whatever the directory does next.
// Any thread.
class channel_directory {
 public:
  explicit channel_directory(const domain::directory_service& dir) : dir_(dir) {}

  // Null when there is no such channel.
  domain::channel_ptr find(std::string_view id) const;
  // A channel of `provider` by its number: WhatsApp's phone_number_id,
  // Twilio's number. Null when no channel of that provider has it.
  domain::channel_ptr by_number(provider_kind provider, std::string_view number) const;

  // False until the directory is recovered and the config's channels are in
  // it: an unknown channel then means "not loaded yet" (503), not 404.
  bool ready() const noexcept { return ready_.load(std::memory_order_acquire); }
  void set_ready() noexcept { ready_.store(true, std::memory_order_release); }

 private:
  const domain::directory_service& dir_;
  std::atomic<bool> ready_{false};
};

struct webhook_options {
  std::string public_base_url;  // config webhooks.public_base_url (may be empty)
  bool tls = false;             // the scheme when public_base_url is empty
  std::size_t max_body_bytes = 256 * 1024;
};

class webhooks {
 public:
  // Why a webhook request was refused; counted per channel.
  enum class reason : std::uint8_t {
    unknown_channel,  // 404
    bad_signature,    // 401
    malformed,        // 400
    too_large,        // 413
    verify_token,     // 403: subscription handshake with the wrong token
    unavailable,      // 503: recovering, or the journal failed
  };
  static constexpr std::size_t reason_count = 6;

  webhooks(const channel_directory& channels, domain::conversation_service& core,
           webhook_options opts);
  ~webhooks();

  void add_routes(net::router& r);
  // Prometheus families gateway_webhook_*; for metrics::registry::add_collector.
  void write_metrics(std::string& out) const;

  // For tests: refusals of `channel` ("" for unknown channels) for `why`.
  std::uint64_t refused(std::string_view channel, reason why) const;

 private:
  struct counters;
  struct join;
  class batch;

  // A channel's counters, made on first use (channels come and go at run time).
  counters& counters_for(const channel_config* ch) const;
  void refuse(const channel_config* ch, reason why, net::responder& answer,
              std::string_view message) const;
  void refuse_unknown(const net::request_context& rc, provider_kind kind,
                      net::responder& answer) const;

  void whatsapp_verify(net::request_context& rc, net::responder answer);
  void whatsapp_post(net::request_context& rc, net::responder answer);
  void twilio_inbound(net::request_context& rc, net::responder answer);
  void twilio_status(net::request_context& rc, net::responder answer);

  // The URL Twilio signed for this request.
  std::string twilio_url(const net::request_context& rc) const;
  // Channel, form and signature of a Twilio request; nullopt when refused.
  std::optional<protocol::form_params> twilio_form(domain::channel_ptr& ch,
                                                   net::request_context& rc,
                                                   net::responder& answer);
  // Submits every conversation's events; answers `ok_body` once all are
  // durable, 503 if any failed.
  void submit(batch b, counters& count, net::responder answer, std::string ok_body,
              std::string_view ok_type);

  const channel_directory& channels_;
  domain::conversation_service& core_;
  webhook_options opts_;
  mutable std::shared_mutex counters_mu_;
  mutable std::map<std::string, std::unique_ptr<counters>> counters_;  // by channel id
  std::unique_ptr<counters> unknown_;  // requests naming no known channel
};

}  // namespace gw::api

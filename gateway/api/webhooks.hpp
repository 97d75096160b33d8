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
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/config/config.hpp"
#include "gateway/domain/conversations.hpp"
#include "gateway/net/router.hpp"
#include "protocol/signatures.hpp"

namespace gw::api {

// The configured channels, looked up by id and by provider number.
// Immutable once built.
class channel_directory {
 public:
  explicit channel_directory(std::vector<channel_config> channels);

  const channel_config* find(std::string_view id) const noexcept;
  // A WhatsApp channel by its phone_number_id.
  const channel_config* whatsapp_number(std::string_view phone_number_id) const noexcept;
  const std::vector<channel_config>& all() const noexcept { return channels_; }

 private:
  std::vector<channel_config> channels_;
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
  std::uint64_t refused(std::string_view channel, reason why) const noexcept;

 private:
  struct counters;
  struct join;
  class batch;

  counters& counters_for(const channel_config* ch) const noexcept;
  void refuse(const channel_config* ch, reason why, net::responder& answer,
              std::string_view message) const;

  void whatsapp_verify(net::request_context& rc, net::responder answer);
  void whatsapp_post(net::request_context& rc, net::responder answer);
  void twilio_inbound(net::request_context& rc, net::responder answer);
  void twilio_status(net::request_context& rc, net::responder answer);

  // The URL Twilio signed for this request.
  std::string twilio_url(const net::request_context& rc) const;
  // Channel, form and signature of a Twilio request; nullopt when refused.
  std::optional<protocol::form_params> twilio_form(const channel_config*& ch,
                                                   net::request_context& rc,
                                                   net::responder& answer);
  // Submits every conversation's events; answers `ok_body` once all are
  // durable, 503 if any failed.
  void submit(batch b, counters& count, net::responder answer, std::string ok_body,
              std::string_view ok_type);

  const channel_directory& channels_;
  domain::conversation_service& core_;
  webhook_options opts_;
  std::vector<std::unique_ptr<counters>> counters_;  // one per channel, then "unknown"
};

}  // namespace gw::api

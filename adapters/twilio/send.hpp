// Twilio Programmable Messaging: sending one SMS, MMS or Twilio WhatsApp
// message (POST /2010-04-01/Accounts/{AccountSid}/Messages.json, form
// encoded, HTTP Basic auth) and reading the answer.
#pragma once

#include <string>
#include <variant>

#include "adapters/outbound.hpp"

namespace gw::adapters::twilio {

struct account {
  std::string sid;              // AC...
  std::string auth_token;       // Basic auth password (also what signs Twilio's webhooks)
  std::string status_callback;  // our status webhook URL; empty: none requested
};

struct build_error {
  std::string message;
};

// Text: Body. Media: MediaUrl (a link; Twilio takes no media ids) with the
// caption as Body. Template (Twilio WhatsApp content templates): templ.name
// is the ContentSid (HX...), the body variables go to ContentVariables.
// m.id goes in the Idempotency-Key header.
std::variant<http_call, build_error> build_send(const outbound_message& m, const account& a);

// Accepted: provider_id is the MessageSid, provider_status Twilio's first
// status (queued, accepted, ...).
send_result read_send_reply(const http_reply& r);

namespace codes {
inline constexpr int too_many_requests = 20429;
inline constexpr int rate_exceeded = 14107;  // message rate limit of the sender
inline constexpr int invalid_to = 21211;
}  // namespace codes

}  // namespace gw::adapters::twilio

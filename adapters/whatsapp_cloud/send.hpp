// WhatsApp Cloud API: sending one message (POST /{version}/{phone-number-id}/messages)
// and reading the answer. Errors are classified by the Graph API error code,
// not the HTTP status: the same 400 can mean "window closed" (final) or
// "pair rate exceeded" (wait, then retry).
#pragma once

#include <string>
#include <string_view>
#include <variant>

#include "adapters/outbound.hpp"

namespace gw::adapters::whatsapp_cloud {

struct sender {
  std::string access_token;           // the system user's bearer token
  std::string api_version = "v21.0";  // the Graph API version in the path
};

struct build_error {
  std::string message;  // names the field at fault
};

// The HTTP call for `m` (m.from is the phone number id). Carries m.id as
// `biz_opaque_callback_data` (Meta echoes it in every status webhook, which
// links a status to the message even when the send's answer was lost) and
// as the Idempotency-Key header.
std::variant<http_call, build_error> build_send(const outbound_message& m, const sender& s);

// What the answer means. Accepted: provider_id is the wamid.
send_result read_send_reply(const http_reply& r);

// Graph API error codes with a meaning of their own.
namespace codes {
inline constexpr int window_closed = 131047;  // more than 24 h since the patient wrote
inline constexpr int pair_rate = 131056;      // too many messages to this recipient
inline constexpr int throughput = 130429;     // the number's messages per second
inline constexpr int rate_limit = 80007;      // the account's rate limit
inline constexpr int app_rate_limit = 4;      // the app's call limit
inline constexpr int undeliverable = 131026;
}  // namespace codes

}  // namespace gw::adapters::whatsapp_cloud

// Twilio webhooks: application/x-www-form-urlencoded bodies of inbound
// SMS/MMS and of StatusCallback requests, parsed without I/O. Every
// parameter is kept, known or not: Twilio adds parameters without notice.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "protocol/signatures.hpp"
#include "protocol/whatsapp_webhook.hpp"

namespace gw::protocol {

// Decodes a form body ('+' is a space, %XX a byte). nullopt on a malformed
// escape.
std::optional<form_params> parse_form(std::string_view body);
// The inverse: name=value pairs joined by '&', each escaped so that
// parse_form gives them back (unreserved bytes kept, ' ' as '+', the rest %XX).
std::string encode_form(const form_params& params);

struct twilio_media {
  std::string url;
  std::string content_type;
};

struct twilio_inbound {
  std::string message_sid;  // the idempotency key
  std::string account_sid;
  std::string from;  // the patient, E.164
  std::string to;    // our number
  std::string body;
  std::vector<twilio_media> media;
  form_params params;  // everything, as received
};

struct twilio_status {
  std::string message_sid;
  std::string status;         // queued, sent, delivered, undelivered, failed, read, ...
  std::string error_code;     // ErrorCode, empty when none
  std::string error_message;  // ErrorMessage, if Twilio sent one
  std::string from, to;
  form_params params;
};

std::variant<twilio_inbound, webhook_error> parse_twilio_inbound(std::string_view body);
std::variant<twilio_status, webhook_error> parse_twilio_status(std::string_view body);
// The same, from parameters already decoded (after signature checking).
std::variant<twilio_inbound, webhook_error> parse_twilio_inbound(form_params params);
std::variant<twilio_status, webhook_error> parse_twilio_status(form_params params);

}  // namespace gw::protocol

// WhatsApp Cloud API webhooks (the `whatsapp_business_account` envelope):
// inbound messages of every type and delivery statuses, parsed without I/O.
// A message type this parser does not know is kept as `unsupported` with its
// raw JSON, never dropped.
#pragma once

#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace gw::protocol {

struct wa_message {
  std::string phone_number_id;  // the business number it was sent to (metadata)
  std::string from;             // the patient's WhatsApp id (phone number, no '+')
  std::string id;               // wamid: the idempotency key
  std::int64_t timestamp = 0;   // Unix seconds, as Meta sent it
  std::string type;             // text, image, document, audio, video, sticker, location,
                                // contacts, interactive, button, reaction, or unsupported
  std::string contact_name;     // contacts[].profile.name for `from`, if given
  std::string text;             // body, caption, reply title, reaction emoji, location summary
  std::string media_id;         // image/document/audio/video/sticker
  std::string mime_type;
  std::string filename;    // document
  std::string reply_id;    // interactive/button reply id or payload; reacted-to message id
  std::string context_id;  // the message this one replies to (context.id)
  std::string raw;         // this message's JSON as received; "" for type text, whose
                           // fields above hold what it says
  bool operator==(const wa_message&) const = default;
};

struct wa_status {
  std::string phone_number_id;
  std::string id;      // the wamid of our outbound message
  std::string status;  // sent, delivered, read, failed (others kept as given)
  std::int64_t timestamp = 0;
  std::string recipient_id;     // the patient's WhatsApp id
  std::int64_t error_code = 0;  // failed: errors[0].code
  std::string error_title;      // errors[0].title
  std::string error_details;    // errors[0].error_data.details
  bool operator==(const wa_status&) const = default;
};

struct wa_webhook {
  std::vector<wa_message> messages;
  std::vector<wa_status> statuses;
  std::size_t ignored_changes = 0;  // changes whose field is not "messages"
  bool operator==(const wa_webhook&) const = default;
};

struct webhook_error {
  std::string message;  // names what is wrong, for the 400 body
};

std::variant<wa_webhook, webhook_error> parse_whatsapp_webhook(std::string_view body);

// The two ways parse_whatsapp_webhook reads a body, for tests and fuzzing.
namespace detail {
// Text messages only, read as the JSON streams by, without a document:
// nothing when the body holds anything else, or anything it would read
// differently from parse_whatsapp_webhook_dom (which then reads it).
std::optional<wa_webhook> parse_whatsapp_text_fast(std::string_view body);
// Meta sends timestamps as decimal strings: the leading digits, 0 if none.
inline std::int64_t unix_seconds(std::string_view s) {
  std::int64_t t = 0;
  std::from_chars(s.data(), s.data() + s.size(), t);
  return t;
}
// Every shape, through a Boost.JSON document.
std::variant<wa_webhook, webhook_error> parse_whatsapp_webhook_dom(std::string_view body);
}  // namespace detail

}  // namespace gw::protocol

// What every provider adapter speaks: the message to send, the HTTP call
// that sends it, and what the provider's answer means for the message. An
// adapter builds the call and reads the answer; the gateway's client pool
// does the I/O, and the outbound queue acts on the verdict. No sockets here.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gw::adapters {

// One outbound message, provider-neutral.
struct outbound_message {
  enum class kind : std::uint8_t { text, media, template_ };
  kind type = kind::text;
  std::string id;        // ours: sent as the idempotency key and echoed in statuses
  std::string from;      // our sender: WhatsApp phone number id, or the Twilio number
  std::string to;        // the patient, E.164 ("+34600111222"); "whatsapp:+..." for Twilio WhatsApp
  std::string text;      // text: the body; media: the caption (may be empty)
  std::string reply_to;  // the provider id of the message answered (WhatsApp context)

  struct media_ref {
    std::string type;      // image, document, audio, video, sticker
    std::string id;        // a media id the provider holds ...
    std::string link;      // ... or a public URL
    std::string filename;  // documents only
  } media;

  struct template_ref {
    std::string name;
    std::string language;  // "es", "en_US"
    // Body variables: positional ({{1}}, {{2}}) when a name is empty, named
    // ({{motivo}}) otherwise; a template uses one style.
    std::vector<std::pair<std::string, std::string>> body;
  } templ;
};

// An HTTP request relative to the channel's base URL (so tests and the
// provider simulator can stand in for the provider).
struct http_call {
  std::string method = "POST";
  std::string target;  // path and query, appended to the base URL's path
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

// What came back; status 0 when no answer came (connection failed, timeout).
struct http_reply {
  unsigned status = 0;
  std::string body;
  std::string retry_after;  // the Retry-After header, if any
};

// What the provider's answer means for the message.
enum class verdict : std::uint8_t {
  accepted,            // provider_id holds the provider's message id
  retry,               // transient (5xx, timeout, generic temporary error): back off and retry
  throttle_channel,    // the sender is over its throughput: slow the whole channel, retry
  throttle_recipient,  // this sender-recipient pair is over its rate: hold that recipient, retry
  failed,              // permanent: code and reason are final, shown to the agent
};

struct send_result {
  verdict kind = verdict::failed;
  std::string provider_id;          // accepted
  std::string provider_status;      // accepted: the provider's first status, if it gives one
  std::string code;                 // the provider's error code ("131047", "21211"), or a local one
  std::string reason;               // "code: title: details" for people
  std::int64_t retry_after_ms = 0;  // throttles and retries: the provider's hint, 0 if none
};

std::string_view name_of(verdict v) noexcept;

// Milliseconds from a Retry-After header in seconds; 0 when absent or not a
// number (HTTP dates are not used by these providers).
std::int64_t retry_after_ms(const std::string& header) noexcept;

// The answer when no HTTP reply came at all.
send_result no_reply_result();

// What an HTTP status alone says, for an answer without the provider's own
// error code: 5xx retry, 429 throttles the channel, the rest fail; code
// "http_<status>".
send_result by_http_status(unsigned status);

// A 2xx whose provider id could not be read. The provider took the request,
// so sending it again could deliver it twice: it fails, as unreadable_reply.
send_result unreadable_reply(unsigned status, std::string_view missing);

}  // namespace gw::adapters

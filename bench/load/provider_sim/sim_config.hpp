// provider_sim's configuration: the senders it knows (WhatsApp numbers,
// Twilio accounts) with their limits, the faults it injects, and the status
// webhooks it sends back. Read once from a JSON file; every field checked.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace gw::sim {

struct whatsapp_number {
  std::string phone_number_id;
  std::string access_token;  // expected as "Authorization: Bearer ..."
  std::string app_secret;    // signs the status webhooks (X-Hub-Signature-256)
  std::string webhook_url;   // where statuses go; empty: none are sent
  unsigned messages_per_second = 80;
  unsigned pair_interval_ms = 6000;  // one message per recipient per interval...
  unsigned pair_burst = 1;           // ...after a burst of this many
};

struct twilio_account {
  std::string account_sid;
  std::string auth_token;             // Basic auth password; signs the StatusCallback requests
  unsigned messages_per_second = 10;  // per sender number (From)
};

struct faults {
  unsigned latency_ms = 0;         // every answer waits this long...
  unsigned latency_jitter_ms = 0;  // ...plus up to this much more
  double error_5xx = 0;            // share of requests answered 500 (not sent)
  double timeout = 0;              // share never answered (not sent)
  double timeout_after_send = 0;   // share sent but never answered
  double drop = 0;                 // share whose connection is closed unanswered (not sent)
  double throttle_429 = 0;         // share refused as over the limit
  double reject = 0;  // share refused for good (WhatsApp 131026, Twilio 21211; not sent)
  unsigned burst_429_every_ms = 0;   // every so often...
  unsigned burst_429_length_ms = 0;  // ...refuse everything this long as over the limit
  std::uint64_t seed = 1;
};

struct statuses {
  bool enabled = true;
  unsigned sent_ms = 5;        // after acceptance
  unsigned delivered_ms = 20;  // 0: no delivered status
  unsigned read_ms = 0;        // 0: no read status
  double failed = 0;           // share that fail after `sent` instead of being delivered
  int failed_code = 131026;    // WhatsApp code; Twilio uses 30003
  unsigned batch = 50;         // WhatsApp statuses per webhook request, at most
  unsigned connections = 4;    // to each webhook host
  unsigned retries = 5;        // per webhook request, with backoff
};

struct config {
  std::string listen = "127.0.0.1:0";
  unsigned duration_s = 600;       // stops by itself after this long
  bool honour_idempotency = true;  // a repeated Idempotency-Key gets the first answer
  std::vector<whatsapp_number> whatsapp;
  std::vector<twilio_account> twilio;
  struct faults faults;
  struct statuses statuses;
};

struct config_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Throws config_error naming the field ("whatsapp[0].messages_per_second").
config parse_config(std::string_view json_text);

}  // namespace gw::sim

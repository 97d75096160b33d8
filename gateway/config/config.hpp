// The gateway's configuration: plain structs with their defaults, and the one
// function that builds them from defaults, a JSON file, GATEWAY_* environment
// variables and command-line flags, in that order of precedence.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "gateway/obs/log.hpp"

namespace gw {

using std::chrono::milliseconds;

struct http_config {
  std::size_t max_header_bytes = 16 * 1024;  // larger headers: 431
  std::size_t max_body_bytes = 1024 * 1024;  // larger bodies: 413, before reading them
  milliseconds header_timeout{10'000};       // first byte to end of headers
  milliseconds body_timeout{30'000};         // end of headers to end of body
  milliseconds idle_timeout{60'000};         // keep-alive wait for the next request
  std::size_t max_connections = 10'000;      // HTTP and WebSocket together
};

struct ws_config {
  std::size_t max_frame_bytes = 64 * 1024;           // larger messages: close 1009
  std::size_t max_outbound_bytes = 4 * 1024 * 1024;  // per-session send budget: close 4001
  milliseconds handshake_timeout{10'000};            // also bounds the closing handshake
  milliseconds idle_timeout{60'000};                 // ping after half of it, drop after all
  milliseconds auth_timeout{5'000};                  // no valid token by then: close 4002
  unsigned commands_per_second = 20;                 // per session, on average...
  unsigned command_burst = 40;                       // ...and at once; beyond: rate_limited
  std::chrono::microseconds fanout_interval{1000};   // under load: events batched this long
};

struct journal_config {
  std::size_t segment_bytes = 64 * 1024 * 1024;       // rotate segment files past this
  std::chrono::microseconds commit_window{500};       // group commit: wait for more appends
  std::size_t commit_bytes = 1024 * 1024;             // ...unless this many bytes wait
  std::uint64_t snapshot_every_records = 1'000'000;   // per shard
  std::chrono::milliseconds snapshot_spread{60'000};  // a snapshot's encoding, at most
};

struct tls_config {
  std::string cert_file;  // PEM chain; TLS is on when both files are set
  std::string key_file;   // PEM private key
  bool enabled() const noexcept { return !cert_file.empty(); }
};

// A provider number a tenant talks through. Declared in the config file's
// "channels" array; M4's admin API will manage them at run time.
enum class provider_kind : std::uint8_t { whatsapp, twilio };

struct channel_config {
  std::string id;      // the {channel} in webhook paths; letters, digits, '.', '_', '-'
  std::string tenant;  // the clinic that owns it (same alphabet)
  provider_kind provider = provider_kind::whatsapp;
  // WhatsApp Cloud API
  std::string phone_number_id;  // metadata.phone_number_id of its webhooks
  std::string app_secret;       // signs X-Hub-Signature-256
  std::string verify_token;     // the subscription handshake's hub.verify_token
  // Twilio
  std::string number;       // our number, E.164 ("+15550001111") or "whatsapp:+..."
  std::string account_sid;  // inbound AccountSid must match when set; sending needs it
  std::string auth_token;   // signs X-Twilio-Signature; Basic auth password when sending
  // Sending (M5). Empty or 0: the provider's default (channels.hpp).
  std::string api_base_url;          // where the provider's API is (a simulator in tests)
  std::string api_version;           // WhatsApp Graph API version in the path
  std::string access_token;          // WhatsApp: the bearer token that sends
  unsigned messages_per_second = 0;  // provider calls per second, at most, in any second
  unsigned pair_interval_ms = 0;     // WhatsApp: one message per recipient per interval...
  unsigned pair_burst = 0;           // ...after a burst of this many
  unsigned max_segments = 0;         // SMS: parts an agent's text may take (default 10)
  unsigned cost_per_segment = 0;     // SMS: price of one part, minor units (0: not priced)
  // WhatsApp, minor units: a template message (what Meta bills), and any
  // other message (free-form replies inside the 24-hour window; 0: free).
  unsigned cost_per_template = 0;
  unsigned cost_per_message = 0;
  unsigned low_balance = 0;  // admins are told when the available balance falls below (0: never)
  // WhatsApp: the approved templates, "name:language" ("recordatorio_cita:es";
  // a Twilio WhatsApp number names ContentSids). Named when the 24-hour
  // window is closed, since only these may be sent then.
  std::vector<std::string> templates;

  bool operator==(const channel_config&) const = default;
};

// An agent declared in the config file's "agents" array, with a fixed token
// (demos, tests, a first admin); the admin API manages the rest.
struct agent_config {
  std::string tenant, id, name;
  std::string role = "agent";         // agent|admin
  std::string token;                  // the secret, 16..256 bytes
  std::vector<std::string> channels;  // empty: every channel of the tenant
};

struct webhook_config {
  // Scheme and authority Twilio was configured with ("https://gw.example.com"):
  // the URL it signs is this plus the request target. Empty: taken from the
  // request's Host header (right only without a rewriting proxy in front).
  std::string public_base_url;
  std::size_t max_body_bytes = 256 * 1024;  // per webhook request; larger: 413
};

// Sending to the providers (M5): the client pool and the retry policy.
struct outbound_config {
  milliseconds connect_timeout{5'000};   // resolve + TCP + TLS handshake
  milliseconds request_timeout{15'000};  // write the call, read the answer
  unsigned max_attempts = 10;            // calls per message before it fails
  std::size_t queue_limit = 100'000;     // messages waiting per channel; more: failed
  // Keep-alive connections to one provider host per shard thread; also the
  // calls one channel may have outstanding per shard. A provider answering
  // in 300 ms allows about connections / 0.3 s messages per second.
  unsigned connections_per_origin = 128;
  std::string ca_file;  // PEM bundle for the providers; empty: the system's
  // A call written in full but never answered may have been sent: retry it
  // (only safe where the provider honours Idempotency-Key) or fail it.
  bool retry_unanswered = false;
};

struct config {
  std::string listen_host = "127.0.0.1";
  std::uint16_t listen_port = 8080;
  std::string data_dir = "./data";
  unsigned threads = 0;  // 0: one per core
  log::level log_level = log::level::info;
  milliseconds shutdown_grace{10'000};
  http_config http;
  ws_config ws;
  journal_config journal;
  std::size_t actor_batch = 64;  // messages one actor handles before yielding its shard
  bool pin_shards = false;       // runtime.cpu_affinity "shards": each shard thread on one CPU
  std::size_t history_per_conversation = 200;  // messages and notes kept for hist/recent
  std::size_t ids_kept_days = 30;  // dedupe ids and deliveries, from the last event touching each
  tls_config tls;
  webhook_config webhooks;
  outbound_config outbound;
  std::vector<channel_config> channels;
  std::vector<agent_config> agents;
  std::string admin_key;  // bearer key for /v1/ admin routes; empty: they answer 403

  // threads, with 0 resolved to the number of CPUs the process may run on.
  unsigned effective_threads() const noexcept;
};

// A bad setting. what() is one line: "<name> (<source>): <problem>".
class config_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Flags given on the command line that carry settings (--listen and friends),
// by setting name ("listen", "data_dir", "threads").
using flag_settings = std::map<std::string, std::string>;

// Builds the configuration. `config_file` may be empty (defaults only).
// `environ` is the process environment (nullptr-terminated "K=V" strings).
// Throws config_error on the first problem.
config load_config(const std::string& config_file, char** environ, const flag_settings& flags);

}  // namespace gw

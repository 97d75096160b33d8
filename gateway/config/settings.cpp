// The settings table and the text-to-value rules it applies.
#include "gateway/config/settings.hpp"

#include <cctype>
#include <charconv>
#include <cstdio>

#include "gateway/config/config.hpp"

namespace gw {

namespace {

constexpr std::int64_t KiB = 1024, MiB = 1024 * KiB, GiB = 1024 * MiB;
constexpr std::int64_t hour_ms = 3'600'000;

// Splits "host:port" or "[v6]:port".
std::string set_listen(config& c, std::string_view v) {
  std::string_view host, port;
  if (!v.empty() && v.front() == '[') {
    auto close = v.find(']');
    if (close == std::string_view::npos || close + 1 >= v.size() || v[close + 1] != ':')
      return "expected [IPv6]:PORT, got \"" + std::string(v) + "\"";
    host = v.substr(1, close - 1);
    port = v.substr(close + 2);
  } else {
    auto colon = v.rfind(':');
    if (colon == std::string_view::npos || colon == 0)
      return "expected HOST:PORT, got \"" + std::string(v) + "\"";
    host = v.substr(0, colon);
    port = v.substr(colon + 1);
  }
  unsigned p = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (ec != std::errc{} || end != port.data() + port.size() || p > 65535 || port.empty())
    return "port must be a number from 0 to 65535, got \"" + std::string(port) + "\"";
  c.listen_host = std::string(host);
  c.listen_port = static_cast<std::uint16_t>(p);
  return {};
}

std::string set_level(config& c, std::string_view v) {
  auto l = log::parse_level(v);
  if (!l) return "unknown level";  // unreachable: choices are checked first
  c.log_level = *l;
  return {};
}

std::string set_public_base_url(config& c, std::string_view v) {
  while (v.ends_with('/')) v.remove_suffix(1);
  if (!v.empty()) {
    if (!v.starts_with("http://") && !v.starts_with("https://"))
      return "must start with http:// or https://, got \"" + std::string(v) + "\"";
    auto host = v.substr(v.find("://") + 3);
    if (host.empty() || host.find('/') != std::string_view::npos)
      return "must be scheme://host[:port] with no path, got \"" + std::string(v) + "\"";
  }
  c.webhooks.public_base_url = std::string(v);
  return {};
}

#define GW_INT(member)                           \
  [](config& c, std::int64_t v) -> std::string { \
    c.member = decltype(c.member)(v);            \
    return {};                                   \
  }
// A choice of two values: `member` is true for `on`.
#define GW_FLAG(member, on)                          \
  [](config& c, std::string_view v) -> std::string { \
    c.member = v == on;                              \
    return {};                                       \
  }
#define GW_STR(member)                               \
  [](config& c, std::string_view v) -> std::string { \
    c.member = std::string(v);                       \
    return {};                                       \
  }

const setting table[] = {
    {"listen",
     setting_type::string,
     0,
     0,
     {},
     "127.0.0.1:8080",
     "address and port to accept HTTP and WebSocket connections on; port 0 picks a free one",
     nullptr,
     set_listen},
    {"data_dir",
     setting_type::string,
     0,
     0,
     {},
     "./data",
     "directory for the journal and snapshots; created if missing",
     nullptr,
     GW_STR(data_dir)},
    {"threads",
     setting_type::integer,
     0,
     256,
     {},
     "0",
     "shards (one io_context and thread each); 0 means one per CPU the process may run on",
     GW_INT(threads),
     nullptr},
    {"log.level", setting_type::choice, 0, 0, "debug|info|warn|error", "info",
     "lowest level written to stderr as JSON lines", nullptr, set_level},
    {"shutdown_grace_ms",
     setting_type::integer,
     0,
     hour_ms,
     {},
     "10000",
     "on SIGTERM/SIGINT: how long in-flight requests and closing handshakes may take",
     GW_INT(shutdown_grace),
     nullptr},
    {"http.max_header_bytes",
     setting_type::integer,
     1 * KiB,
     1 * MiB,
     {},
     "16384",
     "request line plus headers; larger answers 431",
     GW_INT(http.max_header_bytes),
     nullptr},
    {"http.max_body_bytes",
     setting_type::integer,
     1,
     1 * GiB,
     {},
     "1048576",
     "request body; larger answers 413 before the body is read",
     GW_INT(http.max_body_bytes),
     nullptr},
    {"http.header_timeout_ms",
     setting_type::integer,
     100,
     hour_ms,
     {},
     "10000",
     "from a request's first byte to the end of its headers",
     GW_INT(http.header_timeout),
     nullptr},
    {"http.body_timeout_ms",
     setting_type::integer,
     100,
     hour_ms,
     {},
     "30000",
     "from the end of the headers to the end of the body",
     GW_INT(http.body_timeout),
     nullptr},
    {"http.idle_timeout_ms",
     setting_type::integer,
     100,
     hour_ms,
     {},
     "60000",
     "how long a keep-alive connection may wait for its next request",
     GW_INT(http.idle_timeout),
     nullptr},
    {"http.max_connections",
     setting_type::integer,
     1,
     1'000'000,
     {},
     "10000",
     "open connections (HTTP and WebSocket); beyond it new ones get 503 and are closed",
     GW_INT(http.max_connections),
     nullptr},
    {"ws.max_frame_bytes",
     setting_type::integer,
     125,
     16 * MiB,
     {},
     "65536",
     "largest WebSocket message accepted; larger closes with 1009",
     GW_INT(ws.max_frame_bytes),
     nullptr},
    {"ws.max_outbound_bytes",
     setting_type::integer,
     1 * KiB,
     1 * GiB,
     {},
     "4194304",
     "bytes queued for one WebSocket client; beyond it the session closes with 4001",
     GW_INT(ws.max_outbound_bytes),
     nullptr},
    {"ws.handshake_timeout_ms",
     setting_type::integer,
     100,
     hour_ms,
     {},
     "10000",
     "WebSocket opening and closing handshakes",
     GW_INT(ws.handshake_timeout),
     nullptr},
    {"ws.idle_timeout_ms",
     setting_type::integer,
     1000,
     hour_ms,
     {},
     "60000",
     "a silent WebSocket is pinged after half of this and dropped after all of it",
     GW_INT(ws.idle_timeout),
     nullptr},
    {"ws.auth_timeout_ms",
     setting_type::integer,
     100,
     hour_ms,
     {},
     "5000",
     "an agent session without a valid token by then is closed with 4002",
     GW_INT(ws.auth_timeout),
     nullptr},
    {"ws.commands_per_second",
     setting_type::integer,
     1,
     100'000,
     {},
     "20",
     "agent commands one session may send per second on average; beyond: error rate_limited",
     GW_INT(ws.commands_per_second),
     nullptr},
    {"ws.command_burst",
     setting_type::integer,
     1,
     100'000,
     {},
     "40",
     "agent commands one session may send at once before ws.commands_per_second applies",
     GW_INT(ws.command_burst),
     nullptr},
    {"ws.fanout_interval_us",
     setting_type::integer,
     0,
     100'000,
     {},
     "1000",
     "under load, a tenant's events reach a shard's agent sessions at most this often, batched "
     "and written together; a tenant with fewer than 64 sessions on the shard waits "
     "proportionally less (an idle shard delivers at once; 0: always at once)",
     GW_INT(ws.fanout_interval),
     nullptr},
    {"journal.segment_bytes",
     setting_type::integer,
     1 * MiB,
     4 * GiB,
     {},
     "67108864",
     "journal segment files are rotated past this size",
     GW_INT(journal.segment_bytes),
     nullptr},
    {"journal.commit_window_us",
     setting_type::integer,
     0,
     100'000,
     {},
     "500",
     "group commit: how long a sync may wait for more appends, only while they arrive faster "
     "than one per window, so a lone append is never held back (0: sync at once; appends "
     "that arrive during a sync share the next one anyway)",
     GW_INT(journal.commit_window),
     nullptr},
    {"journal.commit_bytes",
     setting_type::integer,
     4 * KiB,
     256 * MiB,
     {},
     "1048576",
     "group commit: sync without waiting once this many bytes are pending",
     GW_INT(journal.commit_bytes),
     nullptr},
    {"journal.snapshot_every_records",
     setting_type::integer,
     1000,
     1'000'000'000,
     {},
     "1000000",
     "per shard: write a snapshot after this many journal records, bounding restart time",
     GW_INT(journal.snapshot_every_records),
     nullptr},
    {"journal.snapshot_spread_ms",
     setting_type::integer,
     0,
     3'600'000,
     {},
     "60000",
     "a snapshot's encoding is spread over up to this long, and ends sooner if the journal "
     "grows by half of snapshot_every_records first, so it takes a sliver of its shard instead "
     "of a burst (0: as fast as a quarter of the shard allows)",
     GW_INT(journal.snapshot_spread),
     nullptr},
    {"runtime.actor_batch",
     setting_type::integer,
     1,
     65536,
     {},
     "64",
     "messages a conversation actor handles before yielding its shard to others",
     GW_INT(actor_batch),
     nullptr},
    {"runtime.cpu_affinity", setting_type::choice, 0, 0, "none|shards", "none",
     "shards: each shard thread runs on one CPU of those the process may use (shard i on the "
     "i-th, round robin), as on a host dedicated to the gateway, where it keeps each shard's "
     "caches warm; none: the kernel places them (a host shared with other busy processes)",
     nullptr, GW_FLAG(pin_shards, "shards")},
    {"history.messages_per_conversation",
     setting_type::integer,
     0,
     100'000,
     {},
     "200",
     "messages and notes each conversation keeps in memory for hist and recent (oldest go first)",
     GW_INT(history_per_conversation),
     nullptr},
    {"history.ids_kept_days",
     setting_type::integer,
     8,
     3650,
     {},
     "30",
     "days a conversation remembers provider message ids, agents' command ids and deliveries "
     "after the last event that touched each: webhook retries (Meta retries for up to 7 days) "
     "and repeated commands within it are recognised",
     GW_INT(ids_kept_days),
     nullptr},
    {"outbound.connect_timeout_ms",
     setting_type::integer,
     100,
     600'000,
     {},
     "5000",
     "sending: resolving, connecting to and TLS handshake with a provider",
     GW_INT(outbound.connect_timeout),
     nullptr},
    {"outbound.request_timeout_ms",
     setting_type::integer,
     100,
     600'000,
     {},
     "15000",
     "sending: one call to a provider, from writing it to reading the answer",
     GW_INT(outbound.request_timeout),
     nullptr},
    {"outbound.max_attempts",
     setting_type::integer,
     1,
     1000,
     {},
     "10",
     "calls to the provider per message (retries after 5xx, timeouts and throttling "
     "included) before it fails",
     GW_INT(outbound.max_attempts),
     nullptr},
    {"outbound.queue_limit",
     setting_type::integer,
     1,
     10'000'000,
     {},
     "100000",
     "messages waiting to be sent per channel; beyond it a message fails with queue_full",
     GW_INT(outbound.queue_limit),
     nullptr},
    {"outbound.connections_per_origin",
     setting_type::integer,
     1,
     10'000,
     {},
     "128",
     "keep-alive connections to one provider host per shard thread, and the calls one channel "
     "may have outstanding per shard: at a provider's 300 ms per call, about this / 0.3 "
     "messages per second per shard",
     GW_INT(outbound.connections_per_origin),
     nullptr},
    {"outbound.unanswered", setting_type::choice, 0, 0, "fail|retry", "fail",
     "a call written to the provider but never answered (a timeout, or a new connection "
     "closed): fail the message as unanswered, since it may have been sent (never twice), or "
     "retry it (only where the provider honours Idempotency-Key, as provider_sim does)",
     nullptr, GW_FLAG(outbound.retry_unanswered, "retry")},
    {"outbound.ca_file",
     setting_type::string,
     0,
     0,
     {},
     "\"\"",
     "PEM bundle that signs the providers' certificates (empty: the system's)",
     nullptr,
     GW_STR(outbound.ca_file)},
    {"tls.cert_file",
     setting_type::string,
     0,
     0,
     {},
     "\"\"",
     "PEM certificate chain; with tls.key_file, every connection is TLS",
     nullptr,
     GW_STR(tls.cert_file)},
    {"tls.key_file",
     setting_type::string,
     0,
     0,
     {},
     "\"\"",
     "PEM private key for tls.cert_file",
     nullptr,
     GW_STR(tls.key_file)},
    {"webhooks.public_base_url",
     setting_type::string,
     0,
     0,
     {},
     "\"\"",
     "scheme://host[:port] providers call us at (Twilio signs that URL); empty: the Host header",
     nullptr,
     set_public_base_url},
    {"webhooks.max_body_bytes",
     setting_type::integer,
     1 * KiB,
     64 * MiB,
     {},
     "262144",
     "webhook request body; larger answers 413 (counted per channel)",
     GW_INT(webhooks.max_body_bytes),
     nullptr},
    {"admin.key",
     setting_type::string,
     0,
     0,
     {},
     "\"\"",
     "bearer key for the /v1/ admin routes; empty turns them off (403)",
     nullptr,
     GW_STR(admin_key)},
};

#undef GW_INT
#undef GW_STR
#undef GW_FLAG

bool in_choices(std::string_view choices, std::string_view v) {
  while (true) {
    auto bar = choices.find('|');
    if (choices.substr(0, bar) == v) return true;
    if (bar == std::string_view::npos) return false;
    choices.remove_prefix(bar + 1);
  }
}

}  // namespace

std::span<const setting> settings() { return table; }

const setting* find_setting(std::string_view name) {
  for (const auto& s : table)
    if (s.name == name) return &s;
  return nullptr;
}

std::string env_name(std::string_view setting_name) {
  std::string out = "GATEWAY_";
  for (char ch : setting_name)
    out += (ch == '.') ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  return out;
}

std::string apply_text(const setting& s, config& c, std::string_view text) {
  switch (s.type) {
    case setting_type::integer: {
      std::int64_t v = 0;
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
      if (ec != std::errc{} || end != text.data() + text.size() || text.empty())
        return "expected an integer, got \"" + std::string(text) + "\"";
      if (v < s.min) return std::to_string(v) + " is below the minimum " + std::to_string(s.min);
      if (v > s.max) return std::to_string(v) + " is above the maximum " + std::to_string(s.max);
      return s.set_int(c, v);
    }
    case setting_type::choice:
      if (!in_choices(s.choices, text))
        return "expected one of " + std::string(s.choices) + ", got \"" + std::string(text) + "\"";
      return s.set_str(c, text);
    case setting_type::string:
      return s.set_str(c, text);
  }
  return "unknown setting type";
}

std::string describe_settings() {
  std::string out;
  char line[512];
  for (const auto& s : table) {
    std::string range;
    if (s.type == setting_type::integer)
      range = std::to_string(s.min) + ".." + std::to_string(s.max);
    else if (s.type == setting_type::choice)
      range = std::string(s.choices);
    else
      range = "string";
    std::snprintf(line, sizeof line, "  %-24.*s %-22s default %-16.*s\n      %.*s (env %s)\n",
                  static_cast<int>(s.name.size()), s.name.data(), range.c_str(),
                  static_cast<int>(s.default_text.size()), s.default_text.data(),
                  static_cast<int>(s.help.size()), s.help.data(), env_name(s.name).c_str());
    out += line;
  }
  return out;
}

}  // namespace gw

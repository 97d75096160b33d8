// Conversation events: what the journal stores and what agents will see.
// One flat struct for every kind keeps the codec and the journal simple;
// the comments say which fields each kind uses.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace gw::domain {

// A conversation is one contact address on one channel of one tenant.
struct conversation_key {
  std::string tenant;
  std::string channel;
  std::string address;  // the patient's phone number (E.164) or provider id

  bool operator==(const conversation_key&) const = default;
  // "tenant/channel/address": the map key and the snapshot key.
  std::string str() const;
  void str(std::string& out) const;  // the same into `out`, reusing its memory
};

// The home shard of a conversation: FNV-1a over the key, stable across
// restarts and builds (never std::hash).
unsigned home_shard(const conversation_key& k, unsigned shards) noexcept;

enum class event_kind : std::uint8_t {
  // patient -> clinic. message_id, provider_id, author (profile name), text,
  // value (type: text, image, ..., sms, mms, unsupported), detail (the
  // provider's JSON for anything beyond text: media, location, raw),
  // sent_ms (when the provider says the patient sent it)
  message_in = 1,
  // clinic -> patient, state queued. message_id, client_id, author (agent),
  // text; provider_id once the provider accepted it
  message_out = 2,
  // provider_id (whose delivery), value (sent|delivered|read|failed),
  // detail (failed: "code: title: details"); message_id when it links the
  // provider id to our message
  message_status = 3,
  note = 4,          // internal note, never sent. message_id, client_id, author, text
  assignment = 5,    // author (who), value (assignee agent, "" = none), detail (team)
  state_change = 6,  // author, value (open|closed|pending|resolved|bot|spam)
  read = 7,          // author (the agent), value (read up to this seq, decimal)
};
inline constexpr std::uint8_t last_event_kind = 7;

std::string_view name_of(event_kind k) noexcept;

struct event {
  event_kind kind = event_kind::message_in;
  conversation_key conv;
  std::uint64_t seq = 0;     // per conversation, 1, 2, 3, ... in the order the actor applied them
  std::uint64_t offset = 0;  // per tenant, increasing across all its conversations
  std::uint64_t epoch = 0;   // identifies the history the offsets belong to
  std::int64_t at_ms = 0;    // gateway clock, Unix milliseconds
  // message_in: when the patient sent it by the provider's clock (WhatsApp's
  // `timestamp`), Unix milliseconds; 0 when the provider does not say
  // (Twilio). A message Meta delivers late, after retrying through an outage,
  // opens WhatsApp's 24-hour window from this time, not from its arrival.
  std::int64_t sent_ms = 0;
  std::string message_id;
  std::string provider_id;
  std::string client_id;
  std::string author;
  std::string text;
  std::string value;
  std::string detail;

  bool operator==(const event&) const = default;
};

// The journal payload of one atomic batch. Binary, versioned by the record
// format (FORMAT.md): varint count, then per event its kind byte, varints
// and length-prefixed strings.
std::string encode_events(std::span<const event> events);
// nullopt when the bytes are not a well-formed batch.
std::optional<std::vector<event>> decode_events(std::string_view payload);

}  // namespace gw::domain

// A conversation's state and the one function that moves it forward. The
// same apply() runs live (after an event is durable) and during recovery,
// so a restarted gateway rebuilds exactly the state it acknowledged.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "gateway/domain/event.hpp"
#include "gateway/domain/history_buffer.hpp"
#include "gateway/domain/id_table.hpp"
#include "gateway/domain/lazy.hpp"

namespace gw::domain {

inline constexpr std::int64_t day_ms = 24LL * 3600 * 1000;
inline constexpr std::int64_t whatsapp_window_ms = day_ms;
// Messages and notes a conversation keeps for `hist` and `recent`.
inline constexpr std::size_t default_history_limit = 200;
// How long a conversation remembers an id it deduplicates by (a provider's
// message id, an agent's command id) and a delivery, counted from the last
// event that touched it: a webhook retried within that time (Meta retries
// for up to 7 days) or a command repeated within it is recognised. Older
// ones are forgotten at the conversation's first event of a later day, so
// its memory follows its recent traffic, not its whole life. Times are the
// events' own (stamped when accepted, journaled), so recovery forgets
// exactly what the live gateway did.
inline constexpr std::int64_t default_ids_kept_ms = 30 * day_ms;

// Where one outbound message stands with the provider, keyed by the
// provider's message id (wamid, MessageSid). Statuses arrive in any order:
// the state only moves forward (sent < delivered < read; failed ranks with
// read, and whichever of the two came first stays). A status for a message
// not yet known (message_id empty) waits here until that message appears.
struct delivery {
  std::string message_id;    // our id; empty while the message itself is unseen
  std::string status;        // sent|delivered|read|failed, "" before any status
  std::string detail;        // failed: "code: title: details"
  std::int64_t at_ms = 0;    // when the current status was applied
  std::int64_t seen_ms = 0;  // the last event that touched it (the message or a status)
};

// Provider message ids ("wamid.HBgLMzQ2..." + the part that differs, or
// "SM" + 32 hex digits) and command ids in a conversation's clinic-side
// tables (deliveries, client_ids; its inbound ids are an id_table, which
// every webhook asks: id_table.hpp). libstdc++ (GCC 12) looks
// a key up in a set of up to 20 by comparing it with every key when the
// hasher is "slow" (std::hash<std::string> is): each comparison loads that
// key's bytes from the heap, a cache miss per key, the largest single cost
// of webhook ingest with many conversations (bench/PROFILE.md). id_hash
// counts as fast (a user hasher) and is not noexcept, so libstdc++ keeps
// each node's hash: a lookup hashes the key once and compares cached
// hashes, touching a key's bytes only when they match. id_equal then checks
// the last eight bytes, where ids differ, before the whole. Correct with
// any standard library; only the speed relies on these policies.
struct id_hash {
  std::size_t operator()(std::string_view s) const;  // not noexcept: see above
};
struct id_equal {
  bool operator()(std::string_view a, std::string_view b) const noexcept;
};
using id_set = std::unordered_set<std::string, id_hash, id_equal>;
template <class V>
using id_map = std::unordered_map<std::string, V, id_hash, id_equal>;

// Order of delivery statuses; 0 for anything that carries no state
// (queued, accepted, ...), which never changes a delivery.
int status_rank(std::string_view status) noexcept;
// Whether applying `status` to `d` would change it.
bool status_advances(const delivery& d, std::string_view status) noexcept;

// One message or note of a conversation's kept history, as agents page
// through it (`hist`, `recent`). Outbound ones follow their delivery.
// A conversation keeps up to `history.messages_per_conversation` of these
// (200 by default), so the text fields share one string: 72 bytes and one
// heap block per message, where six strings took 248 bytes and up to six
// blocks.
class kept_message {
 public:
  struct fields {
    std::string_view id, type, text, author;
    std::string_view extra;  // message_in: the provider's JSON beyond text (media, location,
                             // ...); message_out: a template reply's `tpl`
  };
  kept_message() = default;
  kept_message(event_kind k, std::uint64_t s, std::int64_t at, const fields& f);

  event_kind kind() const noexcept { return kind_; }  // message_in, message_out or note
  std::uint64_t seq() const noexcept { return seq_; }
  std::int64_t at_ms() const noexcept { return at_ms_; }
  std::string_view id() const noexcept { return field(0); }
  std::string_view type() const noexcept { return field(1); }
  std::string_view text() const noexcept { return field(2); }
  std::string_view author() const noexcept { return field(3); }
  std::string_view extra() const noexcept { return field(4); }
  std::string_view error() const noexcept { return field(5); }  // failed: "code: title: details"
  // message_out: queued|sent|delivered|read|failed; "" for the others.
  std::string_view status() const noexcept;
  // Sets the status (one of status()'s values; false, and no change, for
  // any other) and, for `failed` only, the error.
  bool set_status(std::string_view status, std::string_view error);

 private:
  std::string_view field(std::size_t i) const noexcept {
    std::uint32_t from = i == 0 ? 0 : ends_[i - 1];
    std::uint32_t to = i < ends_.size() ? ends_[i] : static_cast<std::uint32_t>(data_.size());
    return std::string_view(data_).substr(from, to - from);
  }

  std::uint64_t seq_ = 0;
  std::int64_t at_ms_ = 0;
  std::string data_;                     // id, type, text, author, extra, error, end to end
  std::array<std::uint32_t, 5> ends_{};  // where each field but the last ends in data_
  event_kind kind_ = event_kind::message_in;
  std::uint8_t status_ = 0;  // index into status()'s values
};

// An agent's command (send, note) as its conversation remembers it, so that
// a repeat of its id is answered, not applied again.
struct client_command {
  std::string message_id;    // what the command created
  std::int64_t seen_ms = 0;  // when it was applied
  bool operator==(const client_command&) const = default;
};

// What the clinic's side of a conversation has sent: agents' command ids
// and the deliveries of its replies. Allocated with the first of them: a
// conversation nobody has answered yet does without.
struct clinic_side {
  id_map<client_command> client_ids;  // agent command id -> what it created
  id_map<delivery> deliveries;        // provider message id -> state
};

struct conversation {
  conversation_key key;              // the contact is key.address on key.channel
  std::string contact_name;          // from the provider's profile (message_in author)
  std::uint64_t seq = 0;             // seq of the last applied event
  std::string status = "open";       // open|closed|pending|resolved|bot|spam
  std::int64_t last_inbound_ms = 0;  // the 24-hour window's start: the latest window_start()
  std::int64_t last_message_ms = 0;  // the last message either way (notes excluded)
  std::uint64_t last_inbound_seq = 0;
  std::uint64_t read_seq = 0;       // agents have read up to this seq (a shared inbox: any agent)
  std::uint32_t unread = 0;         // patient messages after read_seq
  std::uint32_t messages = 0;       // in + out (notes excluded)
  std::uint32_t ids_swept_day = 0;  // the day (of the epoch, event time) ids were last swept
  bool closed = false;              // open/closed
  std::string assignee;             // agent, "" when unassigned
  std::string team;
  std::vector<std::string> participants;  // agents who wrote or acted, first time order
  id_table<std::int64_t> provider_ids;    // inbound id -> when seen: webhook retries dedupe here
  lazy<clinic_side> clinic;               // read as clinic->...; written through clinic.get()
  history_buffer<kept_message> history;   // the latest messages and notes, oldest first

  // WhatsApp: free-form messages are allowed within 24 h of the patient's
  // last message; outside it only approved templates.
  bool window_open(std::int64_t now_ms) const noexcept {
    return last_inbound_ms != 0 && now_ms - last_inbound_ms <= whatsapp_window_ms;
  }
};

// When a patient's message opens WhatsApp's 24-hour window: when the
// provider says it was sent, or when it arrived if that is earlier (a clock
// ahead of ours) or the provider does not say. Never later than Meta's own
// count, so a reply the gateway lets through is one Meta accepts.
inline std::int64_t window_start(const event& e) noexcept {
  return e.sent_ms > 0 ? std::min(e.sent_ms, e.at_ms) : e.at_ms;
}

// Applies one durable event. Events must come in seq order. `history_limit`:
// how many messages and notes the conversation keeps (the oldest go first,
// except replies still `queued`, which stay until they are sent or fail).
// `ids_kept_ms`: how long ids and deliveries are remembered (0: forever).
void apply(conversation& c, const event& e, std::size_t history_limit = default_history_limit,
           std::int64_t ids_kept_ms = default_ids_kept_ms);

// Snapshot codec for a set of conversations (binary, wire.hpp helpers).
// `version` is the snapshot's (FORMAT.md): 2 lacks history and read state.
void encode_conversation(std::string& out, const conversation& c);
bool decode_conversation(std::string_view& in, conversation& c, std::uint32_t version);

}  // namespace gw::domain

// A conversation's state and the one function that moves it forward. The
// same apply() runs live (after an event is durable) and during recovery,
// so a restarted gateway rebuilds exactly the state it acknowledged.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "gateway/domain/event.hpp"

namespace gw::domain {

inline constexpr std::int64_t whatsapp_window_ms = 24LL * 3600 * 1000;

struct conversation {
  conversation_key key;              // the contact is key.address on key.channel
  std::string contact_name;          // from the provider's profile (message_in author)
  std::uint64_t seq = 0;             // seq of the last applied event
  bool closed = false;               // open/closed
  std::string status = "open";       // open|closed|pending|resolved|bot|spam
  std::int64_t last_inbound_ms = 0;  // the patient's last message: the 24-hour window
  std::string assignee;              // agent, "" when unassigned
  std::string team;
  std::vector<std::string> participants;         // agents who wrote or acted, first time order
  std::uint32_t messages = 0;                    // in + out (notes excluded)
  std::unordered_set<std::string> provider_ids;  // inbound ids seen: webhook retries dedupe here
  std::unordered_map<std::string, std::string> client_ids;  // agent command id -> message id

  // WhatsApp: free-form messages are allowed within 24 h of the patient's
  // last message; outside it only approved templates.
  bool window_open(std::int64_t now_ms) const noexcept {
    return last_inbound_ms != 0 && now_ms - last_inbound_ms <= whatsapp_window_ms;
  }
};

// Applies one durable event. Events must come in seq order.
void apply(conversation& c, const event& e);

// Snapshot codec for a set of conversations (binary, wire.hpp helpers).
void encode_conversation(std::string& out, const conversation& c);
bool decode_conversation(std::string_view& in, conversation& c);

}  // namespace gw::domain

// Conversation state transitions and their snapshot encoding.
#include "gateway/domain/conversation.hpp"

#include <algorithm>

#include "gateway/domain/wire.hpp"

namespace gw::domain {

namespace {
void take_part(conversation& c, const std::string& agent) {
  if (agent.empty()) return;
  if (std::find(c.participants.begin(), c.participants.end(), agent) == c.participants.end())
    c.participants.push_back(agent);
}
}  // namespace

int status_rank(std::string_view status) noexcept {
  if (status == "sent") return 1;
  if (status == "delivered") return 2;
  if (status == "read" || status == "failed") return 3;
  return 0;
}

bool status_advances(const delivery& d, std::string_view status) noexcept {
  return status_rank(status) > status_rank(d.status);
}

void apply(conversation& c, const event& e) {
  c.seq = e.seq;
  switch (e.kind) {
    case event_kind::message_in:
      // A patient writing again reopens a closed conversation.
      if (c.closed) {
        c.closed = false;
        c.status = "open";
      }
      c.last_inbound_ms = std::max(c.last_inbound_ms, e.at_ms);
      if (!e.author.empty()) c.contact_name = e.author;
      if (!e.provider_id.empty()) c.provider_ids.insert(e.provider_id);
      ++c.messages;
      break;
    case event_kind::message_out:
      take_part(c, e.author);
      if (!e.client_id.empty()) c.client_ids.emplace(e.client_id, e.message_id);
      if (!e.provider_id.empty()) c.deliveries[e.provider_id].message_id = e.message_id;
      ++c.messages;
      break;
    case event_kind::note:
      take_part(c, e.author);
      if (!e.client_id.empty()) c.client_ids.emplace(e.client_id, e.message_id);
      break;
    case event_kind::message_status: {
      auto& d = c.deliveries[e.provider_id];
      if (!e.message_id.empty()) d.message_id = e.message_id;  // the provider accepted ours
      if (status_advances(d, e.value)) {
        d.status = e.value;
        d.detail = e.detail;
        d.at_ms = e.at_ms;
      }
      break;
    }
    case event_kind::assignment:
      c.assignee = e.value;
      c.team = e.detail;
      take_part(c, e.value);
      break;
    case event_kind::state_change:
      take_part(c, e.author);
      c.status = e.value;
      if (e.value == "closed")
        c.closed = true;
      else if (e.value == "open")
        c.closed = false;
      break;
  }
}

void encode_conversation(std::string& out, const conversation& c) {
  using namespace wire;
  put_str(out, c.key.tenant);
  put_str(out, c.key.channel);
  put_str(out, c.key.address);
  put_str(out, c.contact_name);
  put_varint(out, c.seq);
  put_varint(out, c.closed ? 1 : 0);
  put_str(out, c.status);
  put_varint(out, static_cast<std::uint64_t>(c.last_inbound_ms));
  put_str(out, c.assignee);
  put_str(out, c.team);
  put_varint(out, c.messages);
  put_varint(out, c.participants.size());
  for (const auto& p : c.participants) put_str(out, p);
  put_varint(out, c.provider_ids.size());
  for (const auto& p : c.provider_ids) put_str(out, p);
  put_varint(out, c.client_ids.size());
  for (const auto& [k, v] : c.client_ids) {
    put_str(out, k);
    put_str(out, v);
  }
  put_varint(out, c.deliveries.size());
  for (const auto& [id, d] : c.deliveries) {
    put_str(out, id);
    put_str(out, d.message_id);
    put_str(out, d.status);
    put_str(out, d.detail);
    put_varint(out, static_cast<std::uint64_t>(d.at_ms));
  }
}

bool decode_conversation(std::string_view& in, conversation& c) {
  wire::reader r{in};
  r.str(c.key.tenant);
  r.str(c.key.channel);
  r.str(c.key.address);
  r.str(c.contact_name);
  c.seq = r.varint();
  c.closed = r.varint() != 0;
  r.str(c.status);
  c.last_inbound_ms = static_cast<std::int64_t>(r.varint());
  r.str(c.assignee);
  r.str(c.team);
  c.messages = static_cast<std::uint32_t>(r.varint());
  auto n = r.varint();
  for (std::uint64_t i = 0; r.ok && i < n; ++i) r.str(c.participants.emplace_back());
  n = r.varint();
  for (std::uint64_t i = 0; r.ok && i < n; ++i) {
    std::string s;
    r.str(s);
    c.provider_ids.insert(std::move(s));
  }
  n = r.varint();
  for (std::uint64_t i = 0; r.ok && i < n; ++i) {
    std::string k, v;
    r.str(k);
    r.str(v);
    c.client_ids.emplace(std::move(k), std::move(v));
  }
  n = r.varint();
  for (std::uint64_t i = 0; r.ok && i < n; ++i) {
    std::string id;
    delivery d;
    r.str(id);
    r.str(d.message_id);
    r.str(d.status);
    r.str(d.detail);
    d.at_ms = static_cast<std::int64_t>(r.varint());
    c.deliveries.emplace(std::move(id), std::move(d));
  }
  if (!r.ok) return false;
  in = r.in;
  return true;
}

}  // namespace gw::domain

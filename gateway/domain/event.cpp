// Event naming, shard hashing and the binary batch codec.
#include "gateway/domain/event.hpp"

#include <array>

#include "gateway/domain/wire.hpp"

namespace gw::domain {

using wire::put_str;
using wire::put_varint;

std::string conversation_key::str() const {
  std::string out;
  str(out);
  return out;
}

void conversation_key::str(std::string& out) const {
  out.clear();
  out.reserve(tenant.size() + channel.size() + address.size() + 2);
  out.append(tenant).append(1, '/').append(channel).append(1, '/').append(address);
}

unsigned home_shard(const conversation_key& k, unsigned shards) noexcept {
  std::uint64_t h = 14695981039346656037ull;
  auto mix = [&h](std::string_view s) {
    for (unsigned char c : s) {
      h ^= c;
      h *= 1099511628211ull;
    }
    h ^= 0xFF;  // separator: ("ab","c") and ("a","bc") differ
    h *= 1099511628211ull;
  };
  mix(k.tenant);
  mix(k.channel);
  mix(k.address);
  return shards == 0 ? 0 : static_cast<unsigned>(h % shards);
}

std::string_view name_of(event_kind k) noexcept {
  switch (k) {
    case event_kind::message_in:
      return "message_in";
    case event_kind::message_out:
      return "message_out";
    case event_kind::message_status:
      return "message_status";
    case event_kind::note:
      return "note";
    case event_kind::assignment:
      return "assignment";
    case event_kind::state_change:
      return "state_change";
    case event_kind::read:
      return "read";
  }
  return "unknown";
}

namespace {
// An event's strings after its numbers, in their encoded order.
std::array<const std::string*, 7> payload_strings(const event& e) {
  return {&e.message_id, &e.provider_id, &e.client_id, &e.author, &e.text, &e.value, &e.detail};
}
constexpr std::size_t max_varint = 10;  // bytes
// Set on an event's kind byte when a varint `sent_ms` follows its strings
// (FORMAT.md): an event without one is encoded as before it existed.
constexpr std::uint8_t has_sent_ms = 0x80;
}  // namespace

std::string encode_events(std::span<const event> events) {
  // Room for all of it up front: a message's text alone outgrows a guess,
  // and each regrowth was an allocation and a copy on every webhook's path.
  std::size_t size = max_varint;
  for (const auto& e : events) {
    size +=
        1 + 8 * max_varint + e.conv.tenant.size() + e.conv.channel.size() + e.conv.address.size();
    for (const std::string* s : payload_strings(e)) size += max_varint + s->size();
  }
  std::string out;
  out.reserve(size);
  put_varint(out, events.size());
  for (const auto& e : events) {
    const bool sent = e.sent_ms > 0;
    out.push_back(static_cast<char>(static_cast<std::uint8_t>(e.kind) | (sent ? has_sent_ms : 0)));
    put_str(out, e.conv.tenant);
    put_str(out, e.conv.channel);
    put_str(out, e.conv.address);
    put_varint(out, e.seq);
    put_varint(out, e.offset);
    put_varint(out, e.epoch);
    put_varint(out, static_cast<std::uint64_t>(e.at_ms));
    for (const std::string* s : payload_strings(e)) put_str(out, *s);
    if (sent) put_varint(out, static_cast<std::uint64_t>(e.sent_ms));
  }
  return out;
}

std::optional<std::vector<event>> decode_events(std::string_view payload) {
  wire::reader r{payload};
  auto n = r.varint();
  if (!r.ok || n > payload.size()) return std::nullopt;  // each event takes > 1 byte
  std::vector<event> out(n);
  for (auto& e : out) {
    const std::uint8_t flagged = r.byte();
    const std::uint8_t kind = flagged & ~has_sent_ms;
    if (!r.ok || kind < 1 || kind > last_event_kind) return std::nullopt;
    e.kind = static_cast<event_kind>(kind);
    r.str(e.conv.tenant);
    r.str(e.conv.channel);
    r.str(e.conv.address);
    e.seq = r.varint();
    e.offset = r.varint();
    e.epoch = r.varint();
    e.at_ms = static_cast<std::int64_t>(r.varint());
    for (std::string* s :
         {&e.message_id, &e.provider_id, &e.client_id, &e.author, &e.text, &e.value, &e.detail})
      r.str(*s);
    if (flagged & has_sent_ms) {
      e.sent_ms = static_cast<std::int64_t>(r.varint());
      if (e.sent_ms <= 0) return std::nullopt;  // never written: absent is the flag unset
    }
    if (!r.ok) return std::nullopt;
  }
  if (!r.in.empty()) return std::nullopt;
  return out;
}

}  // namespace gw::domain

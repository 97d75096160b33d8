// Conversation state transitions and their snapshot encoding.
#include "gateway/domain/conversation.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>

#include "gateway/domain/wire.hpp"

namespace gw::domain {

std::size_t id_hash::operator()(std::string_view s) const {
  return std::hash<std::string_view>{}(s);
}

bool id_equal::operator()(std::string_view a, std::string_view b) const noexcept {
  if (a.size() != b.size()) return false;
  if (a.size() >= 8) {
    std::uint64_t x, y;
    std::memcpy(&x, a.data() + a.size() - 8, 8);
    std::memcpy(&y, b.data() + b.size() - 8, 8);
    if (x != y) return false;
  }
  return a == b;
}

namespace {
// libstdc++ gives an unordered container 13 buckets (104 bytes) at its first
// insert. Most of a conversation's id sets hold a few ids, so they start at
// two buckets and double from there: 96 bytes less for each set in use.
template <class Table>
Table& small(Table& t) {
  if (t.empty()) t.reserve(1);
  return t;
}

// The delivery of provider message `id`, created when first named.
delivery& delivery_of(conversation& c, const std::string& id, std::int64_t at_ms) {
  auto& d = small(c.clinic.get().deliveries)[id];
  d.seen_ms = std::max(d.seen_ms, at_ms);
  return d;
}

void remember_command(conversation& c, const event& e) {
  if (!e.client_id.empty())
    small(c.clinic.get().client_ids)
        .try_emplace(e.client_id, client_command{e.message_id, e.at_ms});
}

// Forgets, at the conversation's first event of each day, the ids and
// deliveries last touched more than `kept_ms` before that event.
void sweep(conversation& c, std::int64_t now_ms, std::int64_t kept_ms) {
  if (kept_ms <= 0 || now_ms <= 0) return;
  const auto day = static_cast<std::uint32_t>(now_ms / day_ms);
  if (day <= c.ids_swept_day) return;
  c.ids_swept_day = day;
  const auto before = now_ms - kept_ms;
  c.provider_ids.erase_if([&](const auto& kv) { return kv.second < before; });
  if (!c.clinic.allocated()) return;
  auto& side = c.clinic.get();
  std::erase_if(side.client_ids, [&](const auto& kv) { return kv.second.seen_ms < before; });
  std::erase_if(side.deliveries, [&](const auto& kv) { return kv.second.seen_ms < before; });
  if (side.client_ids.empty() && side.deliveries.empty()) c.clinic.reset();
}

void take_part(conversation& c, const std::string& agent) {
  if (agent.empty()) return;
  if (std::find(c.participants.begin(), c.participants.end(), agent) == c.participants.end())
    c.participants.push_back(agent);
}

bool waiting_to_be_sent(const kept_message& m) {
  return m.kind() == event_kind::message_out && m.status() == "queued";
}

// Drops the oldest kept entries beyond `limit`, except replies still
// waiting to be sent: after a restart the outbound queue finds them here,
// so they stay until they leave `queued` (however small the limit).
void trim(conversation& c, std::size_t limit) {
  auto it = c.history.begin();
  while (c.history.size() > limit && it != c.history.end()) {
    if (waiting_to_be_sent(*it))
      ++it;
    else
      it = c.history.erase(it);
  }
}

void keep(conversation& c, const event& e, std::size_t limit) {
  if (limit == 0 && e.kind != event_kind::message_out) return;
  kept_message::fields f{
      e.message_id, e.value.empty() ? "text" : std::string_view(e.value), e.text, e.author, {}};
  // The provider's JSON of an inbound message; a template reply's `tpl`.
  if (e.kind == event_kind::message_in || e.kind == event_kind::message_out) f.extra = e.detail;
  auto& m = c.history.emplace_back(e.kind, e.seq, e.at_ms, f);
  if (e.kind == event_kind::message_out) m.set_status("queued", {});
  trim(c, limit);
}

// The kept message with our id `id`, newest first (statuses mostly name
// recent messages); null when it is not kept.
kept_message* kept(conversation& c, const std::string& id) {
  if (id.empty()) return nullptr;
  for (auto it = c.history.rbegin(); it != c.history.rend(); ++it)
    if (it->id() == id) return &*it;
  return nullptr;
}

void follow_delivery(conversation& c, const delivery& d) {
  auto* m = kept(c, d.message_id);
  if (!m || d.status.empty()) return;
  m->set_status(d.status, d.detail);
}

// Patient messages after read_seq. Exact while they are all kept (a
// conversation keeps hundreds; nobody has that many unread).
std::uint32_t count_unread(const conversation& c) {
  if (c.read_seq >= c.last_inbound_seq) return 0;
  return static_cast<std::uint32_t>(std::count_if(c.history.begin(), c.history.end(), [&](auto& m) {
    return m.kind() == event_kind::message_in && m.seq() > c.read_seq;
  }));
}
// kept_message's status values, by their index.
constexpr std::array<std::string_view, 6> kept_statuses{"",          "queued", "sent",
                                                        "delivered", "read",   "failed"};
}  // namespace

kept_message::kept_message(event_kind k, std::uint64_t s, std::int64_t at, const fields& f)
    : seq_(s), at_ms_(at), kind_(k) {
  const std::string_view parts[] = {f.id, f.type, f.text, f.author, f.extra};
  std::size_t total = 0;
  for (auto p : parts) total += p.size();
  data_.reserve(total);
  for (std::size_t i = 0; i < ends_.size(); ++i) {
    data_ += parts[i];
    ends_[i] = static_cast<std::uint32_t>(data_.size());
  }
}

std::string_view kept_message::status() const noexcept { return kept_statuses[status_]; }

bool kept_message::set_status(std::string_view status, std::string_view error) {
  auto it = std::find(kept_statuses.begin(), kept_statuses.end(), status);
  if (it == kept_statuses.end()) return false;
  status_ = static_cast<std::uint8_t>(it - kept_statuses.begin());
  data_.resize(ends_.back());  // the error is the last field
  if (status == "failed") data_ += error;
  return true;
}

int status_rank(std::string_view status) noexcept {
  if (status == "sent") return 1;
  if (status == "delivered") return 2;
  if (status == "read" || status == "failed") return 3;
  return 0;
}

bool status_advances(const delivery& d, std::string_view status) noexcept {
  return status_rank(status) > status_rank(d.status);
}

void apply(conversation& c, const event& e, std::size_t history_limit, std::int64_t ids_kept_ms) {
  c.seq = e.seq;
  switch (e.kind) {
    case event_kind::message_in:
      // A patient writing again reopens a closed conversation.
      if (c.closed) {
        c.closed = false;
        c.status = "open";
      }
      c.last_inbound_ms = std::max(c.last_inbound_ms, window_start(e));
      c.last_message_ms = std::max(c.last_message_ms, e.at_ms);
      c.last_inbound_seq = e.seq;
      if (e.seq > c.read_seq) ++c.unread;
      if (!e.author.empty()) c.contact_name = e.author;
      if (!e.provider_id.empty()) c.provider_ids.insert_or_assign(e.provider_id, e.at_ms);
      ++c.messages;
      keep(c, e, history_limit);
      break;
    case event_kind::message_out:
      take_part(c, e.author);
      c.last_message_ms = std::max(c.last_message_ms, e.at_ms);
      remember_command(c, e);
      ++c.messages;
      keep(c, e, history_limit);
      if (!e.provider_id.empty()) {  // a status may have come first
        auto& d = delivery_of(c, e.provider_id, e.at_ms);
        d.message_id = e.message_id;
        follow_delivery(c, d);
      }
      break;
    case event_kind::note:
      take_part(c, e.author);
      remember_command(c, e);
      keep(c, e, history_limit);
      break;
    case event_kind::message_status: {
      auto& d = delivery_of(c, e.provider_id, e.at_ms);
      if (!e.message_id.empty()) d.message_id = e.message_id;  // the provider accepted ours
      if (status_advances(d, e.value)) {
        d.status = e.value;
        d.detail = e.detail;
        d.at_ms = e.at_ms;
      }
      follow_delivery(c, d);
      trim(c, history_limit);  // a reply that left `queued` may go now
      break;
    }
    case event_kind::read: {
      std::uint64_t upto = 0;
      std::from_chars(e.value.data(), e.value.data() + e.value.size(), upto);
      if (upto > c.read_seq) {
        c.read_seq = upto;
        c.unread = count_unread(c);
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
  sweep(c, e.at_ms, ids_kept_ms);
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
  for (const auto& [id, seen] : c.provider_ids) {
    put_str(out, id);
    put_varint(out, static_cast<std::uint64_t>(seen));
  }
  put_varint(out, c.clinic->client_ids.size());
  for (const auto& [k, v] : c.clinic->client_ids) {
    put_str(out, k);
    put_str(out, v.message_id);
    put_varint(out, static_cast<std::uint64_t>(v.seen_ms));
  }
  put_varint(out, c.clinic->deliveries.size());
  for (const auto& [id, d] : c.clinic->deliveries) {
    put_str(out, id);
    put_str(out, d.message_id);
    put_str(out, d.status);
    put_str(out, d.detail);
    put_varint(out, static_cast<std::uint64_t>(d.at_ms));
    put_varint(out, static_cast<std::uint64_t>(d.seen_ms));
  }
  // Version 3.
  put_varint(out, static_cast<std::uint64_t>(c.last_message_ms));
  put_varint(out, c.last_inbound_seq);
  put_varint(out, c.read_seq);
  put_varint(out, c.unread);
  put_varint(out, c.history.size());
  for (const auto& m : c.history) {
    out.push_back(static_cast<char>(m.kind()));
    put_varint(out, m.seq());
    put_varint(out, static_cast<std::uint64_t>(m.at_ms()));
    for (auto f : {m.id(), m.type(), m.text(), m.author(), m.status(), m.extra(), m.error()})
      put_str(out, f);
  }
  // Version 4.
  put_varint(out, c.ids_swept_day);
}

bool decode_conversation(std::string_view& in, conversation& c, std::uint32_t version) {
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
  // Before version 4 ids carried no time: they count as seen with the last
  // message (below), the latest time the snapshot can vouch for.
  const bool timed = version >= 4;
  auto seen = [&] { return timed ? static_cast<std::int64_t>(r.varint()) : 0; };
  n = r.varint();
  if (n <= r.in.size()) c.provider_ids.reserve(n);  // each id takes a byte at least
  for (std::uint64_t i = 0; r.ok && i < n; ++i) {
    std::string s;
    r.str(s);
    c.provider_ids.insert_or_assign(std::move(s), seen());
  }
  n = r.varint();
  for (std::uint64_t i = 0; r.ok && i < n; ++i) {
    std::string k;
    client_command v;
    r.str(k);
    r.str(v.message_id);
    v.seen_ms = seen();
    small(c.clinic.get().client_ids).emplace(std::move(k), std::move(v));
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
    d.seen_ms = timed ? seen() : d.at_ms;
    small(c.clinic.get().deliveries).emplace(std::move(id), std::move(d));
  }
  if (version >= 3) {
    c.last_message_ms = static_cast<std::int64_t>(r.varint());
    c.last_inbound_seq = r.varint();
    c.read_seq = r.varint();
    c.unread = static_cast<std::uint32_t>(r.varint());
    n = r.varint();
    for (std::uint64_t i = 0; r.ok && i < n; ++i) {
      auto kind = r.byte();
      if (kind != static_cast<std::uint8_t>(event_kind::message_in) &&
          kind != static_cast<std::uint8_t>(event_kind::message_out) &&
          kind != static_cast<std::uint8_t>(event_kind::note))
        return false;
      auto seq = r.varint();
      auto at_ms = static_cast<std::int64_t>(r.varint());
      kept_message::fields f;
      f.id = r.view();
      f.type = r.view();
      f.text = r.view();
      f.author = r.view();
      auto status = r.view();
      f.extra = r.view();
      auto error = r.view();
      if (!r.ok) break;
      auto& m = c.history.emplace_back(static_cast<event_kind>(kind), seq, at_ms, f);
      if (!m.set_status(status, error)) return false;
    }
  } else {  // version 2 kept no history: the unread count starts anew
    c.last_message_ms = c.last_inbound_ms;
  }
  if (timed) {
    c.ids_swept_day = static_cast<std::uint32_t>(r.varint());
  } else {
    for (auto& [id, at] : c.provider_ids) at = c.last_message_ms;
    if (c.clinic.allocated()) {
      for (auto& [id, v] : c.clinic.get().client_ids) v.seen_ms = c.last_message_ms;
      for (auto& [id, d] : c.clinic.get().deliveries)
        d.seen_ms = std::max(d.seen_ms, c.last_message_ms);
    }
  }
  if (!r.ok) return false;
  in = r.in;
  return true;
}

}  // namespace gw::domain

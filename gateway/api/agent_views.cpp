// Access, visibility, views, protocol objects and cursors for agents.
#include "gateway/api/agent_views.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>

namespace gw::api {

using domain::event;
using domain::event_kind;
using protocol::view;

bool access::may_use(std::string_view channel) const {
  return channels.empty() || std::find(channels.begin(), channels.end(), channel) != channels.end();
}

const domain::agent_record* access_of(const domain::directory_state& s,
                                      const net::agent_identity& who, access& a) {
  const auto* me = s.agent(who.tenant, who.agent);
  if (!me) return nullptr;
  a.admin = me->role == domain::agent_role::admin;
  const auto* t = s.tenant(who.tenant);
  a.segmented = t && t->segmented;
  a.teams = s.teams_of(who.tenant, who.agent);
  a.channels = me->channels;
  return me;
}

bool visible(const access& a, const std::string& me, const std::string& team,
             const std::string& assignee) {
  if (a.admin) return true;
  if (!team.empty() && std::find(a.teams.begin(), a.teams.end(), team) == a.teams.end())
    return false;
  return !a.segmented || assignee.empty() || assignee == me;
}

bool may_open(const access& a, view v) {
  return a.admin || (v != view::others && (!a.segmented || v == view::fresh || v == view::mine));
}

bool in_view(view v, const domain::conversation_summary& c, const std::string& me,
             std::int64_t now) {
  if (!c.exists) return false;
  const bool closed = c.status == "closed";
  switch (v) {
    case view::fresh:
      return c.assignee.empty() && !closed && c.status != "bot" && c.status != "spam";
    case view::mine:
      return c.assignee == me && !closed;
    case view::others:
      return !c.assignee.empty() && c.assignee != me && !closed;
    case view::closed:
      return closed;
    case view::expired:
      return !closed && c.last_inbound_ms != 0 &&
             now - c.last_inbound_ms > domain::whatsapp_window_ms;
    case view::bot:
      return c.status == "bot";
    case view::spam:
      return c.status == "spam";
  }
  return false;
}

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

namespace {
// "code: title: details" -> code, and the rest.
void split_error(std::string_view detail, protocol::message_view& m) {
  auto colon = detail.find(':');
  m.error_code = detail.substr(0, colon);
  m.error_detail =
      colon == std::string_view::npos ? "" : detail.substr(std::min(colon + 2, detail.size()));
}

std::string_view direction_of(event_kind k) {
  switch (k) {
    case event_kind::message_in:
      return "in";
    case event_kind::note:
      return "note";
    default:
      return "out";
  }
}
}  // namespace

protocol::message_view message_of(const event& e) {
  protocol::message_view m;
  m.id = e.message_id;
  m.channel = e.conv.channel;
  m.address = e.conv.address;
  m.seq = e.seq;
  m.at_ms = e.at_ms;
  m.text = e.text;
  m.author = e.author;
  switch (e.kind) {
    case event_kind::message_in:
      m.direction = "in";
      m.type = e.value.empty() ? "text" : e.value;
      m.extra_json = e.detail;
      break;
    case event_kind::message_status:
      m.status = e.value;
      if (e.value == "failed") split_error(e.detail, m);
      break;
    default:
      m.direction = direction_of(e.kind);
      if (e.kind == event_kind::message_out) {
        m.status = "queued";
        m.type = e.value.empty() ? "text" : e.value;
        m.extra_json = e.detail;
      }
      break;
  }
  return m;
}

protocol::message_view message_of(const domain::conversation& c, const domain::kept_message& k) {
  protocol::message_view m;
  m.id = k.id();
  m.channel = c.key.channel;
  m.address = c.key.address;
  m.seq = k.seq();
  m.at_ms = k.at_ms();
  m.direction = direction_of(k.kind());
  m.type = k.type();
  m.text = k.text();
  m.author = k.author();
  m.status = k.status();
  m.extra_json = k.extra();
  if (k.status() == "failed") split_error(k.error(), m);
  return m;
}

protocol::conversation_view conversation_of(const std::string& channel, const std::string& address,
                                            const domain::conversation_summary& s) {
  protocol::conversation_view c;
  c.channel = channel;
  c.address = address;
  c.name = s.contact_name;
  c.state = s.status;
  c.assignee = s.assignee;
  c.team = s.team;
  c.last_inbound_ms = s.last_inbound_ms;
  c.last_message_ms = s.last_message_ms;
  c.seq = s.seq;
  c.unread = s.unread;
  return c;
}

// ---- Cursors ---------------------------------------------------------------
//
// "<fingerprint>.<a>.<b>.<cv>": the fingerprint (FNV-1a of the query, 16 hex
// digits) ties a cursor to its query; cv comes last since it may hold dots.

namespace {
std::string fingerprint(std::string_view query) {
  std::uint64_t h = 14695981039346656037ULL;
  for (unsigned char ch : query) {
    h ^= ch;
    h *= 1099511628211ULL;
  }
  static constexpr char hex[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i, h >>= 4) out[static_cast<std::size_t>(i)] = hex[h & 15];
  return out;
}

bool take_number(std::string_view& in, std::int64_t& out) {
  auto dot = in.find('.');
  if (dot == std::string_view::npos) return false;
  auto [end, ec] = std::from_chars(in.data(), in.data() + dot, out);
  if (ec != std::errc{} || end != in.data() + dot || dot == 0) return false;
  in.remove_prefix(dot + 1);
  return true;
}
}  // namespace

std::string encode_cursor(std::string_view query, const page_cursor& c) {
  return fingerprint(query) + '.' + std::to_string(c.a) + '.' + std::to_string(c.b) + '.' + c.cv;
}

std::optional<page_cursor> decode_cursor(std::string_view query, std::string_view text) {
  auto fp = fingerprint(query);
  if (text.size() <= fp.size() || text.substr(0, fp.size()) != fp || text[fp.size()] != '.')
    return std::nullopt;
  text.remove_prefix(fp.size() + 1);
  page_cursor c;
  if (!take_number(text, c.a) || !take_number(text, c.b)) return std::nullopt;
  c.cv = std::string(text);
  return c;
}

}  // namespace gw::api

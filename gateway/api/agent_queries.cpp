// Agent reads: list (a view of conversations), hist (one conversation's
// messages) and recent (every visible message of the last N hours), paged
// by opaque cursors. They read the conversations' kept state on their home
// shards; nothing here is journaled.
#include <algorithm>
#include <tuple>

#include "gateway/api/agent_commands.hpp"
#include "gateway/api/agent_views.hpp"

namespace gw::api {

using protocol::agent_error;

namespace {

// The caller's access, or the reason it has none (it was deleted).
std::optional<access> caller_access(domain::directory_service& directory,
                                    const net::agent_identity& who) {
  return directory.read([&](const domain::directory_state& s) -> std::optional<access> {
    access a;
    if (!access_of(s, who, a)) return std::nullopt;
    return a;
  });
}

// The `ok` frame of a page: `items` and `next` (null on the last page).
std::string page_answer(const std::string& id, boost::json::array items,
                        std::optional<std::string> next) {
  boost::json::object r;
  r["items"] = std::move(items);
  if (next)
    r["next"] = *next;
  else
    r["next"] = nullptr;
  return protocol::encode_ok(id, std::move(r));
}

std::string bad_cursor(const protocol::command& cmd) {
  return protocol::encode_error(cmd.id, agent_error::bad_cursor,
                                "\"cur\" is not a cursor of this query (same command and "
                                "arguments as the page it came from)");
}

std::string recovering(const protocol::command& cmd) {
  return protocol::encode_error(cmd.id, agent_error::unavailable,
                                "the gateway is recovering its journal; retry shortly");
}

std::string agent_gone(const protocol::command& cmd, const net::agent_identity& who) {
  return protocol::encode_error(cmd.id, agent_error::forbidden,
                                "agent \"" + who.agent + "\" no longer exists");
}

// A page over every conversation of a tenant (list, recent). On each shard
// `collect(conversation, out)` appends (key, row) pairs, the key computed
// once; then the rows after `after` (when given) are ordered by key and the
// first `cmd.limit` answered, with `cursor(row)` as `next` when more remain.
template <class Key, class Row, class Collect, class Cursor>
void answer_page(domain::conversation_service& core, const std::string& tenant,
                 const protocol::command& cmd, std::string query, std::optional<Key> after,
                 Collect collect, Cursor cursor, net::frame_sink reply) {
  using item = std::pair<Key, Row>;
  auto per_shard = std::make_shared<std::vector<std::vector<item>>>(core.shard_count());
  auto visit = [per_shard, collect](unsigned shard, const domain::conversation& c) {
    collect(c, (*per_shard)[shard]);
  };
  auto done = [per_shard, cmd, query = std::move(query), after = std::move(after), cursor,
               reply = std::move(reply)](bool complete) {
    if (!complete) return (void)reply(recovering(cmd));
    std::vector<item> rows;
    for (auto& part : *per_shard) std::move(part.begin(), part.end(), std::back_inserter(rows));
    if (after) std::erase_if(rows, [&](const item& r) { return !(*after < r.first); });
    const std::size_t take = std::min<std::size_t>(cmd.limit, rows.size());
    std::partial_sort(rows.begin(), rows.begin() + static_cast<std::ptrdiff_t>(take), rows.end(),
                      [](const item& x, const item& y) { return x.first < y.first; });
    boost::json::array items;
    items.reserve(take);
    for (std::size_t i = 0; i < take; ++i) items.push_back(protocol::to_json(rows[i].second));
    std::optional<std::string> next;
    if (rows.size() > take) next = encode_cursor(query, cursor(rows[take - 1].second));
    reply(page_answer(cmd.id, std::move(items), std::move(next)));
  };
  core.scan(tenant, std::move(visit), std::move(done));
}

}  // namespace

// list: the conversations of one view, newest last message first.
void agent_commands::list(const net::agent_identity& who, const protocol::command& cmd,
                          net::frame_sink reply) {
  auto a = caller_access(directory_, who);
  if (!a) return (void)reply(agent_gone(cmd, who));
  const auto v = cmd.views.front();
  if (!may_open(*a, v)) {
    reply(protocol::encode_error(
        cmd.id, agent_error::forbidden,
        "view \"" + std::string(protocol::name_of(v)) + "\" is not open to this agent"));
    return;
  }
  const std::string query =
      "list|" + std::string(protocol::name_of(v)) + "|" + cmd.team.value_or("\x01");
  std::optional<page_cursor> from;
  if (!cmd.cursor.empty() && !(from = decode_cursor(query, cmd.cursor)))
    return (void)reply(bad_cursor(cmd));

  // Newest last message first; the conversation id breaks ties.
  using key = std::tuple<std::int64_t, std::string>;
  using row = protocol::conversation_view;
  std::optional<key> after;
  if (from) after = key{-from->a, from->cv};
  const auto now = wall_ms();
  auto collect = [a = *a, me = who.agent, v, team = cmd.team, now](
                     const domain::conversation& c, std::vector<std::pair<key, row>>& out) {
    if (!a.may_use(c.key.channel) || !visible(a, me, c.team, c.assignee)) return;
    if (team && c.team != *team) return;
    auto s = domain::summary_of(c);
    if (!in_view(v, s, me, now)) return;
    auto r = conversation_of(c.key.channel, c.key.address, s);
    out.emplace_back(key{-r.last_message_ms, r.channel + ':' + r.address}, std::move(r));
  };
  auto cursor = [](const row& r) {
    return page_cursor{r.last_message_ms, 0, r.channel + ':' + r.address};
  };
  answer_page<key, row>(core_, who.tenant, cmd, query, std::move(after), std::move(collect), cursor,
                        std::move(reply));
}

// hist: one conversation's kept messages and notes, newest first.
void agent_commands::history(const net::agent_identity& who, const protocol::command& cmd,
                             net::frame_sink reply) {
  const std::string cv = cmd.cv();
  auto not_found = [&] {
    reply(protocol::encode_error(cmd.id, agent_error::not_found, "no conversation " + cv));
  };
  const auto ch = channels_.find(cmd.channel);
  if (!ch || ch->tenant != who.tenant) return not_found();
  auto a = caller_access(directory_, who);
  if (!a) return (void)reply(agent_gone(cmd, who));
  if (!a->may_use(cmd.channel)) return not_found();
  if (!core_.ready()) return (void)reply(recovering(cmd));  // else "not found" would mislead
  const std::string query = "hist|" + cv;
  std::optional<page_cursor> from;
  if (!cmd.cursor.empty() && !(from = decode_cursor(query, cmd.cursor)))
    return (void)reply(bad_cursor(cmd));

  core_.inspect({who.tenant, cmd.channel, cmd.address}, [cmd, cv, query, from, a = *a,
                                                         me = who.agent, reply = std::move(reply)](
                                                            const domain::conversation* c) {
    if (!c || !visible(a, me, c->team, c->assignee)) {
      reply(protocol::encode_error(cmd.id, agent_error::not_found, "no conversation " + cv));
      return;
    }
    // Newest first: walk the kept history backwards from the cursor.
    boost::json::array items;
    std::optional<std::string> next;
    for (auto it = c->history.rbegin(); it != c->history.rend(); ++it) {
      if (from && it->seq() >= static_cast<std::uint64_t>(from->a)) continue;
      if (items.size() == cmd.limit) {
        next = encode_cursor(query, {static_cast<std::int64_t>((it - 1)->seq()), 0, {}});
        break;
      }
      items.push_back(protocol::to_json(message_of(*c, *it)));
    }
    reply(page_answer(cmd.id, std::move(items), std::move(next)));
  });
}

// recent: every message and note of the last `h` hours in the conversations
// the caller may see, newest first.
void agent_commands::recent(const net::agent_identity& who, const protocol::command& cmd,
                            net::frame_sink reply) {
  auto a = caller_access(directory_, who);
  if (!a) return (void)reply(agent_gone(cmd, who));
  const std::string query = "recent|" + std::to_string(cmd.hours);
  std::optional<page_cursor> from;
  if (!cmd.cursor.empty() && !(from = decode_cursor(query, cmd.cursor)))
    return (void)reply(bad_cursor(cmd));

  // Newest first; conversation id, then seq (newest first) break ties.
  using key = std::tuple<std::int64_t, std::string, std::int64_t>;
  using row = protocol::message_view;
  std::optional<key> after;
  if (from) after = key{-from->a, from->cv, -from->b};
  const auto since = wall_ms() - static_cast<std::int64_t>(cmd.hours) * 3600 * 1000;
  auto collect = [a = *a, me = who.agent, since](const domain::conversation& c,
                                                 std::vector<std::pair<key, row>>& out) {
    if (!a.may_use(c.key.channel) || !visible(a, me, c.team, c.assignee)) return;
    const auto cv = c.key.channel + ':' + c.key.address;
    for (const auto& m : c.history)  // provider timestamps need not be in seq order
      if (m.at_ms() >= since)
        out.emplace_back(key{-m.at_ms(), cv, -static_cast<std::int64_t>(m.seq())},
                         message_of(c, m));
  };
  auto cursor = [](const row& r) {
    return page_cursor{r.at_ms, static_cast<std::int64_t>(r.seq), r.channel + ':' + r.address};
  };
  answer_page<key, row>(core_, who.tenant, cmd, query, std::move(after), std::move(collect), cursor,
                        std::move(reply));
}

}  // namespace gw::api

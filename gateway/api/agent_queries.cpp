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

// Sorts `rows` by `key` (ascending), keeps those after `from` (when given)
// and answers the first `limit` with a cursor after the last one when more
// remain. `key(row)` is a tuple; `cursor(row)` the page_cursor for it.
template <class Row, class Key, class From, class Cursor, class Json>
std::string answer_page(const protocol::command& cmd, const std::string& query,
                        std::vector<Row> rows, Key key, const From& from, Cursor cursor,
                        Json json) {
  if (from) std::erase_if(rows, [&](const Row& r) { return !(*from < key(r)); });
  const std::size_t take = std::min<std::size_t>(cmd.limit, rows.size());
  std::partial_sort(rows.begin(), rows.begin() + static_cast<std::ptrdiff_t>(take), rows.end(),
                    [&](const Row& x, const Row& y) { return key(x) < key(y); });
  boost::json::array items;
  items.reserve(take);
  for (std::size_t i = 0; i < take; ++i) items.push_back(json(rows[i]));
  std::optional<std::string> next;
  if (rows.size() > take) next = encode_cursor(query, cursor(rows[take - 1]));
  return page_answer(cmd.id, std::move(items), std::move(next));
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

}  // namespace

// list: the conversations of one view, newest last message first.
void agent_commands::list(const net::agent_identity& who, const protocol::command& cmd,
                          net::frame_sink reply) {
  auto a = caller_access(directory_, who);
  if (!a) return (void)reply(agent_gone(cmd, who));
  const auto v = cmd.views.front();
  if (!a->admin && (v == protocol::view::others ||
                    (a->segmented && v != protocol::view::fresh && v != protocol::view::mine))) {
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

  using row = protocol::conversation_view;
  struct gathered {
    std::vector<std::vector<row>> per_shard;
  };
  auto g = std::make_shared<gathered>();
  g->per_shard.resize(core_.shard_count());
  const auto now = wall_ms();
  auto visit = [g, a = *a, me = who.agent, v, team = cmd.team, now](unsigned shard,
                                                                    const domain::conversation& c) {
    if (!a.may_use(c.key.channel) || !visible(a, me, c.team, c.assignee)) return;
    if (team && c.team != *team) return;
    auto s = domain::summary_of(c);
    if (!in_view(v, s, me, now)) return;
    g->per_shard[shard].push_back(conversation_of(c.key.channel, c.key.address, s));
  };
  auto done = [g, cmd, query, from, reply = std::move(reply)](bool complete) {
    if (!complete) return (void)reply(recovering(cmd));
    std::vector<row> rows;
    for (auto& part : g->per_shard) std::move(part.begin(), part.end(), std::back_inserter(rows));
    auto key = [](const row& r) {
      return std::make_tuple(-r.last_message_ms, r.channel + ':' + r.address);
    };
    std::optional<decltype(key(row{}))> after;
    if (from) after = std::make_tuple(-from->a, from->cv);
    reply(answer_page(
        cmd, query, std::move(rows), key, after,
        [](const row& r) {
          return page_cursor{r.last_message_ms, 0, r.channel + ':' + r.address};
        },
        [](const row& r) { return protocol::to_json(r); }));
  };
  core_.scan(who.tenant, std::move(visit), std::move(done));
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
      if (from && it->seq >= static_cast<std::uint64_t>(from->a)) continue;
      if (items.size() == cmd.limit) {
        next = encode_cursor(query, {static_cast<std::int64_t>((it - 1)->seq), 0, {}});
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

  using row = protocol::message_view;
  struct gathered {
    std::vector<std::vector<row>> per_shard;
  };
  auto g = std::make_shared<gathered>();
  g->per_shard.resize(core_.shard_count());
  const auto since = wall_ms() - static_cast<std::int64_t>(cmd.hours) * 3600 * 1000;
  auto visit = [g, a = *a, me = who.agent, since](unsigned shard, const domain::conversation& c) {
    if (!a.may_use(c.key.channel) || !visible(a, me, c.team, c.assignee)) return;
    for (const auto& m : c.history)  // provider timestamps need not be in seq order
      if (m.at_ms >= since) g->per_shard[shard].push_back(message_of(c, m));
  };
  auto done = [g, cmd, query, from, reply = std::move(reply)](bool complete) {
    if (!complete) return (void)reply(recovering(cmd));
    std::vector<row> rows;
    for (auto& part : g->per_shard) std::move(part.begin(), part.end(), std::back_inserter(rows));
    auto key = [](const row& r) {
      return std::make_tuple(-r.at_ms, r.channel + ':' + r.address,
                             -static_cast<std::int64_t>(r.seq));
    };
    std::optional<decltype(key(row{}))> after;
    if (from) after = std::make_tuple(-from->a, from->cv, -from->b);
    reply(answer_page(
        cmd, query, std::move(rows), key, after,
        [](const row& r) {
          return page_cursor{r.at_ms, static_cast<std::int64_t>(r.seq),
                             r.channel + ':' + r.address};
        },
        [](const row& r) { return protocol::to_json(r); }));
  };
  core_.scan(who.tenant, std::move(visit), std::move(done));
}

}  // namespace gw::api

// What an agent may see and how it sees it: access read from the directory,
// visibility and view membership (AGENT_PROTOCOL.md sections 5 and 7), the
// domain's conversations and messages as protocol objects, and the opaque
// paging cursors of list, hist and recent. Pure: no I/O, any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/domain/conversations.hpp"
#include "gateway/domain/directory.hpp"
#include "gateway/net/context.hpp"
#include "protocol/agent_frames.hpp"

namespace gw::api {

// What the directory says about the caller, read once per command.
struct access {
  bool admin = false;
  bool segmented = false;
  std::vector<std::string> teams;     // the caller's
  std::vector<std::string> channels;  // channels it may use; empty = every channel
  bool may_use(std::string_view channel) const;
};

// Fills `a` for `who` from the directory; the agent's record, or null when
// the agent no longer exists (then `a` is left as is).
const domain::agent_record* access_of(const domain::directory_state& s,
                                      const net::agent_identity& who, access& a);

// Whether the caller may see a conversation with this team and assignee
// (section 7; channel access is checked apart).
bool visible(const access& a, const std::string& me, const std::string& team,
             const std::string& assignee);

// Whether the caller may use view `v` at all: `others` is for admins, and
// with `segmented` on an agent has only `new` and `mine` (section 5).
bool may_open(const access& a, protocol::view v);

// Whether a conversation in state `c` belongs to view `v` for agent `me`.
bool in_view(protocol::view v, const domain::conversation_summary& c, const std::string& me,
             std::int64_t now_ms);

std::int64_t wall_ms();

// A message event as agents see it: ours (out, note), the patient's (in),
// or, for a status event, the message it names.
protocol::message_view message_of(const domain::event& e);
// A kept message of conversation `c`.
protocol::message_view message_of(const domain::conversation& c, const domain::kept_message& m);
protocol::conversation_view conversation_of(const std::string& channel, const std::string& address,
                                            const domain::conversation_summary& s);

// A position in one query's ordering, carried by `next`/`cur`. Which query
// it belongs to is part of it: a cursor of another query is refused.
struct page_cursor {
  std::int64_t a = 0;  // list: lm; hist: seq; recent: at
  std::int64_t b = 0;  // recent: seq
  std::string cv;      // list, recent: the conversation id
};
// `query` names the query and its arguments (e.g. "list|mine|front-desk").
std::string encode_cursor(std::string_view query, const page_cursor& c);
std::optional<page_cursor> decode_cursor(std::string_view query, std::string_view text);

}  // namespace gw::api

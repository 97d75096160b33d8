// The agent protocol gw.agent.v1 (AGENT_PROTOCOL.md): decoding of client
// commands, with every argument checked, and encoding of every server frame.
//
// A client frame is one JSON object: {"c": <command>, "id": <1-64 bytes>, ...}.
// The server answers {"t":"ok","id":...,...} or
// {"t":"err","id":...,"code":...,"msg":...}, and pushes hello, ev, resync and
// pong frames. Pure: no I/O, no clock; fuzzed (tests/fuzz).
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace gw::protocol {

// Every error code of the protocol (section 9). The names are the wire codes.
enum class agent_error : std::uint8_t {
  bad_frame,             // not a JSON object, or `c`/`id` missing or mistyped
  unknown_command,       // `c` names no command of this version
  bad_args,              // an argument missing, mistyped or out of range
  unauthenticated,       // a command before `auth`
  bad_token,             // wrong or revoked token (the session is then closed)
  forbidden,             // the agent may not do or see this
  not_found,             // no such conversation, or not visible
  bad_cursor,            // `cur` does not belong to this query
  rate_limited,          // too many commands per second
  window_closed,         // WhatsApp 24-hour window closed
  insufficient_balance,  // prepaid balance too low
  unavailable,           // not now: recovering, journal down, not served yet
  internal,              // a bug
};

std::string_view code_of(agent_error e) noexcept;

// Limits the codec enforces (section 8); the session's `lim` reports them.
inline constexpr std::size_t max_command_id_bytes = 64;
inline constexpr std::size_t max_text_chars = 4096;  // send/note, in code points
inline constexpr std::uint32_t max_page = 100;
inline constexpr std::uint32_t default_page = 50;
inline constexpr std::size_t max_subscriptions = 16;
inline constexpr std::size_t max_token_bytes = 256;
inline constexpr std::size_t max_cursor_bytes = 512;
inline constexpr std::size_t max_name_bytes = 128;  // agent, team, channel ids
inline constexpr unsigned max_recent_hours = 24;

enum class command_kind : std::uint8_t {
  auth,
  ping,
  sub,
  unsub,
  list,
  hist,
  recent,
  send,
  note,
  assign,
  close,
  reopen,
  mark,
  read,
};
std::string_view name_of(command_kind k) noexcept;

enum class view : std::uint8_t {
  fresh,
  mine,
  others,
  closed,
  expired,
  bot,
  spam
};  // fresh = "new"
std::string_view name_of(view v) noexcept;

// A position in a tenant's event history.
struct position {
  std::uint64_t epoch = 0;
  std::uint64_t offset = 0;
  bool operator==(const position&) const = default;
};

// send: an approved WhatsApp template instead of free text (section 5).
struct template_args {
  std::string name;      // as approved: lower-case letters, digits, '_'
  std::string language;  // "es", "en_US"
  // Body variables: positional ({{1}}, {{2}}: names empty) or named
  // ({{motivo}}); one style per template.
  std::vector<std::pair<std::string, std::string>> vars;
  bool named = false;
  bool operator==(const template_args&) const = default;
};
inline constexpr std::size_t max_template_vars = 20;

// `x` of an outbound template message: {"tpl":{"n","lang","vars"}}, and back.
std::string template_json(const template_args& t);
std::optional<template_args> template_from_json(std::string_view x);
// What agents read as the message's text: the variables, in order.
std::string template_text(const template_args& t);

// One decoded command. One flat struct for every kind; the comments say which
// kinds use a field. Everything here has passed the checks of section 5 and 8.
struct command {
  command_kind kind = command_kind::ping;
  std::string id;

  std::string token;                   // auth
  std::vector<view> views;             // sub, unsub (1..16, no repeats); list (exactly one)
  std::optional<std::string> team;     // sub, list: narrow to a team
  std::optional<position> from;        // sub: resume after this position
  std::string cursor;                  // list, hist, recent: "" = first page
  std::uint32_t limit = default_page;  // list, hist, recent: 1..100
  std::string channel, address;        // every command naming a conversation (`cv`)
  std::string text;                    // send (unless tpl), note: 1..4096 code points
  std::optional<template_args> tpl;    // send: a template instead of `tx`
  unsigned hours = 0;                  // recent: 1..24
  // assign: nullopt = leave as is, "" = clear (JSON null), else the new value;
  // at least one of the two is given.
  std::optional<std::string> assign_agent, assign_team;
  std::string state;                 // mark: pending|resolved
  std::optional<std::uint64_t> seq;  // read: up to this conversation seq (default: latest)

  std::string cv() const { return channel + ':' + address; }
};

struct decode_failure {
  agent_error error = agent_error::bad_frame;
  std::string id;       // echoed when the frame carried a usable id, else empty
  std::string message;  // names the problem
};

using decode_result = std::variant<command, decode_failure>;

// Decodes one text frame. Never throws on bad input.
decode_result decode_command(std::string_view frame);

// ---- Server frames -------------------------------------------------------

// A conversation as agents see it (section 4).
struct conversation_view {
  std::string channel, address, name;
  std::string state = "open";
  std::string assignee, team;        // "" encodes as null
  std::int64_t last_inbound_ms = 0;  // `lin`
  std::int64_t last_message_ms = 0;  // `lm`
  std::uint64_t seq = 0;
  std::uint32_t unread = 0;
};

// A message or note as agents see it (section 4).
struct message_view {
  std::string id;
  std::string channel, address;
  std::uint64_t seq = 0;
  std::int64_t at_ms = 0;
  std::string direction;  // in|out|note
  std::string type = "text";
  std::string text, author;
  std::string status;                    // out only; "" encodes as null
  std::string error_code, error_detail;  // failed only
  std::string extra_json;                // provider JSON object for `x`, or ""
};

boost::json::object to_json(const conversation_view& c);
boost::json::object to_json(const message_view& m);

struct session_limits {
  std::size_t frame_bytes = 65536;
  unsigned commands_per_second = 20;
  unsigned burst = 40;
};

struct hello {
  std::string agent, tenant, role;
  position head;
  session_limits limits;
};

std::string encode_ok(std::string_view id, boost::json::object result = {});
// The first answer to a command, marked as a repeat ("dup":true).
std::string mark_duplicate(std::string_view ok_frame);
std::string encode_error(std::string_view id, agent_error e, std::string_view message,
                         boost::json::object extra = {});
std::string encode_pong(std::string_view id);
// To admins: the channel's available prepaid balance fell below `min`.
std::string encode_balance_notice(std::string_view channel, std::int64_t available,
                                  std::int64_t threshold);
std::string encode_hello(const hello& h);
enum class resync_reason : std::uint8_t { epoch, gone };
std::string encode_resync(std::string_view id, resync_reason why, position now);
std::string encode_message_event(position at, const message_view& m);
std::string encode_status_event(position at, const message_view& m);  // msg.st
std::string encode_conversation_event(position at, const conversation_view& c);

}  // namespace gw::protocol

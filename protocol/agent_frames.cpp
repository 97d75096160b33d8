// gw.agent.v1 frames: command decoding with argument checks, server frames.
#include "protocol/agent_frames.hpp"

#include <algorithm>
#include <array>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <limits>

namespace gw::protocol {

namespace json = boost::json;

std::string_view code_of(agent_error e) noexcept {
  switch (e) {
    case agent_error::bad_frame:
      return "bad_frame";
    case agent_error::unknown_command:
      return "unknown_command";
    case agent_error::bad_args:
      return "bad_args";
    case agent_error::unauthenticated:
      return "unauthenticated";
    case agent_error::bad_token:
      return "bad_token";
    case agent_error::forbidden:
      return "forbidden";
    case agent_error::not_found:
      return "not_found";
    case agent_error::bad_cursor:
      return "bad_cursor";
    case agent_error::rate_limited:
      return "rate_limited";
    case agent_error::window_closed:
      return "window_closed";
    case agent_error::insufficient_balance:
      return "insufficient_balance";
    case agent_error::unavailable:
      return "unavailable";
    case agent_error::internal:
      return "internal";
  }
  return "internal";
}

namespace {

constexpr std::array<std::string_view, 14> command_names = {
    "auth", "ping", "sub",    "unsub", "list",   "hist", "recent",
    "send", "note", "assign", "close", "reopen", "mark", "read"};
constexpr std::array<std::string_view, 7> view_names = {"new",     "mine", "others", "closed",
                                                        "expired", "bot",  "spam"};

}  // namespace

std::string_view name_of(command_kind k) noexcept {
  return command_names[static_cast<std::size_t>(k)];
}
std::string_view name_of(view v) noexcept { return view_names[static_cast<std::size_t>(v)]; }

std::string template_json(const template_args& t) {
  json::object tpl{{"n", t.name}, {"lang", t.language}};
  if (t.named) {
    json::object vars;
    for (const auto& [k, v] : t.vars) vars[k] = v;
    tpl["vars"] = std::move(vars);
  } else {
    json::array vars;
    for (const auto& kv : t.vars) vars.emplace_back(kv.second);
    tpl["vars"] = std::move(vars);
  }
  return json::serialize(json::object{{"tpl", std::move(tpl)}});
}

std::optional<template_args> template_from_json(std::string_view x) {
  boost::system::error_code ec;
  auto v = json::parse(x, ec);
  auto* tpl = !ec && v.is_object() ? v.as_object().if_contains("tpl") : nullptr;
  auto* o = tpl ? tpl->if_object() : nullptr;
  if (!o || !o->contains("n") || !o->contains("lang") || !o->at("n").is_string() ||
      !o->at("lang").is_string())
    return std::nullopt;
  template_args t;
  t.name = o->at("n").as_string();
  t.language = o->at("lang").as_string();
  if (auto* vars = o->if_contains("vars")) {
    if (auto* a = vars->if_array()) {
      for (const auto& e : *a) {
        if (!e.is_string()) return std::nullopt;
        t.vars.emplace_back("", std::string(e.as_string()));
      }
    } else if (auto* named = vars->if_object()) {
      t.named = true;
      for (const auto& kv : *named) {
        if (!kv.value().is_string()) return std::nullopt;
        t.vars.emplace_back(std::string(kv.key()), std::string(kv.value().as_string()));
      }
    } else {
      return std::nullopt;
    }
  }
  return t;
}

std::string template_text(const template_args& t) {
  std::string out;
  for (const auto& kv : t.vars) out += (out.empty() ? "" : "\n") + kv.second;
  return out.empty() ? "[" + t.name + "]" : out;
}

namespace {

// The arguments each command accepts, by command_kind, separated by spaces;
// anything else is refused by name, so a typo (`text` for `tx`) is an error
// instead of a silently empty field.
constexpr std::array<std::string_view, 14> allowed_args = {
    "tok",       "",      "v tm from", "v",  "v tm cur lim", "cv cur lim", "h cur lim",
    "cv tx tpl", "cv tx", "cv ag tm",  "cv", "cv",           "cv st",      "cv seq"};

bool accepts(command_kind k, std::string_view key) {
  std::string_view list = allowed_args[static_cast<std::size_t>(k)];
  while (!list.empty()) {
    auto space = list.find(' ');
    if (list.substr(0, space) == key) return true;
    list = space == std::string_view::npos ? std::string_view() : list.substr(space + 1);
  }
  return false;
}

std::size_t code_points(std::string_view s) noexcept {
  return static_cast<std::size_t>(
      std::count_if(s.begin(), s.end(), [](char ch) { return (ch & 0xC0) != 0x80; }));
}

bool has_control(std::string_view s) noexcept {
  return std::any_of(s.begin(), s.end(),
                     [](char ch) { return static_cast<unsigned char>(ch) < 0x20 || ch == 0x7F; });
}

// Reads one command's arguments; the first problem wins and names the field.
class arg_reader {
 public:
  arg_reader(const json::object& o, command_kind k) : o_(o), kind_(k) {}

  const std::string& problem() const noexcept { return problem_; }
  bool ok() const noexcept { return problem_.empty(); }

  void refuse_unknown() {
    for (const auto& kv : o_) {
      std::string_view key = kv.key();
      if (key == "c" || key == "id") continue;
      if (!accepts(kind_, key))
        return fail("unknown argument \"" + std::string(key) + "\" for " +
                    std::string(name_of(kind_)));
    }
  }

  // A string of min..max bytes without control characters.
  std::optional<std::string> name(std::string_view key, std::size_t max, bool required) {
    auto* v = find(key, required, "a string");
    if (!v) return std::nullopt;
    auto* s = v->if_string();
    if (!s) return mistyped(key, "a string");
    if (s->empty() || s->size() > max || has_control(*s))
      return fail_opt("\"" + std::string(key) + "\" must be 1 to " + std::to_string(max) +
                      " bytes without control characters");
    return std::string(s->data(), s->size());
  }

  // Message text: 1..max_text_chars code points (control characters such as
  // new lines are part of messages).
  std::string text(std::string_view key) {
    auto* v = find(key, true, "a string");
    if (!v) return {};
    auto* s = v->if_string();
    if (!s) return mistyped(key, "a string").value_or("");
    auto n = code_points(*s);
    if (n == 0 || n > max_text_chars) {
      fail("\"" + std::string(key) + "\" must hold 1 to " + std::to_string(max_text_chars) +
           " characters (has " + std::to_string(n) + ")");
      return {};
    }
    return std::string(s->data(), s->size());
  }

  std::optional<std::uint64_t> integer(std::string_view key, std::uint64_t min, std::uint64_t max,
                                       bool required) {
    auto* v = find(key, required, "an integer");
    if (!v) return std::nullopt;
    return integer_of(*v, key, min, max);
  }

  std::optional<std::uint64_t> integer_of(const json::value& v, std::string_view key,
                                          std::uint64_t min, std::uint64_t max) {
    std::uint64_t n = 0;
    if (v.is_uint64())
      n = v.get_uint64();
    else if (v.is_int64() && v.get_int64() >= 0)
      n = static_cast<std::uint64_t>(v.get_int64());
    else
      return fail_opt<std::uint64_t>("\"" + std::string(key) + "\" must be an integer from " +
                                     std::to_string(min) + " to " + std::to_string(max));
    if (n < min || n > max)
      return fail_opt<std::uint64_t>("\"" + std::string(key) + "\" must be from " +
                                     std::to_string(min) + " to " + std::to_string(max) + " (is " +
                                     std::to_string(n) + ")");
    return n;
  }

  // `cv`: "<channel>:<address>", split at the first colon (Twilio's WhatsApp
  // addresses hold one themselves).
  void conversation(command& c) {
    auto cv = name("cv", 2 * max_name_bytes + 1, true);
    if (!cv) return;
    auto colon = cv->find(':');
    if (colon == 0 || colon == std::string::npos || colon + 1 == cv->size() ||
        colon > max_name_bytes)
      return fail("\"cv\" must be \"<channel>:<address>\" (got \"" + *cv + "\")");
    c.channel = cv->substr(0, colon);
    c.address = cv->substr(colon + 1);
  }

  bool has(std::string_view key) const { return o_.contains(key); }

  // `tpl`: {"n": name, "lang": language, "vars"?: [strings] or {name: string}}.
  std::optional<template_args> template_of(std::string_view key) {
    auto* v = find(key, true, "a template object");
    if (!v) return std::nullopt;
    auto* o = v->if_object();
    if (!o) return fail_opt<template_args>("\"tpl\" must be {\"n\", \"lang\", \"vars\"?}");
    for (const auto& kv : *o)
      if (kv.key() != "n" && kv.key() != "lang" && kv.key() != "vars")
        return fail_opt<template_args>("unknown argument \"tpl." + std::string(kv.key()) + "\"");
    auto word = [&](std::string_view k, std::size_t max, bool upper) -> std::optional<std::string> {
      auto* s = o->if_contains(k) ? o->at(k).if_string() : nullptr;
      bool fine = s && !s->empty() && s->size() <= max &&
                  std::all_of(s->begin(), s->end(), [upper](char ch) {
                    return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' ||
                           (upper && ch >= 'A' && ch <= 'Z');
                  });
      if (!fine)
        return fail_opt("\"tpl." + std::string(k) + "\" must be 1 to " + std::to_string(max) +
                        (upper ? " letters, digits or '_'" : " lower-case letters, digits or '_'"));
      return std::string(*s);
    };
    template_args t;
    auto n = word("n", 512, true);  // Meta: lower case; Twilio ContentSids: HX...
    auto lang = n ? word("lang", 15, true) : std::nullopt;
    if (!n || !lang) return std::nullopt;
    t.name = std::move(*n);
    t.language = std::move(*lang);
    auto value = [&](const json::value& e, const std::string& where) -> std::optional<std::string> {
      auto* s = e.if_string();
      auto count = s ? code_points(*s) : 0;
      if (!s || count == 0 || count > 1024)
        return fail_opt("\"" + where + "\" must be a string of 1 to 1024 characters");
      return std::string(*s);
    };
    if (auto* vars = o->if_contains("vars")) {
      if (auto* a = vars->if_array()) {
        if (a->size() > max_template_vars)
          return fail_opt<template_args>("\"tpl.vars\" holds at most " +
                                         std::to_string(max_template_vars) + " values");
        for (std::size_t i = 0; i < a->size(); ++i) {
          auto s = value((*a)[i], "tpl.vars[" + std::to_string(i) + "]");
          if (!s) return std::nullopt;
          t.vars.emplace_back("", std::move(*s));
        }
      } else if (auto* named = vars->if_object()) {
        if (named->size() > max_template_vars)
          return fail_opt<template_args>("\"tpl.vars\" holds at most " +
                                         std::to_string(max_template_vars) + " values");
        t.named = true;
        for (const auto& kv : *named) {
          std::string k(kv.key());
          bool fine = !k.empty() && k.size() <= 60 && std::all_of(k.begin(), k.end(), [](char ch) {
            return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_';
          });
          if (!fine)
            return fail_opt<template_args>(
                "\"tpl.vars\" names must be 1 to 60 lower-case letters, digits or '_'");
          auto s = value(kv.value(), "tpl.vars." + k);
          if (!s) return std::nullopt;
          t.vars.emplace_back(std::move(k), std::move(*s));
        }
      } else {
        return fail_opt<template_args>(
            "\"tpl.vars\" must be an array of strings ({{1}}, {{2}}, ...) or an object of "
            "named strings ({{motivo}})");
      }
    }
    return t;
  }

  // `v`: one view name, or an array of 1..16 distinct names.
  void views(command& c, bool one) {
    auto* v = find("v", true, one ? "a view name" : "an array of view names");
    if (!v) return;
    auto add = [&](const json::value& e) {
      auto* s = e.if_string();
      auto it = s ? std::find(view_names.begin(), view_names.end(), std::string_view(*s))
                  : view_names.end();
      if (it == view_names.end())
        return fail(
            "\"v\" holds an unknown view (known: new, mine, others, closed, expired, "
            "bot, spam)");
      auto w = static_cast<view>(it - view_names.begin());
      if (std::find(c.views.begin(), c.views.end(), w) != c.views.end())
        return fail("\"v\" names view \"" + std::string(*s) + "\" twice");
      c.views.push_back(w);
    };
    if (one) {
      if (!v->is_string()) return fail("\"v\" must be one view name");
      return add(*v);
    }
    auto* a = v->if_array();
    if (!a || a->empty() || a->size() > max_subscriptions)
      return fail("\"v\" must be an array of 1 to " + std::to_string(max_subscriptions) +
                  " view names");
    for (const auto& e : *a) {
      add(e);
      if (!ok()) return;
    }
  }

  void page(command& c) {
    if (auto cur = name("cur", max_cursor_bytes, false)) c.cursor = std::move(*cur);
    if (auto lim = integer("lim", 1, max_page, false)) c.limit = static_cast<std::uint32_t>(*lim);
  }

  // assign's `ag` / `tm`: absent, null (clear) or a name.
  std::optional<std::string> nullable_name(std::string_view key) {
    auto* v = o_.if_contains(key);
    if (!v) return std::nullopt;
    if (v->is_null()) return std::string();
    return name(key, max_name_bytes, true);
  }

  void from(command& c) {
    auto* v = o_.if_contains("from");
    if (!v) return;
    auto* o = v->if_object();
    auto* ep = o ? o->if_contains("ep") : nullptr;
    auto* off = o ? o->if_contains("o") : nullptr;
    if (!ep || !off || o->size() != 2)
      return fail("\"from\" must be {\"ep\": <epoch>, \"o\": <offset>}");
    constexpr auto max = std::numeric_limits<std::uint64_t>::max();
    auto e = integer_of(*ep, "from.ep", 0, max);
    auto n = ok() ? integer_of(*off, "from.o", 0, max) : std::nullopt;
    if (e && n) c.from = position{*e, *n};
  }

  void fail(std::string why) {
    if (problem_.empty()) problem_ = std::move(why);
  }

 private:
  const json::value* find(std::string_view key, bool required, std::string_view what) {
    if (!ok()) return nullptr;
    auto* v = o_.if_contains(key);
    if (!v && required) fail("\"" + std::string(key) + "\" is missing (" + std::string(what) + ")");
    return v;
  }
  template <class T = std::string>
  std::optional<T> fail_opt(std::string why) {
    fail(std::move(why));
    return std::nullopt;
  }
  std::optional<std::string> mistyped(std::string_view key, std::string_view what) {
    return fail_opt("\"" + std::string(key) + "\" must be " + std::string(what));
  }

  const json::object& o_;
  command_kind kind_;
  std::string problem_;
};

void read_args(arg_reader& r, command& c) {
  switch (c.kind) {
    case command_kind::auth:
      if (auto t = r.name("tok", max_token_bytes, true)) c.token = std::move(*t);
      return;
    case command_kind::ping:
      return;
    case command_kind::sub:
      r.views(c, false);
      if (auto t = r.name("tm", max_name_bytes, false)) c.team = std::move(t);
      r.from(c);
      return;
    case command_kind::unsub:
      r.views(c, false);
      return;
    case command_kind::list:
      r.views(c, true);
      if (auto t = r.name("tm", max_name_bytes, false)) c.team = std::move(t);
      r.page(c);
      return;
    case command_kind::hist:
      r.conversation(c);
      r.page(c);
      return;
    case command_kind::recent:
      if (auto h = r.integer("h", 1, max_recent_hours, true)) c.hours = static_cast<unsigned>(*h);
      r.page(c);
      return;
    case command_kind::send:
      r.conversation(c);
      if (r.ok() && r.has("tpl")) {
        if (r.has("tx"))
          return r.fail("send takes \"tx\" (free text) or \"tpl\" (a template), not both");
        c.tpl = r.template_of("tpl");
        if (c.tpl) c.text = template_text(*c.tpl);
      } else if (r.ok()) {
        c.text = r.text("tx");
      }
      return;
    case command_kind::note:
      r.conversation(c);
      if (r.ok()) c.text = r.text("tx");
      return;
    case command_kind::assign:
      r.conversation(c);
      c.assign_agent = r.nullable_name("ag");
      c.assign_team = r.nullable_name("tm");
      if (r.ok() && !c.assign_agent && !c.assign_team)
        r.fail("assign needs \"ag\" (an agent, or null) or \"tm\" (a team, or null)");
      return;
    case command_kind::close:
    case command_kind::reopen:
      r.conversation(c);
      return;
    case command_kind::mark:
      r.conversation(c);
      if (auto s = r.name("st", 16, true)) {
        if (*s != "pending" && *s != "resolved")
          r.fail("\"st\" must be \"pending\" or \"resolved\" (got \"" + *s + "\")");
        c.state = std::move(*s);
      }
      return;
    case command_kind::read:
      r.conversation(c);
      c.seq = r.integer("seq", 1, std::numeric_limits<std::uint64_t>::max(), false);
      return;
  }
}

}  // namespace

decode_result decode_command(std::string_view frame) {
  boost::system::error_code ec;
  json::value v = json::parse(frame, ec);
  if (ec)
    return decode_failure{agent_error::bad_frame, {}, "frame is not valid JSON: " + ec.message()};
  auto* obj = v.if_object();
  if (!obj) return decode_failure{agent_error::bad_frame, {}, "frame must be a JSON object"};

  command c;
  if (auto* idv = obj->if_contains("id")) {
    auto* ids = idv->if_string();
    if (!ids || ids->empty() || ids->size() > max_command_id_bytes)
      return decode_failure{agent_error::bad_frame, {}, "\"id\" must be a string of 1 to 64 bytes"};
    c.id.assign(ids->data(), ids->size());
  } else {
    return decode_failure{agent_error::bad_frame, {}, "\"id\" is missing"};
  }

  auto* cv = obj->if_contains("c");
  auto* name = cv ? cv->if_string() : nullptr;
  if (!name)
    return decode_failure{agent_error::bad_frame, std::move(c.id), "\"c\" must name a command"};
  auto it = std::find(command_names.begin(), command_names.end(), std::string_view(*name));
  if (it == command_names.end())
    return decode_failure{agent_error::unknown_command, std::move(c.id),
                          "unknown command \"" + std::string(name->data(), name->size()) + "\""};
  c.kind = static_cast<command_kind>(it - command_names.begin());

  arg_reader r(*obj, c.kind);
  r.refuse_unknown();
  if (r.ok()) read_args(r, c);
  if (!r.ok()) return decode_failure{agent_error::bad_args, std::move(c.id), r.problem()};
  return c;
}

// ---- Server frames -------------------------------------------------------

namespace {

json::value string_or_null(const std::string& s) {
  return s.empty() ? json::value(nullptr) : json::value(s);
}

json::object event_head(position at, std::string_view kind, const std::string& channel,
                        const std::string& address) {
  json::object o;
  o["t"] = "ev";
  o["ep"] = at.epoch;
  o["o"] = at.offset;
  o["k"] = kind;
  o["cv"] = channel + ':' + address;
  return o;
}

json::object error_object(const message_view& m) {
  json::object e;
  e["code"] = m.error_code;
  e["msg"] = m.error_detail;
  return e;
}

}  // namespace

json::object to_json(const conversation_view& c) {
  json::object o;
  o["cv"] = c.channel + ':' + c.address;
  o["ch"] = c.channel;
  o["a"] = c.address;
  o["n"] = c.name;
  o["st"] = c.state;
  o["as"] = string_or_null(c.assignee);
  o["tm"] = string_or_null(c.team);
  o["lin"] = c.last_inbound_ms;
  o["lm"] = c.last_message_ms;
  o["seq"] = c.seq;
  o["unr"] = c.unread;
  return o;
}

json::object to_json(const message_view& m) {
  json::object o;
  o["m"] = m.id;
  o["cv"] = m.channel + ':' + m.address;
  o["seq"] = m.seq;
  o["at"] = m.at_ms;
  o["d"] = m.direction;
  o["ty"] = m.type;
  o["tx"] = m.text;
  o["au"] = m.author;
  o["st"] = string_or_null(m.status);
  if (m.status == "failed") o["err"] = error_object(m);
  if (!m.extra_json.empty()) {
    boost::system::error_code ec;
    auto x = json::parse(m.extra_json, ec);
    if (!ec && x.is_object()) o["x"] = std::move(x);
  }
  return o;
}

std::string encode_ok(std::string_view id, json::object result) {
  json::object o;
  o["t"] = "ok";
  o["id"] = id;
  for (auto& kv : result) o[kv.key()] = std::move(kv.value());
  return json::serialize(o);
}

std::string mark_duplicate(std::string_view ok_frame) {
  boost::system::error_code ec;
  auto v = json::parse(ok_frame, ec);
  if (ec || !v.is_object()) return std::string(ok_frame);
  v.as_object()["dup"] = true;
  return json::serialize(v);
}

std::string encode_error(std::string_view id, agent_error e, std::string_view message,
                         json::object extra) {
  json::object o;
  o["t"] = "err";
  if (!id.empty()) o["id"] = id;
  o["code"] = code_of(e);
  o["msg"] = message;
  for (auto& kv : extra) o[kv.key()] = std::move(kv.value());
  return json::serialize(o);
}

std::string encode_pong(std::string_view id) {
  json::object o;
  o["t"] = "pong";
  o["id"] = id;
  return json::serialize(o);
}

std::string encode_balance_notice(std::string_view channel, std::int64_t available,
                                  std::int64_t threshold) {
  json::object o;
  o["t"] = "bal";
  o["ch"] = channel;
  o["bal"] = available;
  o["min"] = threshold;
  return json::serialize(o);
}

std::string encode_hello(const hello& h) {
  json::object lim;
  lim["frame"] = h.limits.frame_bytes;
  lim["cps"] = h.limits.commands_per_second;
  lim["burst"] = h.limits.burst;
  lim["text"] = max_text_chars;
  lim["page"] = max_page;
  json::object o;
  o["t"] = "hello";
  o["ag"] = h.agent;
  o["tn"] = h.tenant;
  o["role"] = h.role;
  o["ep"] = h.head.epoch;
  o["o"] = h.head.offset;
  o["lim"] = std::move(lim);
  return json::serialize(o);
}

std::string encode_resync(std::string_view id, resync_reason why, position now) {
  json::object o;
  o["t"] = "resync";
  if (!id.empty()) o["id"] = id;
  o["why"] = why == resync_reason::epoch ? "epoch" : "gone";
  o["ep"] = now.epoch;
  o["o"] = now.offset;
  return json::serialize(o);
}

std::string encode_message_event(position at, const message_view& m) {
  auto o = event_head(at, "msg", m.channel, m.address);
  o["m"] = to_json(m);
  return json::serialize(o);
}

std::string encode_status_event(position at, const message_view& m) {
  auto o = event_head(at, "msg.st", m.channel, m.address);
  o["seq"] = m.seq;
  o["mid"] = m.id;
  o["st"] = m.status;
  if (m.status == "failed") o["err"] = error_object(m);
  return json::serialize(o);
}

std::string encode_conversation_event(position at, const conversation_view& c) {
  auto o = event_head(at, "conv", c.channel, c.address);
  o["c"] = to_json(c);
  return json::serialize(o);
}

}  // namespace gw::protocol

// Agent commands: access checks, the event, the guard, the answer.
#include "gateway/api/agent_commands.hpp"

#include <algorithm>
#include <chrono>

#include "gateway/api/agent_views.hpp"
#include "gateway/api/directory_api.hpp"

namespace gw::api {

using domain::event;
using domain::event_kind;
using domain::guard_outcome;
using domain::guard_verdict;
using protocol::agent_error;
using protocol::command_kind;

struct agent_commands::memory {
  std::mutex mu;
  protocol::command_memory answers{1000, 10 * 60 * 1000};
};

namespace {

std::int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

bool serves(command_kind k) {
  switch (k) {
    case command_kind::send:
    case command_kind::note:
    case command_kind::assign:
    case command_kind::close:
    case command_kind::reopen:
    case command_kind::mark:
    case command_kind::read:
      return true;
    default:
      return false;
  }
}

}  // namespace

std::shared_ptr<agent_commands::memory> agent_commands::memory_of(const net::agent_identity& who) {
  std::lock_guard lock(mu_);
  auto& m = memories_[who.tenant + "/" + who.agent];
  if (!m) m = std::make_shared<memory>();
  return m;
}

void agent_commands::run(const net::agent_identity& who, const protocol::command& cmd,
                         net::frame_sink reply) {
  if (cmd.kind == command_kind::sub) return subscribe(who, cmd, std::move(reply));
  if (cmd.kind == command_kind::unsub) return unsubscribe(who, cmd, std::move(reply));
  if (cmd.kind == command_kind::list) return list(who, cmd, std::move(reply));
  if (cmd.kind == command_kind::hist) return history(who, cmd, std::move(reply));
  if (cmd.kind == command_kind::recent) return recent(who, cmd, std::move(reply));
  if (!serves(cmd.kind)) {
    reply(protocol::encode_error(
        cmd.id, agent_error::unavailable,
        "\"" + std::string(protocol::name_of(cmd.kind)) +
            "\" is part of gw.agent.v1 but this build does not serve it yet"));
    return;
  }
  change(who, cmd, std::move(reply));
}

void agent_commands::change(const net::agent_identity& who, const protocol::command& cmd,
                            net::frame_sink reply) {
  auto mem = memory_of(who);
  {
    std::lock_guard lock(mem->mu);
    if (const auto* first = mem->answers.find(cmd.id)) {
      reply(*first);
      return;
    }
  }
  auto fail = [&](agent_error e, std::string why) {
    reply(protocol::encode_error(cmd.id, e, why));
  };
  const std::string cv = cmd.cv();

  const auto ch = channels_.find(cmd.channel);
  if (!ch || ch->tenant != who.tenant) return fail(agent_error::not_found, "no conversation " + cv);

  // The directory, once: the caller, its teams, the tenant's setting, and
  // the assignee and team an `assign` names.
  access a;
  std::string problem;
  agent_error problem_code = agent_error::forbidden;
  directory_.read([&](const domain::directory_state& s) {
    const auto* me = access_of(s, who, a);
    if (!me) {
      problem = "agent \"" + who.agent + "\" no longer exists";
      return;
    }
    if (!me->may_use(cmd.channel)) {
      problem = "agent \"" + who.agent + "\" may not use channel \"" + cmd.channel + "\"";
      return;
    }
    problem_code = agent_error::not_found;
    if (cmd.assign_agent && !cmd.assign_agent->empty() && !s.agent(who.tenant, *cmd.assign_agent))
      problem = "no agent \"" + *cmd.assign_agent + "\"";
    else if (cmd.assign_team && !cmd.assign_team->empty() && !s.team(who.tenant, *cmd.assign_team))
      problem = "no team \"" + *cmd.assign_team + "\"";
  });
  if (!problem.empty()) return fail(problem_code, problem);

  event e;
  e.author = who.agent;
  switch (cmd.kind) {
    case command_kind::send:
    case command_kind::note:
      e.kind = cmd.kind == command_kind::send ? event_kind::message_out : event_kind::note;
      e.message_id = "m-" + random_hex(8);
      e.client_id = who.agent + "/" + cmd.id;
      e.text = cmd.text;
      e.value = "text";
      break;
    case command_kind::assign:
      e.kind = event_kind::assignment;
      break;  // filled by the guard
    case command_kind::close:
      e.kind = event_kind::state_change;
      e.value = "closed";
      break;
    case command_kind::reopen:
      e.kind = event_kind::state_change;
      e.value = "open";
      break;
    case command_kind::read:
      e.kind = event_kind::read;
      break;  // filled by the guard
    default:  // mark
      e.kind = event_kind::state_change;
      e.value = cmd.state;
      break;
  }

  // Filled on the home shard: the message id a repeated send already has.
  auto known = std::make_shared<std::string>();
  auto guard = [a, me = who.agent, cmd, cv, known](const domain::conversation* c,
                                                   std::vector<event>& events) -> guard_outcome {
    if (!c || !visible(a, me, c->team, c->assignee))
      return {guard_verdict::refuse, "no conversation " + cv};
    auto& ev = events.front();
    switch (cmd.kind) {
      case command_kind::send:
      case command_kind::note:
        if (auto it = c->client_ids.find(ev.client_id); it != c->client_ids.end())
          *known = it->second;
        return {};
      case command_kind::assign:
        ev.value = cmd.assign_agent ? *cmd.assign_agent : c->assignee;
        ev.detail = cmd.assign_team ? *cmd.assign_team : c->team;
        if (ev.value == c->assignee && ev.detail == c->team) return {guard_verdict::skip, {}};
        return {};
      case command_kind::close:
        return c->closed ? guard_outcome{guard_verdict::skip, {}} : guard_outcome{};
      case command_kind::read: {  // up to `seq`, at most the latest
        auto upto = std::min(cmd.seq.value_or(c->seq), c->seq);
        if (upto <= c->read_seq) return {guard_verdict::skip, {}};
        ev.value = std::to_string(upto);
        return {};
      }
      default:  // reopen, mark
        return c->status == ev.value && !(ev.value == "open" && c->closed)
                   ? guard_outcome{guard_verdict::skip, {}}
                   : guard_outcome{};
    }
  };

  domain::conversation_key key{who.tenant, cmd.channel, cmd.address};
  std::vector<event> events{std::move(e)};
  core_.submit(
      std::move(key), std::move(events),
      [cmd, known, mem, reply = std::move(reply)](std::error_code ec, domain::submit_result r) {
        if (ec) {
          reply(protocol::encode_error(
              cmd.id, agent_error::unavailable,
              ec == std::errc::resource_unavailable_try_again
                  ? "the gateway is recovering its journal; retry with the same id"
                  : "the journal cannot write; nothing was stored, retry later with the same id"));
          return;
        }
        if (r.refused) {
          reply(protocol::encode_error(cmd.id, agent_error::not_found, r.reason));
          return;
        }
        boost::json::object result;
        if (cmd.kind == command_kind::send || cmd.kind == command_kind::note) {
          if (!r.events.empty()) {
            result["m"] = protocol::to_json(message_of(r.events.front()));
          } else {  // the same command id, stored before (perhaps before a restart)
            result["m"] = boost::json::object{{"m", *known}};
            result["dup"] = true;
          }
        } else {  // a change already in place (closing a closed one) is fine
          result["c"] = protocol::to_json(conversation_of(cmd.channel, cmd.address, r.after));
        }
        auto answer = protocol::encode_ok(cmd.id, std::move(result));
        {
          std::lock_guard lock(mem->mu);
          mem->answers.remember(cmd.id, answer, steady_ms());
        }
        reply(std::move(answer));
      },
      std::move(guard));
}

// ---- Subscriptions -------------------------------------------------------

namespace {

using protocol::view;

// The frame agents get for one event (AGENT_PROTOCOL.md section 7).
std::string frame_of(const domain::published_event& p) {
  const auto& e = p.ev;
  protocol::position at{e.epoch, e.offset};
  switch (e.kind) {
    case event_kind::message_in:
    case event_kind::message_out:
    case event_kind::note:
      return protocol::encode_message_event(at, message_of(e));
    case event_kind::message_status:
      return protocol::encode_status_event(at, message_of(e));
    case event_kind::assignment:
    case event_kind::state_change:
    case event_kind::read:
      break;
  }
  return protocol::encode_conversation_event(
      at, conversation_of(e.conv.channel, e.conv.address, p.after));
}

}  // namespace

// One session's subscriptions. Events reach it from the bus (under the
// tenant stream's lock, in offset order) and leave through `sink`; until
// the `ok` and the replay are out, live ones wait in `held`.
struct agent_commands::feed {
  std::mutex mu;
  net::agent_identity who;
  net::frame_sink sink;
  std::vector<view> views;
  std::optional<std::string> team;
  std::uint64_t bus_id = 0;
  std::uint64_t last_sent = 0;  // highest offset handed to the sink
  bool live = false;
  bool gone = false;
  std::vector<domain::event_ptr> held;
};

agent_commands::~agent_commands() {
  for (auto& [session, f] : feeds_) bus_.unsubscribe(f->who.tenant, f->bus_id);
}

void agent_commands::forget(std::uint64_t session) {
  std::lock_guard lock(mu_);
  feeds_.erase(session);
}

void agent_commands::subscribe(const net::agent_identity& who, const protocol::command& cmd,
                               net::frame_sink reply) {
  // Which views this agent may use at all.
  access a;
  directory_.read([&](const domain::directory_state& s) { access_of(s, who, a); });
  for (auto v : cmd.views) {
    bool allowed =
        a.admin || (v != view::others && (!a.segmented || v == view::fresh || v == view::mine));
    if (!allowed) {
      reply(protocol::encode_error(
          cmd.id, agent_error::forbidden,
          "view \"" + std::string(protocol::name_of(v)) + "\" is not open to this agent"));
      return;
    }
  }

  std::shared_ptr<feed> f;
  {
    std::lock_guard lock(mu_);
    auto& slot = feeds_[who.session];
    if (slot && cmd.from) {
      reply(protocol::encode_error(cmd.id, agent_error::bad_args,
                                   "\"from\" is only taken by a session's first sub"));
      return;
    }
    if (slot) {
      f = slot;
    } else {
      f = slot = std::make_shared<feed>();
      f->who = who;
      f->sink = reply;
    }
  }
  {
    std::lock_guard lock(f->mu);
    for (auto v : cmd.views)
      if (std::find(f->views.begin(), f->views.end(), v) == f->views.end()) f->views.push_back(v);
    if (cmd.team) f->team = cmd.team;
    if (f->bus_id != 0) {  // already live: more views, same stream
      reply(protocol::encode_ok(cmd.id, {{"ep", core_.epoch()}, {"o", bus_.head(who.tenant)}}));
      return;
    }
  }

  // The first sub: join the tenant's stream, replaying from `from` if we can.
  auto deliver = [this, f](const domain::event_ptr& e) {  // f->mu held
    if (e->ev.offset <= f->last_sent) return true;
    f->last_sent = e->ev.offset;
    access now_;  // the directory as it is at this delivery
    bool may = directory_.read([&](const domain::directory_state& s) {
      const auto* me = access_of(s, f->who, now_);
      return me && me->may_use(e->ev.conv.channel);
    });
    if (!may) return true;
    auto sees = [&](const domain::conversation_summary& c) {
      return c.exists && (!f->team || c.team == *f->team) &&
             visible(now_, f->who.agent, c.team, c.assignee);
    };
    auto now = wall_ms();
    auto member = [&](const domain::conversation_summary& c) {
      return sees(c) && std::any_of(f->views.begin(), f->views.end(),
                                    [&](view v) { return in_view(v, c, f->who.agent, now); });
    };
    if (!member(e->before) && !member(e->after)) return true;
    if (!f->sink(frame_of(*e))) {
      f->gone = true;
      return false;
    }
    return true;
  };

  // Lock order: a tenant stream's lock, then f->mu. So f->mu is not held
  // while joining the stream; events released meanwhile wait in `held`.
  auto on_event = [this, f, deliver](const domain::event_ptr& e) {
    std::lock_guard guard(f->mu);
    if (!f->live) {
      f->held.push_back(e);
      return true;
    }
    bool keep = deliver(e);
    if (!keep) forget(f->who.session);
    return keep;
  };
  const auto epoch = core_.epoch();
  std::optional<protocol::resync_reason> resync;
  std::uint64_t after = 0;
  if (cmd.from) {
    if (cmd.from->epoch != epoch)
      resync = protocol::resync_reason::epoch;
    else
      after = cmd.from->offset;
  }
  std::optional<domain::event_bus::subscribed> joined;
  if (!resync) {
    joined = bus_.subscribe(who.tenant, after, on_event);
    if (!joined) resync = protocol::resync_reason::gone;
  }
  if (!joined) joined = bus_.subscribe(who.tenant, bus_.head(who.tenant), on_event);
  if (!joined) {  // cannot happen: the head is always a valid position
    reply(protocol::encode_error(cmd.id, agent_error::internal, "cannot join the event stream"));
    return;
  }
  std::lock_guard guard(f->mu);
  f->bus_id = joined->id;
  reply(protocol::encode_ok(cmd.id, {{"ep", epoch}, {"o", joined->head}}));
  if (resync) {
    reply(protocol::encode_resync(cmd.id, *resync, {epoch, joined->head}));
    f->last_sent = joined->head;
  } else {
    f->last_sent = after;
    for (const auto& e : joined->replay) deliver(e);
  }
  for (const auto& e : f->held) deliver(e);
  f->held.clear();
  f->live = true;
}

void agent_commands::unsubscribe(const net::agent_identity& who, const protocol::command& cmd,
                                 net::frame_sink reply) {
  std::shared_ptr<feed> f;
  {
    std::lock_guard lock(mu_);
    if (auto it = feeds_.find(who.session); it != feeds_.end()) f = it->second;
  }
  if (f) {
    bool empty;
    {
      std::lock_guard lock(f->mu);
      std::erase_if(f->views, [&](view v) {
        return std::find(cmd.views.begin(), cmd.views.end(), v) != cmd.views.end();
      });
      empty = f->views.empty();
    }
    if (empty) {
      bus_.unsubscribe(who.tenant, f->bus_id);
      forget(who.session);
    }
  }
  reply(protocol::encode_ok(cmd.id));
}

}  // namespace gw::api

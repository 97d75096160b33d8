// Agent commands: access checks, the event, the guard, the answer.
#include "gateway/api/agent_commands.hpp"

#include <algorithm>
#include <chrono>

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
      return true;
    default:
      return false;
  }
}

// What the directory says about the caller, read once per command.
struct access {
  bool admin = false;
  bool segmented = false;
  std::vector<std::string> teams;  // the caller's
};

// Whether the caller may see `c` (AGENT_PROTOCOL.md section 7).
bool visible(const access& a, const std::string& me, const domain::conversation& c) {
  if (a.admin) return true;
  if (!c.team.empty() && std::find(a.teams.begin(), a.teams.end(), c.team) == a.teams.end())
    return false;
  return !a.segmented || c.assignee.empty() || c.assignee == me;
}

protocol::message_view message_of(const event& e) {
  protocol::message_view m;
  m.id = e.message_id;
  m.channel = e.conv.channel;
  m.address = e.conv.address;
  m.seq = e.seq;
  m.at_ms = e.at_ms;
  m.direction = e.kind == event_kind::note ? "note" : "out";
  m.text = e.text;
  m.author = e.author;
  if (e.kind == event_kind::message_out) m.status = "queued";
  return m;
}

protocol::conversation_view conversation_of(const protocol::command& cmd,
                                            const domain::conversation_summary& s) {
  protocol::conversation_view c;
  c.channel = cmd.channel;
  c.address = cmd.address;
  c.name = s.contact_name;
  c.state = s.status;
  c.assignee = s.assignee;
  c.team = s.team;
  c.last_inbound_ms = s.last_inbound_ms;
  c.last_message_ms = s.last_inbound_ms;  // outbound times are not tracked yet
  c.seq = s.seq;
  return c;
}

}  // namespace

std::shared_ptr<agent_commands::memory> agent_commands::memory_of(const net::agent_identity& who) {
  std::lock_guard lock(mu_);
  auto& m = memories_[who.tenant + "/" + who.agent];
  if (!m) m = std::make_shared<memory>();
  return m;
}

void agent_commands::run(const net::agent_identity& who, const protocol::command& cmd,
                         std::function<void(std::string)> reply) {
  if (!serves(cmd.kind))
    return reply(protocol::encode_error(
        cmd.id, agent_error::unavailable,
        "\"" + std::string(protocol::name_of(cmd.kind)) +
            "\" is part of gw.agent.v1 but this build does not serve it yet"));
  auto mem = memory_of(who);
  {
    std::lock_guard lock(mem->mu);
    if (const auto* first = mem->answers.find(cmd.id)) return reply(*first);
  }
  auto fail = [&](agent_error e, std::string why) {
    reply(protocol::encode_error(cmd.id, e, why));
  };
  const std::string cv = cmd.cv();

  const auto* ch = channels_.find(cmd.channel);
  if (!ch || ch->tenant != who.tenant) return fail(agent_error::not_found, "no conversation " + cv);

  // The directory, once: the caller, its teams, the tenant's setting, and
  // the assignee and team an `assign` names.
  access a;
  std::string problem;
  agent_error problem_code = agent_error::forbidden;
  directory_.read([&](const domain::directory_state& s) {
    const auto* me = s.agent(who.tenant, who.agent);
    if (!me) {
      problem = "agent \"" + who.agent + "\" no longer exists";
      return;
    }
    if (!me->may_use(cmd.channel)) {
      problem = "agent \"" + who.agent + "\" may not use channel \"" + cmd.channel + "\"";
      return;
    }
    a.admin = me->role == domain::agent_role::admin;
    const auto* t = s.tenant(who.tenant);
    a.segmented = t && t->segmented;
    a.teams = s.teams_of(who.tenant, who.agent);
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
    default:  // mark
      e.kind = event_kind::state_change;
      e.value = cmd.state;
      break;
  }

  // Filled on the home shard: the message id a repeated send already has.
  auto known = std::make_shared<std::string>();
  auto guard = [a, me = who.agent, cmd, cv, known](const domain::conversation* c,
                                                   std::vector<event>& events) -> guard_outcome {
    if (!c || !visible(a, me, *c)) return {guard_verdict::refuse, "no conversation " + cv};
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
        if (ec)
          return reply(protocol::encode_error(
              cmd.id, agent_error::unavailable,
              ec == std::errc::resource_unavailable_try_again
                  ? "the gateway is recovering its journal; retry with the same id"
                  : "the journal cannot write; nothing was stored, retry later with the same id"));
        if (r.refused)
          return reply(protocol::encode_error(cmd.id, agent_error::not_found, r.reason));
        boost::json::object result;
        if (cmd.kind == command_kind::send || cmd.kind == command_kind::note) {
          if (!r.events.empty()) {
            result["m"] = protocol::to_json(message_of(r.events.front()));
          } else {  // the same command id, stored before (perhaps before a restart)
            result["m"] = boost::json::object{{"m", *known}};
            result["dup"] = true;
          }
        } else {  // a change already in place (closing a closed one) is fine
          result["c"] = protocol::to_json(conversation_of(cmd, r.after));
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

}  // namespace gw::api

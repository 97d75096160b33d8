// Agent commands: access checks, the event, the guard, the answer.
#include "gateway/api/agent_commands.hpp"

#include <algorithm>
#include <chrono>
#include <optional>

#include "gateway/api/agent_views.hpp"
#include "gateway/api/directory_api.hpp"
#include "gateway/config/channels.hpp"
#include "protocol/sms.hpp"

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

// Why a channel cannot send, if it cannot: it lacks the credentials.
std::optional<std::string> cannot_send(const channel_config& ch) {
  if (ch.provider == provider_kind::whatsapp && ch.access_token.empty())
    return "channel \"" + ch.id + "\" receives but cannot send: it has no access_token";
  if (ch.provider == provider_kind::twilio && ch.account_sid.empty())
    return "channel \"" + ch.id + "\" receives but cannot send: it has no account_sid";
  return std::nullopt;
}

// A channel's registered templates, for messages: "a [es], b [en_US]".
std::string templates_of(const channel_config& ch) {
  std::string out;
  for (const auto& t : ch.templates) {
    auto colon = t.find(':');
    out += (out.empty() ? "" : ", ") + t.substr(0, colon) + " [" + t.substr(colon + 1) + "]";
  }
  return out.empty() ? "channel \"" + ch.id + "\" has no templates registered"
                     : "templates: " + out;
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
                         net::frame_sink reply, const std::weak_ptr<net::agent_outbox>& outbox) {
  if (cmd.kind == command_kind::sub) return feeds_.subscribe(who, cmd, outbox);
  if (cmd.kind == command_kind::unsub) return feeds_.unsubscribe(who, cmd, outbox);
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

void agent_commands::send_automatic(const std::string& tenant, const protocol::command& cmd,
                                    net::frame_sink reply) {
  net::agent_identity system;
  system.tenant = tenant;
  system.agent = std::string(automatic_author);
  change(system, cmd, std::move(reply), true);
}

void agent_commands::change(const net::agent_identity& who, const protocol::command& cmd,
                            net::frame_sink reply, bool automatic) {
  auto mem = memory_of(who);
  {
    std::lock_guard lock(mem->mu);
    if (auto first = mem->answers.find(cmd.id)) {
      reply(std::move(*first));
      return;
    }
  }
  auto fail = [&](agent_error e, std::string why) {
    reply(protocol::encode_error(cmd.id, e, why));
  };
  const std::string cv = cmd.cv();

  const auto ch = channels_.find(cmd.channel);
  if (!ch || ch->tenant != who.tenant) return fail(agent_error::not_found, "no conversation " + cv);
  // WhatsApp's 24-hour window applies to the Cloud API and to Twilio's WhatsApp numbers.
  const bool whatsapp =
      ch->provider == provider_kind::whatsapp || ch->number.starts_with("whatsapp:");

  // The directory, once: the caller, its teams, the tenant's setting, and
  // the assignee and team an `assign` names.
  access a;
  std::string problem;
  agent_error problem_code = agent_error::forbidden;
  directory_.read([&](const domain::directory_state& s) {
    if (automatic) {  // a clinic system: every conversation, unless the contact said no
      a.admin = true;
      if (s.auto_locked(who.tenant, cmd.channel, cmd.address))
        problem = "contact " + cv + " is locked against automatic messages";
      return;
    }
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
  // A send's answer says what it costs and, for an SMS, how it travels.
  std::optional<boost::json::object> sms;
  std::uint64_t cost = 0;
  if (cmd.kind == command_kind::send) {
    if (auto why = cannot_send(*ch)) return fail(agent_error::unavailable, *why);
    if (auto why = send_check_ ? send_check_({who.tenant, cmd.channel, cmd.address}) : std::nullopt)
      return fail(agent_error::unavailable, *why + "; retry later with the same id");
    if (cmd.tpl) {  // a WhatsApp template the channel registered
      if (!whatsapp)
        return fail(agent_error::bad_args,
                    "\"tpl\": templates are WhatsApp's; channel \"" + ch->id + "\" sends SMS");
      auto wanted = cmd.tpl->name + ":" + cmd.tpl->language;
      if (std::find(ch->templates.begin(), ch->templates.end(), wanted) == ch->templates.end())
        return fail(agent_error::bad_args, "\"tpl\": \"" + cmd.tpl->name + "\" [" +
                                               cmd.tpl->language +
                                               "] is not a template of channel \"" + ch->id +
                                               "\" (" + templates_of(*ch) + ")");
    }
    if (!whatsapp) {  // an SMS: GSM-7 or UCS-2, in parts; say why when refused
      auto max = ch->max_segments ? ch->max_segments : default_max_segments;
      auto plan = protocol::check_sms(cmd.text, {.max_segments = max});
      if (auto* no = std::get_if<protocol::sms_refusal>(&plan))
        return fail(agent_error::bad_args, "\"tx\": " + no->message);
      const auto& p = std::get<protocol::sms_plan>(plan);
      sms = boost::json::object{{"enc", protocol::name_of(p.encoding)}, {"parts", p.segments}};
      cost = std::uint64_t{p.segments} * ch->cost_per_segment;
    } else {
      cost = cmd.tpl ? ch->cost_per_template : ch->cost_per_message;
    }
  }

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
      if (cmd.tpl) {
        e.value = "template";
        e.detail = protocol::template_json(*cmd.tpl);
      }
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
  // What window_closed names: the templates that may still be sent.
  std::string templates;
  if (cmd.kind == command_kind::send && whatsapp) templates = templates_of(*ch);
  auto guard = [a, me = who.agent, cmd, cv, known, whatsapp, templates, automatic](
                   const domain::conversation* c, std::vector<event>& events) -> guard_outcome {
    // An automatic message may be the first of its conversation (a reminder).
    if (!(c && visible(a, me, c->team, c->assignee)) && !(automatic && !c))
      return {guard_verdict::refuse, "no conversation " + cv};
    auto& ev = events.front();
    switch (cmd.kind) {
      case command_kind::send:
      case command_kind::note:
        if (c) {
          if (auto it = c->clinic->client_ids.find(ev.client_id);
              it != c->clinic->client_ids.end()) {
            *known = it->second.message_id;
            return {};  // answered as the repeat it is, window or not
          }
        }
        if (cmd.kind == command_kind::send && whatsapp && !cmd.tpl &&
            !(c && c->window_open(wall_ms())))
          return {guard_verdict::refuse,
                  "more than 24 hours since the patient last wrote on " + cv +
                      ": WhatsApp allows only approved templates now (" + templates + ")",
                  "window_closed"};
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
  // A priced send holds its cost before it is stored (billing.hpp); what
  // is then not stored, or was stored before (a repeat), is refunded.
  const bool billed = cmd.kind == command_kind::send && cost > 0 && billing_;
  domain::billing_account account{who.tenant, cmd.channel};
  auto message_id = events.front().message_id;
  auto sink = std::make_shared<net::frame_sink>(std::move(reply));
  auto store = [this, key = std::move(key), events = std::move(events), guard = std::move(guard),
                cmd, known, mem, sms, cost, billed, account, sink, ch]() mutable {
    auto refund = [this, billed, account](const std::string& id) {
      if (billed) billing_->settle(account, id, false);
    };
    auto id = events.front().message_id;
    core_.submit(
        std::move(key), std::move(events),
        [this, cmd, known, mem, sms, cost, billed, refund, id, sink, registered = ch->templates](
            std::error_code ec, domain::submit_result r) {
          auto& respond = *sink;
          if (ec) {
            refund(id);
            respond(protocol::encode_error(
                cmd.id, agent_error::unavailable,
                ec == std::errc::resource_unavailable_try_again
                    ? "the gateway is recovering its journal; retry with the same id"
                    : "the journal cannot write; nothing was stored, retry later with the same "
                      "id"));
            return;
          }
          if (r.refused) {
            refund(id);
            if (r.code == "window_closed") {  // `tpl`: what may be sent instead
              boost::json::array usable;
              for (const auto& t : registered) usable.emplace_back(t);
              respond(protocol::encode_error(cmd.id, agent_error::window_closed, r.reason,
                                             {{"tpl", std::move(usable)}}));
            } else {
              respond(protocol::encode_error(cmd.id, agent_error::not_found, r.reason));
            }
            return;
          }
          boost::json::object result;
          if (cmd.kind == command_kind::send || cmd.kind == command_kind::note) {
            if (sms) result["sms"] = *sms;
            if (cost) result["cost"] = cost;
            if (!r.events.empty()) {
              result["m"] = protocol::to_json(message_of(r.events.front()->ev));
              if (cmd.kind == command_kind::send && on_message_out_)
                on_message_out_(r.events.front()->ev, billed);
            } else {  // the same command id, stored before (perhaps before a restart)
              refund(id);
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
          respond(std::move(answer));
        },
        std::move(guard));
  };
  // A send waits while the outbound queue resumes after a restart.
  auto go = [this](std::function<void()> step) {
    if (defer_send_ && step) return defer_send_(std::move(step));
    step();
  };
  if (!billed) return cmd.kind == command_kind::send ? go(std::move(store)) : store();
  go([this, account, message_id = std::move(message_id), to = cmd.address, cost,
      store = std::move(store), sink, id = cmd.id]() mutable {
    billing_->reserve(
        account, std::move(message_id), std::move(to), static_cast<std::int64_t>(cost),
        [store = std::move(store), sink, id, channel = account.channel](
            std::error_code ec, std::optional<domain::insufficient_balance> short_by) mutable {
          if (ec) {
            (*sink)(protocol::encode_error(
                id, agent_error::unavailable,
                ec == std::errc::resource_unavailable_try_again
                    ? "the gateway is recovering its balances; retry with the same id"
                    : "the balance journal cannot write; nothing was stored, retry later with "
                      "the same id"));
          } else if (short_by) {
            (*sink)(protocol::encode_error(id, agent_error::insufficient_balance,
                                           "the prepaid balance of channel \"" + channel +
                                               "\" has " + std::to_string(short_by->available) +
                                               " available and this message costs " +
                                               std::to_string(short_by->needed),
                                           {{"bal", short_by->available}}));
          } else {
            store();
          }
        });
  });
}

}  // namespace gw::api

// Directory admin routes: who is calling, body checks, changes, answers.
#include "gateway/api/directory_api.hpp"

#include "gateway/api/admin_access.hpp"

#include <openssl/rand.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <memory>
#include <variant>

#include "gateway/config/channels.hpp"
#include "protocol/signatures.hpp"

namespace gw::api {

namespace http = boost::beast::http;
namespace json = boost::json;
using domain::directory_change;
using protocol::http_error;

std::string token_hash(std::string_view secret) { return protocol::hex_sha256(secret); }

// RAND_bytes costs a lock and a DRBG round per call, and every sent message
// needs an id: each thread draws 4 KiB at a time and hands it out (the bytes
// are the same CSPRNG output, only fetched ahead).
std::string random_hex(std::size_t bytes) {
  struct pool {
    unsigned char bytes[4096];
    std::size_t used = sizeof bytes;
  };
  thread_local pool p;
  static constexpr char digits[] = "0123456789abcdef";
  std::string out(2 * bytes, '\0');
  for (std::size_t i = 0; i < bytes; ++i) {
    if (p.used == sizeof p.bytes) {
      if (RAND_bytes(p.bytes, static_cast<int>(sizeof p.bytes)) != 1)
        throw std::runtime_error("RAND_bytes failed");
      p.used = 0;
    }
    unsigned char c = p.bytes[p.used];
    p.bytes[p.used++] = 0;  // handed out: not kept in memory
    out[2 * i] = digits[c >> 4];
    out[2 * i + 1] = digits[c & 15];
  }
  return out;
}

namespace {

json::object tenant_json(const domain::tenant_record& t) {
  json::object o{{"id", t.id}, {"name", t.name}, {"segmented", t.segmented}};
  if (t.messages_per_second) o["messages_per_second"] = t.messages_per_second;
  return o;
}

json::object agent_json(const domain::agent_record& a) {
  json::array ch;
  for (const auto& c : a.channels) ch.emplace_back(c);
  return {{"tenant", a.tenant},
          {"id", a.id},
          {"name", a.name},
          {"role", domain::name_of(a.role)},
          {"channels", std::move(ch)}};
}

json::object team_json(const domain::team_record& t) {
  json::array m;
  for (const auto& a : t.members) m.emplace_back(a);
  return {{"tenant", t.tenant}, {"id", t.id}, {"name", t.name}, {"members", std::move(m)}};
}

// `messages_per_second` of a tenant: 1..100000, or null to lift the cap.
unsigned tenant_rate(body_reader& b, unsigned current) {
  if (!b.has("messages_per_second")) return current;
  if (b.is_null("messages_per_second")) return 0;
  return static_cast<unsigned>(b.integer("messages_per_second", true, 1, 100'000));
}

// A channel as the API shows it: every field but the secrets, which are
// only named (so an operator can see which are set).
json::object channel_json(const channel_config& ch) {
  json::object o;
  write_channel(ch, o, false);
  return o;
}

// Answers a change once it is durable: `ok_body` with `status`, or the error.
void submit(domain::directory_service& dir, directory_change c, net::responder answer,
            http::status status, std::string ok_body) {
  auto shared = std::make_shared<net::responder>(std::move(answer));
  dir.submit(std::move(c), [shared, status, body = std::move(ok_body)](
                               std::error_code ec, std::string problem) mutable {
    if (!problem.empty()) return shared->error(http_error::conflict, problem);
    if (ec)
      return shared->error(http_error::unavailable,
                           "the directory journal cannot write; the change is not acknowledged");
    shared->json(status, std::move(body));
  });
}

class routes : public std::enable_shared_from_this<routes> {
 public:
  routes(std::string key, domain::directory_service& dir, const channel_directory& channels)
      : gate_(std::move(key), dir, channels), dir_(dir), channels_(channels) {}

  // The gate's check, holding this object for as long as the handler lives.
  net::handler guarded(bool operator_only, admin_handler h) {
    return gate_.guarded_by(shared_from_this(), operator_only, std::move(h));
  }
  bool tenant_exists(std::string_view t, net::responder& answer) {
    return gate_.tenant_exists(t, answer);
  }
  domain::channel_ptr channel_of_path(const net::request_context& rc, net::responder& answer) {
    return gate_.channel_of_path(rc, answer);
  }

  void add(net::router& r) {
    // POST /v1/tenants {id, name, segmented?}
    r.add(http::verb::post, "/v1/tenants",
          guarded(true, [this](const caller&, net::request_context& rc, net::responder answer) {
            body_reader b(rc.req.body(), {"id", "name", "segmented", "messages_per_second"});
            directory_change c;
            c.tenant.id = b.text("id", true, 64);
            if (b.ok() && !domain::valid_directory_id(c.tenant.id))
              b.fail("\"id\" must be 1 to 64 characters [A-Za-z0-9._-]");
            c.tenant.name = b.has("name") ? b.text("name", true) : c.tenant.id;
            c.tenant.segmented = b.flag("segmented", false);
            c.tenant.messages_per_second = tenant_rate(b, 0);
            if (!b.ok()) return answer.error(http_error::bad_request, b.problem());
            if (dir_.read([&](const auto& s) { return s.tenant(c.tenant.id) != nullptr; }))
              return answer.error(http_error::conflict,
                                  "tenant \"" + c.tenant.id + "\" exists; PATCH it instead");
            auto body = json::serialize(tenant_json(c.tenant));
            submit(dir_, std::move(c), std::move(answer), http::status::created, std::move(body));
          }));

    // GET /v1/tenants/{tenant}: the tenant with its agents and teams.
    r.add(http::verb::get, "/v1/tenants/{tenant}",
          guarded(false, [this](const caller&, net::request_context& rc, net::responder answer) {
            auto t = std::string(rc.param("tenant"));
            auto body =
                dir_.read([&](const domain::directory_state& s) -> std::optional<std::string> {
                  auto* rec = s.tenant(t);
                  if (!rec) return std::nullopt;
                  auto o = tenant_json(*rec);
                  json::array agents, teams;
                  for (const auto& [k, a] : s.agents)
                    if (a.tenant == t) agents.push_back(agent_json(a));
                  for (const auto& [k, tm] : s.teams)
                    if (tm.tenant == t) teams.push_back(team_json(tm));
                  o["agents"] = std::move(agents);
                  o["teams"] = std::move(teams);
                  return json::serialize(o);
                });
            if (!body) return answer.error(http_error::not_found, "no tenant \"" + t + "\"");
            answer.json(http::status::ok, std::move(*body));
          }));

    // PATCH /v1/tenants/{tenant} {name?, segmented?}: the tenant's settings.
    r.add(http::verb::patch, "/v1/tenants/{tenant}",
          guarded(false, [this](const caller&, net::request_context& rc, net::responder answer) {
            auto t = std::string(rc.param("tenant"));
            auto current = dir_.read([&](const auto& s) {
              auto* rec = s.tenant(t);
              return rec ? std::optional(*rec) : std::nullopt;
            });
            if (!current) return answer.error(http_error::not_found, "no tenant \"" + t + "\"");
            body_reader b(rc.req.body(), {"name", "segmented", "messages_per_second"});
            directory_change c;
            c.tenant = *current;
            if (b.has("name")) c.tenant.name = b.text("name", true);
            c.tenant.segmented = b.flag("segmented", current->segmented);
            c.tenant.messages_per_second = tenant_rate(b, current->messages_per_second);
            if (!b.ok()) return answer.error(http_error::bad_request, b.problem());
            auto body = json::serialize(tenant_json(c.tenant));
            submit(dir_, std::move(c), std::move(answer), http::status::ok, std::move(body));
          }));

    // PUT /v1/tenants/{tenant}/agents/{agent} {name?, role, channels?}
    r.add(http::verb::put, "/v1/tenants/{tenant}/agents/{agent}",
          guarded(false, [this](const caller&, net::request_context& rc, net::responder answer) {
            auto t = std::string(rc.param("tenant"));
            if (!tenant_exists(t, answer)) return;
            body_reader b(rc.req.body(), {"name", "role", "channels"});
            directory_change c;
            c.what = directory_change::kind::put_agent;
            c.agent.tenant = t;
            c.agent.id = std::string(rc.param("agent"));
            if (!domain::valid_directory_id(c.agent.id))
              return answer.error(http_error::bad_request,
                                  "the agent id must be 1 to 64 characters [A-Za-z0-9._-]");
            c.agent.name = b.has("name") ? b.text("name", true) : c.agent.id;
            auto role = b.text("role", true, 16);
            if (b.ok() && role != "agent" && role != "admin")
              b.fail("\"role\" must be \"agent\" or \"admin\"");
            c.agent.role = role == "admin" ? domain::agent_role::admin : domain::agent_role::agent;
            c.agent.channels = b.ids("channels");
            for (const auto& ch : c.agent.channels) {
              auto cfg = channels_.find(ch);
              if (b.ok() && (!cfg || cfg->tenant != t))
                b.fail("\"channels\": \"" + ch + "\" is not a channel of tenant \"" + t + "\"");
            }
            if (!b.ok()) return answer.error(http_error::bad_request, b.problem());
            bool existed =
                dir_.read([&](const auto& s) { return s.agent(t, c.agent.id) != nullptr; });
            auto body = json::serialize(agent_json(c.agent));
            submit(dir_, std::move(c), std::move(answer),
                   existed ? http::status::ok : http::status::created, std::move(body));
          }));

    // POST /v1/tenants/{tenant}/agents/{agent}/tokens: a new token; its
    // secret is in this answer and nowhere else.
    r.add(http::verb::post, "/v1/tenants/{tenant}/agents/{agent}/tokens",
          guarded(false, [this](const caller&, net::request_context& rc, net::responder answer) {
            auto t = std::string(rc.param("tenant"));
            auto a = std::string(rc.param("agent"));
            if (!tenant_exists(t, answer)) return;
            if (!dir_.read([&](const auto& s) { return s.agent(t, a) != nullptr; }))
              return answer.error(http_error::not_found, "no agent \"" + a + "\" in \"" + t + "\"");
            auto secret = "gwt_" + random_hex(32);
            directory_change c;
            c.what = directory_change::kind::issue_token;
            c.token = {"tk_" + random_hex(8), t, a, token_hash(secret), now_ms(), false};
            json::object o{{"id", c.token.id},
                           {"tenant", t},
                           {"agent", a},
                           {"token", secret},
                           {"created_ms", c.token.created_ms}};
            submit(dir_, std::move(c), std::move(answer), http::status::created,
                   json::serialize(o));
          }));

    // GET /v1/tenants/{tenant}/agents/{agent}/tokens: ids and states, never secrets.
    r.add(http::verb::get, "/v1/tenants/{tenant}/agents/{agent}/tokens",
          guarded(false, [this](const caller&, net::request_context& rc, net::responder answer) {
            auto t = std::string(rc.param("tenant"));
            auto a = std::string(rc.param("agent"));
            auto body =
                dir_.read([&](const domain::directory_state& s) -> std::optional<std::string> {
                  if (!s.agent(t, a)) return std::nullopt;
                  json::array out;
                  for (const auto& [id, tok] : s.tokens)
                    if (tok.tenant == t && tok.agent == a)
                      out.push_back(json::object{
                          {"id", id}, {"created_ms", tok.created_ms}, {"revoked", tok.revoked}});
                  return json::serialize(json::object{{"tokens", std::move(out)}});
                });
            if (!body)
              return answer.error(http_error::not_found, "no agent \"" + a + "\" in \"" + t + "\"");
            answer.json(http::status::ok, std::move(*body));
          }));

    // DELETE /v1/tenants/{tenant}/tokens/{token}: revokes it; its open
    // sessions are closed.
    r.add(http::verb::delete_, "/v1/tenants/{tenant}/tokens/{token}",
          guarded(false, [this](const caller&, net::request_context& rc, net::responder answer) {
            auto t = std::string(rc.param("tenant"));
            auto id = std::string(rc.param("token"));
            if (!dir_.read([&](const auto& s) {
                  auto* tok = s.token(id);
                  return tok && tok->tenant == t;
                }))
              return answer.error(http_error::not_found,
                                  "no token \"" + id + "\" in \"" + t + "\"");
            directory_change c;
            c.what = directory_change::kind::revoke_token;
            c.token.id = id;
            submit(dir_, std::move(c), std::move(answer), http::status::ok,
                   json::serialize(json::object{{"id", id}, {"revoked", true}}));
          }));

    // PUT /v1/tenants/{tenant}/channels/{channel} {provider, and its fields}:
    // creates or replaces the channel, secrets included (they are never
    // shown again). The same fields and rules as the config file's.
    r.add(http::verb::put, "/v1/tenants/{tenant}/channels/{channel}",
          guarded(false, [this](const caller&, net::request_context& rc, net::responder answer) {
            auto t = std::string(rc.param("tenant"));
            if (!tenant_exists(t, answer)) return;
            boost::system::error_code ec;
            auto body = json::parse(rc.req.body(), ec);
            if (ec || !body.is_object())
              return answer.error(http_error::bad_request, "the body must be a JSON object");
            auto& fields = body.get_object();
            for (std::string_view k : {"id", "tenant"})
              if (fields.contains(k))
                return answer.error(http_error::bad_request,
                                    "\"" + std::string(k) + "\" comes from the path, not the body");
            fields["id"] = rc.param("channel");
            fields["tenant"] = t;
            auto ch = std::make_shared<channel_config>();
            if (auto problem = read_channel(fields, *ch))
              return answer.error(http_error::bad_request,
                                  "\"" + problem->field + "\" " + problem->message);
            bool existed = channels_.find(ch->id) != nullptr;
            auto out = json::serialize(channel_json(*ch));
            directory_change c;
            c.what = directory_change::kind::put_channel;
            c.channel = std::move(ch);
            submit(dir_, std::move(c), std::move(answer),
                   existed ? http::status::ok : http::status::created, std::move(out));
          }));

    // GET /v1/tenants/{tenant}/channels: every channel of the tenant, without secrets.
    r.add(http::verb::get, "/v1/tenants/{tenant}/channels",
          guarded(false, [this](const caller&, net::request_context& rc, net::responder answer) {
            auto t = std::string(rc.param("tenant"));
            if (!tenant_exists(t, answer)) return;
            auto body = dir_.read([&](const domain::directory_state& s) {
              json::array out;
              for (const auto& [id, ch] : s.channels)
                if (ch->tenant == t) out.push_back(channel_json(*ch));
              return json::serialize(json::object{{"channels", std::move(out)}});
            });
            answer.json(http::status::ok, std::move(body));
          }));

    // GET /v1/tenants/{tenant}/channels/{channel}: one channel, without secrets.
    r.add(http::verb::get, "/v1/tenants/{tenant}/channels/{channel}",
          guarded(false, [this](const caller&, net::request_context& rc, net::responder answer) {
            auto ch = channel_of_path(rc, answer);
            if (!ch) return;
            answer.json(http::status::ok, json::serialize(channel_json(*ch)));
          }));

    // DELETE /v1/tenants/{tenant}/channels/{channel}: its webhooks answer
    // 404 from then on; its conversations and their history stay.
    r.add(http::verb::delete_, "/v1/tenants/{tenant}/channels/{channel}",
          guarded(false, [this](const caller&, net::request_context& rc, net::responder answer) {
            auto ch = channel_of_path(rc, answer);
            if (!ch) return;
            directory_change c;
            c.what = directory_change::kind::delete_channel;
            c.channel = ch;
            submit(dir_, std::move(c), std::move(answer), http::status::ok,
                   json::serialize(json::object{{"id", ch->id}, {"deleted", true}}));
          }));

    // PUT /v1/tenants/{tenant}/teams/{team} {name?, members}
    r.add(http::verb::put, "/v1/tenants/{tenant}/teams/{team}",
          guarded(false, [this](const caller&, net::request_context& rc, net::responder answer) {
            auto t = std::string(rc.param("tenant"));
            if (!tenant_exists(t, answer)) return;
            body_reader b(rc.req.body(), {"name", "members"});
            directory_change c;
            c.what = directory_change::kind::put_team;
            c.team.tenant = t;
            c.team.id = std::string(rc.param("team"));
            if (!domain::valid_directory_id(c.team.id))
              return answer.error(http_error::bad_request,
                                  "the team id must be 1 to 64 characters [A-Za-z0-9._-]");
            c.team.name = b.has("name") ? b.text("name", true) : c.team.id;
            c.team.members = b.ids("members");
            for (const auto& m : c.team.members)
              if (b.ok() && !dir_.read([&](const auto& s) { return s.agent(t, m) != nullptr; }))
                b.fail("\"members\": \"" + m + "\" is not an agent of tenant \"" + t + "\"");
            if (!b.ok()) return answer.error(http_error::bad_request, b.problem());
            bool existed =
                dir_.read([&](const auto& s) { return s.team(t, c.team.id) != nullptr; });
            auto body = json::serialize(team_json(c.team));
            submit(dir_, std::move(c), std::move(answer),
                   existed ? http::status::ok : http::status::created, std::move(body));
          }));
  }

 private:
  admin_gate gate_;
  domain::directory_service& dir_;
  const channel_directory& channels_;
};

}  // namespace

void add_directory_routes(net::router& r, std::string admin_key, domain::directory_service& dir,
                          const channel_directory& channels) {
  // Every handler holds the routes object (see guarded()).
  std::make_shared<routes>(std::move(admin_key), dir, channels)->add(r);
}

}  // namespace gw::api

// Server assembly and the shutdown sequence.
#include "gateway/app/server.hpp"

#include <boost/asio/post.hpp>
#include <future>
#include <set>
#include <thread>

#include <filesystem>

#include "gateway/api/admin.hpp"
#include "gateway/api/automatic_api.hpp"
#include "gateway/api/billing_api.hpp"
#include "gateway/api/directory_api.hpp"
#include "gateway/net/tls.hpp"
#include "gateway/obs/log.hpp"
#include "gateway/obs/process_metrics.hpp"
#include "protocol/agent_frames.hpp"

namespace gw::app {

namespace asio = boost::asio;

namespace {
std::unique_ptr<asio::ssl::context> tls_for(const config& cfg) {
  return cfg.tls.enabled() ? net::make_server_tls(cfg.tls) : nullptr;
}

asio::ip::tcp::endpoint listen_endpoint(const config& cfg) {
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(cfg.listen_host, ec);
  if (ec) throw config_error("listen (check): \"" + cfg.listen_host + "\" is not an IP address");
  return {addr, cfg.listen_port};
}
}  // namespace

server::server(const config& cfg)
    : cfg_(cfg),
      metrics_(GATEWAY_VERSION, GATEWAY_ASIO_BACKEND_NAME),
      tls_(tls_for(cfg)),
      ctx_{cfg_, metrics_, router_, tls_.get(), {}, {}},
      shards_(cfg.effective_threads()) {
  domain::core_options core;
  core.data_dir = cfg.data_dir;
  core.segment_bytes = cfg.journal.segment_bytes;
  core.commit_window = cfg.journal.commit_window;
  core.commit_bytes = cfg.journal.commit_bytes;
  core.snapshot_every = cfg.journal.snapshot_every_records;
  core.snapshot_spread = cfg.journal.snapshot_spread;
  core.actor_batch = cfg.actor_batch;
  core.history_limit = cfg.history_per_conversation;
  core.ids_kept_ms = static_cast<std::int64_t>(cfg.ids_kept_days) * domain::day_ms;
  core_ = std::make_unique<domain::conversation_service>(shards_, core);
  core_->attach(bus_);
  // The directory's changes run on shard 0, like its journal's completions.
  store::journal_options directory_journal;
  directory_journal.segment_bytes = cfg.journal.segment_bytes;
  directory_ = std::make_unique<domain::directory_service>(
      (std::filesystem::path(cfg.data_dir) / "directory").string(), shards_.at(0).ioc,
      directory_journal);
  channels_ = std::make_unique<api::channel_directory>(*directory_);
  ctx_.authenticate_agent = [d = directory_.get(), c = core_.get(),
                             bus = &bus_](std::string_view secret) {
    auto who = d->read([&](const domain::directory_state& s) -> std::optional<net::agent_identity> {
      auto* t = s.live_token_by_hash(api::token_hash(secret));
      auto* a = t ? s.agent(t->tenant, t->agent) : nullptr;
      if (!a) return std::nullopt;
      return net::agent_identity{0,         0,     t->id,
                                 a->tenant, a->id, std::string(domain::name_of(a->role))};
    });
    if (who) {
      who->epoch = c->epoch();
      who->offset = bus->head(who->tenant);
    }
    return who;
  };
  // Balances change on shard 0 as well; their journal is data_dir/balance.
  billing_ = std::make_unique<domain::billing_service>(
      (std::filesystem::path(cfg.data_dir) / "balance").string(), shards_.at(0).ioc,
      directory_journal);
  billing_->set_threshold([c = channels_.get()](const domain::billing_account& a) {
    auto ch = c->find(a.channel);
    return ch && ch->tenant == a.tenant ? std::int64_t{ch->low_balance} : 0;
  });
  billing_->on_low([this](const domain::low_balance_notice& n) {
    log::warn("prepaid balance low", {{"tenant", n.account.tenant},
                                      {"channel", n.account.channel},
                                      {"available", n.available},
                                      {"threshold", n.threshold}});
    auto frame = std::make_shared<const std::string>(
        protocol::encode_balance_notice(n.account.channel, n.available, n.threshold));
    shards_.post_all([tenant = n.account.tenant, frame](runtime::shard& s) {
      s.sessions.admin_notice(tenant, frame);
    });
  });
  metrics_.add_collector([b = billing_.get()](std::string& out) { b->write_metrics(out); });
  outbound::outbox_options sending;
  sending.client.connect_timeout = cfg.outbound.connect_timeout;
  sending.client.request_timeout = cfg.outbound.request_timeout;
  sending.client.ca_file = cfg.outbound.ca_file;
  sending.max_attempts = cfg.outbound.max_attempts;
  sending.retry_unanswered = cfg.outbound.retry_unanswered;
  sending.queue_limit = cfg.outbound.queue_limit;
  sending.client.max_connections_per_origin = cfg.outbound.connections_per_origin;
  sending.max_in_flight_per_channel = cfg.outbound.connections_per_origin;
  sending.public_base_url = cfg.webhooks.public_base_url;
  sending.tenant_rate = [d = directory_.get()](const std::string& tenant) {
    return d->read([&](const domain::directory_state& s) {
      auto* t = s.tenant(tenant);
      return t ? t->messages_per_second : 0u;
    });
  };
  outbox_ = std::make_unique<outbound::outbox>(shards_, *core_, *channels_, std::move(sending),
                                               billing_.get());
  metrics_.add_collector([o = outbox_.get()](std::string& out) { o->write_metrics(out); });
  agent_commands_ = std::make_unique<api::agent_commands>(shards_, *core_, *directory_, *channels_,
                                                          bus_, cfg.ws.fanout_interval);
  agent_commands_->on_message_out([o = outbox_.get()](const domain::event& e, bool billed) {
    o->enqueue({e.conv, e.message_id, e.text, billed, e.value, e.detail});
  });
  agent_commands_->check_sends_with(
      [o = outbox_.get()](const domain::conversation_key& k) { return o->refuses(k); });
  agent_commands_->defer_sends_with(
      [o = outbox_.get()](std::function<void()> go) { o->when_resumed(std::move(go)); });
  agent_commands_->bill_with(*billing_);
  ctx_.run_agent_command = [ac = agent_commands_.get()](
                               const net::agent_identity& who, const protocol::command& cmd,
                               net::frame_sink reply, std::weak_ptr<net::agent_outbox> outbox) {
    ac->run(who, cmd, std::move(reply), outbox);
  };
  directory_->on_revoked([this](const std::string& token_id) {
    shards_.post_all([token_id](runtime::shard& s) { s.sessions.token_revoked(token_id); });
  });
  add_operational_routes(
      router_, state_,
      [c = core_.get(), d = directory_.get(), b = billing_.get()] {
        return c->healthy() && d->healthy() && b->healthy();
      },
      metrics_);
  metrics_.add_collector([c = core_.get()](std::string& out) {
    metrics::write_metric(out, "gateway_journal_events_total", "counter",
                          "Events made durable by the journals.", c->appended_events());
    metrics::write_metric(out, "gateway_journal_syncs_total", "counter",
                          "fdatasync calls (group commits) of the event journal.",
                          c->journal_syncs());
    metrics::write_metric(out, "gateway_journal_healthy", "gauge",
                          "1 while the event journal is recovered and writable.",
                          c->healthy() ? 1 : 0);
    metrics::write_head(out, "gateway_snapshots_total", "counter",
                        "Snapshots written (saved) and attempts that failed; after a failure "
                        "the journal keeps everything and a restart replays more.");
    metrics::write_sample(out, "gateway_snapshots_total", "result=\"saved\"", c->snapshots_saved());
    metrics::write_sample(out, "gateway_snapshots_total", "result=\"failed\"",
                          c->snapshots_failed());
    metrics::write_head(out, "gateway_journal_sync_seconds", "histogram",
                        "One group commit of the event journal: its writes and fdatasync.");
    if (auto* h = c->journal_sync_latency()) h->render(out, "gateway_journal_sync_seconds", "");
  });
  webhooks_ = std::make_unique<api::webhooks>(
      *channels_, *core_,
      api::webhook_options{cfg.webhooks.public_base_url, cfg.tls.enabled(),
                           cfg.webhooks.max_body_bytes});
  webhooks_->add_routes(router_);
  metrics_.add_collector([w = webhooks_.get()](std::string& out) { w->write_metrics(out); });
  metrics_.add_collector(metrics::write_process_metrics);
  api::add_admin_routes(router_, cfg.admin_key, *core_);
  api::add_directory_routes(router_, cfg.admin_key, *directory_, *channels_);
  api::add_billing_routes(router_, cfg.admin_key, *directory_, *channels_, *billing_);
  api::add_automatic_routes(router_, cfg.admin_key, *directory_, *channels_, *agent_commands_);
  metrics_.set_routes(router_.labels());
  listener_ = std::make_shared<net::listener>(ctx_, shards_, listen_endpoint(cfg));
  endpoint_ = listener_->local_endpoint();
}

server::~server() {
  // After a failed start the listener may still be accepting.
  stop_listener(std::chrono::steady_clock::now() + std::chrono::seconds(1));
  shards_.stop();
  outbox_.reset();  // its timers and connections belong to the stopped shards
  core_.reset();    // flushes the journals
  billing_.reset();
  directory_.reset();
}

void server::stop_listener(std::chrono::steady_clock::time_point deadline) {
  asio::post(shards_.at(0).ioc, [l = listener_] { l->stop(); });
  if (listener_->quiet().wait_until(deadline) != std::future_status::ready)
    log::warn("the acceptor did not stop in time");
}

void server::start() {
  shards_.start(cfg_.pin_shards);
  asio::post(shards_.at(0).ioc, [l = listener_] { l->start(); });
  log::info("listening", {{"address", endpoint_.address().to_string()},
                          {"port", endpoint_.port()},
                          {"tls", cfg_.tls.enabled()},
                          {"threads", shards_.size()},
                          {"backend", GATEWAY_ASIO_BACKEND_NAME}});
  auto changes = directory_->recover();
  apply_config_directory();
  channels_->set_ready();
  auto movements = billing_->recover();
  auto r = core_->recover();
  // Messages accepted before a restart but not yet sent go out now.
  auto tenants = directory_->read([](const domain::directory_state& s) {
    std::vector<std::string> ids;
    for (const auto& [id, t] : s.tenants) ids.push_back(id);
    return ids;
  });
  outbox_->resume(tenants);
  state_.store(lifecycle::ready, std::memory_order_release);
  // Logged once ready: whoever waits for this line may rely on /readyz.
  log::info("recovered", {{"records", r.records},
                          {"events", r.events},
                          {"conversations", r.conversations},
                          {"from_snapshot", r.from_snapshot},
                          {"dropped_bytes", r.dropped_bytes},
                          {"ms", r.took.count()},
                          {"epoch", core_->epoch()},
                          {"directory_changes", changes},
                          {"balance_movements", movements}});
}

// The config's declarations, made real in the directory (journaled like any
// change, and only what differs): the tenants its channels and agents name,
// its agents, and their tokens. A config token that changed replaces the
// previous one, which is revoked.
void server::apply_config_directory() {
  auto change = [this](domain::directory_change c) {
    std::promise<std::string> done;
    auto result = done.get_future();
    directory_->submit(std::move(c), [&done](std::error_code ec, std::string problem) {
      done.set_value(ec ? ec.message() : problem);
    });
    if (auto problem = result.get(); !problem.empty())
      throw std::runtime_error("cannot apply the config's directory: " + problem);
  };
  auto state = [this](auto fn) { return directory_->read(fn); };

  std::set<std::string> tenants;
  for (const auto& ch : cfg_.channels) tenants.insert(ch.tenant);
  for (const auto& a : cfg_.agents) tenants.insert(a.tenant);
  for (const auto& t : tenants)
    if (!state([&](const auto& s) { return s.tenant(t) != nullptr; })) {
      domain::directory_change c;
      c.tenant = {t, t, false, 0};
      change(std::move(c));
    }

  // The config's channels win over what the admin API made of them since.
  for (const auto& ch : cfg_.channels) {
    auto current = state([&](const domain::directory_state& s) { return s.channel(ch.id); });
    if (current && *current == ch) continue;
    if (current && (current->tenant != ch.tenant || current->provider != ch.provider)) {
      domain::directory_change drop;
      drop.what = domain::directory_change::kind::delete_channel;
      drop.channel = current;
      change(std::move(drop));
    }
    domain::directory_change put;
    put.what = domain::directory_change::kind::put_channel;
    put.channel = std::make_shared<const channel_config>(ch);
    change(std::move(put));
  }

  for (const auto& a : cfg_.agents) {
    domain::directory_change put;
    put.what = domain::directory_change::kind::put_agent;
    put.agent = {a.tenant, a.id, a.name,
                 a.role == "admin" ? domain::agent_role::admin : domain::agent_role::agent,
                 a.channels};
    bool same = state([&](const domain::directory_state& s) {
      auto* cur = s.agent(a.tenant, a.id);
      return cur && cur->name == put.agent.name && cur->role == put.agent.role &&
             cur->channels == put.agent.channels;
    });
    if (!same) change(put);

    auto hash = api::token_hash(a.token);
    auto id = "cfg-" + hash.substr(0, 16);
    auto stale = state([&](const domain::directory_state& s) {
      std::vector<std::string> out;
      for (const auto& [tid, t] : s.tokens)
        if (t.tenant == a.tenant && t.agent == a.id && tid.starts_with("cfg-") && tid != id &&
            !t.revoked)
          out.push_back(tid);
      return out;
    });
    for (auto& tid : stale) {
      domain::directory_change revoke;
      revoke.what = domain::directory_change::kind::revoke_token;
      revoke.token.id = tid;
      change(std::move(revoke));
    }
    if (!state([&](const auto& s) { return s.token(id) != nullptr; })) {
      domain::directory_change issue;
      issue.what = domain::directory_change::kind::issue_token;
      issue.token = {id,
                     a.tenant,
                     a.id,
                     hash,
                     std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count(),
                     false};
      change(std::move(issue));
    }
    log::info("agent from the config",
              {{"tenant", a.tenant}, {"agent", a.id}, {"role", a.role}, {"token_id", id}});
  }
  if (!cfg_.agents.empty())
    log::info("agents connect with their token",
              {{"url", std::string(cfg_.tls.enabled() ? "wss" : "ws") + "://" +
                           endpoint_.address().to_string() + ":" +
                           std::to_string(endpoint_.port()) + "/v1/agent"},
               {"subprotocol", "gw.agent.v1"},
               {"auth",
                "Authorization: Bearer <token>, or "
                "{\"c\":\"auth\",\"id\":\"1\",\"tok\":\"<token>\"} first"}});
}

std::int64_t server::shutdown() {
  using clock = std::chrono::steady_clock;
  state_.store(lifecycle::draining, std::memory_order_release);
  auto deadline = clock::now() + cfg_.shutdown_grace;
  // Close the acceptor first, then reach every shard: a connection accepted
  // just before was posted to its shard ahead of the shutdown task.
  stop_listener(deadline);
  shards_.post_all([](runtime::shard& s) { s.sessions.shutdown_all(); });
  auto open = [this] { return metrics_.connections_open.load(std::memory_order_relaxed); };
  while (open() > 0 && clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  auto left = open();
  shards_.stop();
  return left;
}

}  // namespace gw::app

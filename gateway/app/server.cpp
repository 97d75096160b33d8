// Server assembly and the shutdown sequence.
#include "gateway/app/server.hpp"

#include <boost/asio/post.hpp>
#include <future>
#include <set>
#include <thread>

#include <filesystem>

#include "gateway/api/admin.hpp"
#include "gateway/api/directory_api.hpp"
#include "gateway/net/tls.hpp"
#include "gateway/obs/log.hpp"

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
      ctx_{cfg_, metrics_, router_, tls_.get(), {}},
      shards_(cfg.effective_threads()),
      channels_(cfg.channels) {
  domain::core_options core;
  core.data_dir = cfg.data_dir;
  core.segment_bytes = cfg.journal.segment_bytes;
  core.commit_window = cfg.journal.commit_window;
  core.commit_bytes = cfg.journal.commit_bytes;
  core.snapshot_every = cfg.journal.snapshot_every_records;
  core.actor_batch = cfg.actor_batch;
  core_ = std::make_unique<domain::conversation_service>(shards_, core);
  // The directory's changes run on shard 0, like its journal's completions.
  store::journal_options directory_journal;
  directory_journal.segment_bytes = cfg.journal.segment_bytes;
  directory_ = std::make_unique<domain::directory_service>(
      (std::filesystem::path(cfg.data_dir) / "directory").string(), shards_.at(0).ioc,
      directory_journal);
  ctx_.authenticate_agent = [d = directory_.get(), c = core_.get()](std::string_view secret) {
    auto who = d->read([&](const domain::directory_state& s) -> std::optional<net::agent_identity> {
      auto* t = s.live_token_by_hash(api::token_hash(secret));
      auto* a = t ? s.agent(t->tenant, t->agent) : nullptr;
      if (!a) return std::nullopt;
      return net::agent_identity{t->id, a->tenant, a->id, std::string(domain::name_of(a->role))};
    });
    if (who) {
      who->epoch = c->epoch();
      who->offset = c->latest_offset(who->tenant);
    }
    return who;
  };
  directory_->on_revoked([this](const std::string& token_id) {
    shards_.post_all([token_id](runtime::shard& s) { s.sessions.token_revoked(token_id); });
  });
  add_operational_routes(
      router_, state_,
      [c = core_.get(), d = directory_.get()] { return c->healthy() && d->healthy(); }, metrics_);
  metrics_.add_collector([c = core_.get()](std::string& out) {
    metrics::write_metric(out, "gateway_journal_events_total", "counter",
                          "Events made durable by the journals.", c->appended_events());
    metrics::write_metric(out, "gateway_journal_syncs_total", "counter",
                          "fdatasync calls (group commits) of the journals.", c->journal_syncs());
    metrics::write_metric(out, "gateway_journal_healthy", "gauge",
                          "1 while every shard's journal is recovered and writable.",
                          c->healthy() ? 1 : 0);
  });
  webhooks_ = std::make_unique<api::webhooks>(
      channels_, *core_,
      api::webhook_options{cfg.webhooks.public_base_url, cfg.tls.enabled(),
                           cfg.webhooks.max_body_bytes});
  webhooks_->add_routes(router_);
  metrics_.add_collector([w = webhooks_.get()](std::string& out) { w->write_metrics(out); });
  api::add_admin_routes(router_, cfg.admin_key, *core_);
  api::add_directory_routes(router_, cfg.admin_key, *directory_, channels_);
  metrics_.set_routes(router_.labels());
  listener_ = std::make_shared<net::listener>(ctx_, shards_, listen_endpoint(cfg));
  endpoint_ = listener_->local_endpoint();
}

server::~server() {
  // After a failed start the listener may still be accepting.
  stop_listener(std::chrono::steady_clock::now() + std::chrono::seconds(1));
  shards_.stop();
  core_.reset();  // flushes the journals
  directory_.reset();
}

void server::stop_listener(std::chrono::steady_clock::time_point deadline) {
  asio::post(shards_.at(0).ioc, [l = listener_] { l->stop(); });
  if (listener_->quiet().wait_until(deadline) != std::future_status::ready)
    log::warn("the acceptor did not stop in time");
}

void server::start() {
  shards_.start();
  asio::post(shards_.at(0).ioc, [l = listener_] { l->start(); });
  log::info("listening", {{"address", endpoint_.address().to_string()},
                          {"port", endpoint_.port()},
                          {"tls", cfg_.tls.enabled()},
                          {"threads", shards_.size()},
                          {"backend", GATEWAY_ASIO_BACKEND_NAME}});
  auto changes = directory_->recover();
  create_config_tenants();
  auto r = core_->recover();
  log::info("recovered", {{"records", r.records},
                          {"events", r.events},
                          {"conversations", r.conversations},
                          {"from_snapshot", r.from_snapshot},
                          {"dropped_bytes", r.dropped_bytes},
                          {"ms", r.took.count()},
                          {"epoch", core_->epoch()},
                          {"directory_changes", changes}});
  state_.store(lifecycle::ready, std::memory_order_release);
}

// Channels in the config name their tenant; a tenant the directory does not
// have yet is created (journaled like any change), so agents can be added to
// it at once.
void server::create_config_tenants() {
  std::vector<std::future<std::string>> waits;
  std::set<std::string> asked;
  for (const auto& ch : cfg_.channels) {
    if (!asked.insert(ch.tenant).second ||
        directory_->read([&](const auto& s) { return s.tenant(ch.tenant) != nullptr; }))
      continue;
    auto done = std::make_shared<std::promise<std::string>>();
    waits.push_back(done->get_future());
    domain::directory_change c;
    c.tenant = {ch.tenant, ch.tenant, false};
    directory_->submit(std::move(c), [done](std::error_code ec, std::string problem) {
      done->set_value(ec ? ec.message() : problem);
    });
  }
  for (auto& w : waits)
    if (auto problem = w.get(); !problem.empty())
      throw std::runtime_error("cannot create the config's tenants: " + problem);
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

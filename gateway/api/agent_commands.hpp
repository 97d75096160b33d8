// Agent commands (AGENT_PROTOCOL.md section 5). Those that change a
// conversation, send, note, assign, close, reopen, mark and read: each is checked against the
// directory (the channel is the agent's tenant's and the agent may use it;
// the agent may see the conversation), submitted to the conversation's actor
// and answered once durable.
//
// Idempotency: answers are remembered per agent (the last 1,000 commands and
// those of the last 10 minutes), so a repeated command id gets the first
// answer again with "dup":true; `send` and `note` are also deduplicated by
// the conversation itself (their client id is "<agent>/<command id>"), which
// survives restarts.
//
// sub/unsub: a session's subscriptions to views, with resume from a
// position or a resync (agent_feeds.hpp).
//
// Reads, answered from the conversations' kept state (agent_queries.cpp):
// list (a view, paged by last message), hist (one conversation's kept
// messages, newest first) and recent (every visible message of the last
// hours). Cursors are positions in the ordering, so a page never repeats
// an item of an earlier one.
#pragma once

#include <memory>
#include <mutex>
#include <unordered_map>

#include "gateway/api/agent_feeds.hpp"
#include "gateway/api/webhooks.hpp"
#include "gateway/domain/billing.hpp"
#include "gateway/domain/conversations.hpp"
#include "gateway/domain/directory_service.hpp"
#include "gateway/domain/event_bus.hpp"
#include "gateway/net/context.hpp"
#include "protocol/agent_session.hpp"

namespace gw::api {

class agent_commands {
 public:
  agent_commands(runtime::shard_set& shards, domain::conversation_service& core,
                 domain::directory_service& directory, const channel_directory& channels,
                 domain::event_bus& bus, std::chrono::microseconds fanout_interval)
      : core_(core),
        directory_(directory),
        channels_(channels),
        feeds_(shards, core, directory, bus, fanout_interval) {}

  // Called with every message_out a `send` made durable (not with repeats),
  // and whether its cost is held in the balance: the outbound queue takes
  // it from there. Set before the shards start.
  void on_message_out(std::function<void(const domain::event&, bool billed)> fn) {
    on_message_out_ = std::move(fn);
  }
  // Priced sends hold their cost in `b` before they are stored; without
  // it, nothing is charged. Set before the shards start.
  void bill_with(domain::billing_service& b) { billing_ = &b; }

  // Asked before a `send` is stored: a reason refuses it as `unavailable`
  // (its channel's outbound queue is full). Set before the shards start.
  using send_check = std::function<std::optional<std::string>(const domain::conversation_key&)>;
  void check_sends_with(send_check fn) { send_check_ = std::move(fn); }
  // Holds each `send` until `defer(go)` runs `go` (the outbound queue
  // finished resuming after a restart). Set before the shards start.
  void defer_sends_with(std::function<void(std::function<void()>)> defer) {
    defer_send_ = std::move(defer);
  }

  // A message from a clinic system (an appointment reminder): `cmd` is a
  // `send` whose id is the system's idempotency key. Like an agent's send,
  // with three differences: it is automatic, so a contact locked against
  // automatic messages refuses it (`forbidden`); it may start a
  // conversation; its author is "auto". `reply` gets the frame an agent
  // would (ok or err). Any thread.
  void send_automatic(const std::string& tenant, const protocol::command& cmd,
                      net::frame_sink reply);
  static constexpr std::string_view automatic_author = "auto";

  // The net::agent_command_runner: on the session's thread.
  void run(const net::agent_identity& who, const protocol::command& cmd, net::frame_sink reply,
           const std::weak_ptr<net::agent_outbox>& outbox);

 private:
  struct memory;  // one agent's remembered answers
  std::shared_ptr<memory> memory_of(const net::agent_identity& who);
  void change(const net::agent_identity& who, const protocol::command& cmd, net::frame_sink reply,
              bool automatic = false);
  void list(const net::agent_identity& who, const protocol::command& cmd, net::frame_sink reply);
  void history(const net::agent_identity& who, const protocol::command& cmd, net::frame_sink reply);
  void recent(const net::agent_identity& who, const protocol::command& cmd, net::frame_sink reply);

  domain::conversation_service& core_;
  domain::directory_service& directory_;
  const channel_directory& channels_;
  agent_feeds feeds_;
  std::function<void(const domain::event&, bool billed)> on_message_out_;
  domain::billing_service* billing_ = nullptr;
  send_check send_check_;
  std::function<void(std::function<void()>)> defer_send_;
  std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<memory>> memories_;  // "tenant/agent"
};

}  // namespace gw::api

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
// sub/unsub: a session's subscriptions to views, fed from the event bus in
// tenant-offset order, visibility checked at every delivery, with resume
// from a position (replay of what was missed) or a resync. `from` is taken
// by a session's first sub only.
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

#include "gateway/api/webhooks.hpp"
#include "gateway/domain/conversations.hpp"
#include "gateway/domain/directory_service.hpp"
#include "gateway/domain/event_bus.hpp"
#include "gateway/net/context.hpp"
#include "protocol/agent_session.hpp"

namespace gw::api {

class agent_commands {
 public:
  agent_commands(domain::conversation_service& core, domain::directory_service& directory,
                 const channel_directory& channels, domain::event_bus& bus)
      : core_(core), directory_(directory), channels_(channels), bus_(bus) {}
  ~agent_commands();

  // The net::agent_command_runner. Any thread.
  void run(const net::agent_identity& who, const protocol::command& cmd, net::frame_sink reply);

 private:
  struct memory;  // one agent's remembered answers
  struct feed;    // one session's subscriptions
  std::shared_ptr<memory> memory_of(const net::agent_identity& who);
  void change(const net::agent_identity& who, const protocol::command& cmd, net::frame_sink reply);
  void subscribe(const net::agent_identity& who, const protocol::command& cmd,
                 net::frame_sink reply);
  void unsubscribe(const net::agent_identity& who, const protocol::command& cmd,
                   net::frame_sink reply);
  void forget(std::uint64_t session);
  void list(const net::agent_identity& who, const protocol::command& cmd, net::frame_sink reply);
  void history(const net::agent_identity& who, const protocol::command& cmd, net::frame_sink reply);
  void recent(const net::agent_identity& who, const protocol::command& cmd, net::frame_sink reply);

  domain::conversation_service& core_;
  domain::directory_service& directory_;
  const channel_directory& channels_;
  domain::event_bus& bus_;
  std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<memory>> memories_;  // "tenant/agent"
  std::unordered_map<std::uint64_t, std::shared_ptr<feed>> feeds_;     // by session
};

}  // namespace gw::api

// Agent commands that change a conversation (AGENT_PROTOCOL.md section 5):
// send, note, assign, close, reopen, mark. Each is checked against the
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
// Not served yet (answered `unavailable`): sub, unsub, list, hist, recent,
// read; they need the views and the event fan-out.
#pragma once

#include <memory>
#include <mutex>
#include <unordered_map>

#include "gateway/api/webhooks.hpp"
#include "gateway/domain/conversations.hpp"
#include "gateway/domain/directory_service.hpp"
#include "gateway/net/context.hpp"
#include "protocol/agent_session.hpp"

namespace gw::api {

class agent_commands {
 public:
  agent_commands(domain::conversation_service& core, domain::directory_service& directory,
                 const channel_directory& channels)
      : core_(core), directory_(directory), channels_(channels) {}

  // The net::agent_command_runner. Any thread.
  void run(const net::agent_identity& who, const protocol::command& cmd,
           std::function<void(std::string)> reply);

 private:
  struct memory;  // one agent's remembered answers
  std::shared_ptr<memory> memory_of(const net::agent_identity& who);

  domain::conversation_service& core_;
  domain::directory_service& directory_;
  const channel_directory& channels_;
  std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<memory>> memories_;  // "tenant/agent"
};

}  // namespace gw::api

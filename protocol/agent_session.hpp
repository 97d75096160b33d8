// The rules of one gw.agent.v1 session that need no I/O (AGENT_PROTOCOL.md
// sections 2, 3, 6 and 8): what may run before authentication, the commands
// per second budget, the memory of answered command ids, and whether a
// resume can replay or must resync. The clock is passed in, so every rule is
// tested without sockets or sleeps.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>

#include "protocol/agent_frames.hpp"
#include "protocol/text_hash.hpp"

namespace gw::protocol {

// Before authentication only `auth` and `ping` run; after it, `auth` is
// refused (a session keeps the agent it started with).
class session_gate {
 public:
  // nullopt: the command may run; else the error to answer with.
  std::optional<decode_failure> admit(const command& c) const;
  void authenticated() noexcept { authenticated_ = true; }
  bool is_authenticated() const noexcept { return authenticated_; }

 private:
  bool authenticated_ = false;
};

// Token bucket: `rate` commands per second on average, `burst` at once.
class rate_limiter {
 public:
  rate_limiter(unsigned rate, unsigned burst) noexcept;
  // Takes one token at `now_ms` (any monotonic clock); when none is left,
  // returns how many ms until one is.
  std::optional<std::uint32_t> take(std::int64_t now_ms) noexcept;

 private:
  double rate_per_ms_;
  double burst_;
  double tokens_;
  std::int64_t last_ms_ = 0;
  bool started_ = false;
};

// The answers to an agent's recent commands by id, so that a repeated id is
// answered again instead of applied again. Keeps at least the last `count`
// ids and every id younger than `age_ms`; older ones beyond `count` go first.
class command_memory {
 public:
  command_memory(std::size_t count, std::int64_t age_ms) : count_(count), age_ms_(age_ms) {}
  // The first answer to `id`, marked as a repeat; nullopt if unknown. The
  // mark is made here, on the rare repeat, not on every remember().
  std::optional<std::string> find(std::string_view id) const;
  void remember(std::string id, std::string answer, std::int64_t now_ms);
  std::size_t size() const noexcept { return answers_.size(); }

 private:
  void forget_old(std::int64_t now_ms);
  struct entry {
    std::string id;
    std::int64_t at_ms;
  };
  std::size_t count_;
  std::int64_t age_ms_;
  std::deque<entry> order_;
  text_map<std::string> answers_;
};

// Where a resume starts (section 6). `head`: the tenant's epoch and latest
// offset; `oldest_kept`: the lowest offset whose event can still be replayed.
struct replay_after {
  std::uint64_t offset;  // send every admitted event with a larger offset
};
struct must_resync {
  resync_reason why;
};
std::variant<replay_after, must_resync> plan_resume(position from, position head,
                                                    std::uint64_t oldest_kept) noexcept;

}  // namespace gw::protocol

// Shards: one io_context and one thread each, shared nothing. A connection
// lives on the shard that runs its handlers for its whole life; each shard
// keeps a registry of its live sessions so that shutdown can reach them.
//
// Threads: shard_set's public methods are for the owning (main) thread;
// session_registry and the sessions in it belong to their shard's thread.
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace gw::runtime {

// A live connection as the shard sees it.
class session_base {
 public:
  session_base() = default;
  session_base(const session_base&) = delete;
  session_base& operator=(const session_base&) = delete;
  virtual ~session_base() = default;

  // Begin an orderly close for shutdown: finish the request in flight, then
  // close; WebSockets send close 1001. Shard thread only; may be called once.
  virtual void shutdown() = 0;
  // The agent token `token_id` was revoked: a session using it closes
  // (WebSockets with 4004). Shard thread only.
  virtual void token_revoked(std::string_view /*token_id*/) {}
  // A notice for the admins of `tenant` (a balance running low): an admin
  // agent's session sends `frame`. Shard thread only.
  virtual void admin_notice(std::string_view /*tenant*/,
                            const std::shared_ptr<const std::string>& /*frame*/) {}

 private:
  friend class session_registry;
  session_base* prev_ = nullptr;
  session_base* next_ = nullptr;
};

// Intrusive list of a shard's sessions; no allocation, no lock.
class session_registry {
 public:
  void add(session_base* s) noexcept;
  void remove(session_base* s) noexcept;
  std::size_t size() const noexcept { return size_; }
  // Calls shutdown() on every session; safe if shutdown() removes the session.
  void shutdown_all();
  // Calls token_revoked(token_id) on every session.
  void token_revoked(std::string_view token_id);
  // Calls admin_notice(tenant, frame) on every session.
  void admin_notice(std::string_view tenant, const std::shared_ptr<const std::string>& frame);
  // Set once shutdown began: sessions started afterwards close at once.
  bool stopping = false;

 private:
  session_base* head_ = nullptr;
  std::size_t size_ = 0;
};

struct shard {
  explicit shard(unsigned i) : index(i) {}
  const unsigned index;
  session_registry sessions;  // declared before ioc: outlives the handlers
  // One thread runs it. The hint lets Asio queue what that thread posts to
  // itself without its lock; posts from other threads still take the lock.
  boost::asio::io_context ioc{1};
};

class shard_set {
 public:
  explicit shard_set(unsigned count);
  ~shard_set();

  unsigned size() const noexcept { return static_cast<unsigned>(shards_.size()); }
  shard& at(unsigned i) noexcept { return *shards_[i]; }

  // Starts one thread per shard. Each runs until stop(). With `pin`, shard
  // i's thread runs only on the i-th of the CPUs the process may use
  // (allowed_cpus(), round robin); a CPU it cannot be given is logged and
  // left to the kernel. Returns once every thread is named and placed.
  void start(bool pin = false);
  // Runs `fn` on each shard's own thread. Any thread may call it.
  void post_all(std::function<void(shard&)> fn);
  // Lets each io_context return once idle, then stops them hard; joins threads.
  void stop();

 private:
  using guard = boost::asio::executor_work_guard<boost::asio::io_context::executor_type>;
  std::vector<std::unique_ptr<shard>> shards_;
  std::vector<guard> guards_;
  std::vector<std::thread> threads_;
};

}  // namespace gw::runtime

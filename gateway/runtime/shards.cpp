// Shard threads and the per-shard session registry.
#include "gateway/runtime/shards.hpp"

#include <pthread.h>
#include <sched.h>

#include <boost/asio/post.hpp>
#include <cstring>
#include <latch>

#include "gateway/obs/log.hpp"
#include "gateway/runtime/cpus.hpp"
#include "gateway/runtime/thread_name.hpp"

namespace gw::runtime {

void session_registry::add(session_base* s) noexcept {
  s->prev_ = nullptr;
  s->next_ = head_;
  if (head_) head_->prev_ = s;
  head_ = s;
  ++size_;
}

void session_registry::remove(session_base* s) noexcept {
  if (s->prev_)
    s->prev_->next_ = s->next_;
  else if (head_ == s)
    head_ = s->next_;
  else
    return;  // not registered
  if (s->next_) s->next_->prev_ = s->prev_;
  s->prev_ = s->next_ = nullptr;
  --size_;
}

void session_registry::shutdown_all() {
  stopping = true;
  // shutdown() never destroys a session synchronously (it only starts async
  // work), so the links stay valid while we walk them.
  for (session_base* s = head_; s;) {
    session_base* next = s->next_;
    s->shutdown();
    s = next;
  }
}

void session_registry::token_revoked(std::string_view token_id) {
  for (session_base* s = head_; s;) {  // as above: closing is asynchronous
    session_base* next = s->next_;
    s->token_revoked(token_id);
    s = next;
  }
}

void session_registry::admin_notice(std::string_view tenant,
                                    const std::shared_ptr<const std::string>& frame) {
  for (session_base* s = head_; s;) {  // sending may close a slow consumer
    session_base* next = s->next_;
    s->admin_notice(tenant, frame);
    s = next;
  }
}

shard_set::shard_set(unsigned count) {
  shards_.reserve(count);
  for (unsigned i = 0; i < count; ++i) shards_.push_back(std::make_unique<shard>(i));
}

shard_set::~shard_set() { stop(); }

namespace {

// Binds the calling thread to `cpu`; logs why when it cannot.
void pin_this_thread(unsigned shard, int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (int err = pthread_setaffinity_np(pthread_self(), sizeof set, &set); err != 0) {
    log::warn("shard left unpinned",
              {{"shard", shard}, {"cpu", cpu}, {"error", std::strerror(err)}});
    return;
  }
  log::info("shard pinned", {{"shard", shard}, {"cpu", cpu}});
}

}  // namespace

void shard_set::start(bool pin) {
  const auto cpus = pin ? allowed_cpus() : std::vector<int>{};
  for (auto& s : shards_) guards_.emplace_back(s->ioc.get_executor());
  std::latch placed(static_cast<std::ptrdiff_t>(shards_.size()));
  for (auto& s : shards_) {
    const int cpu = cpus.empty() ? -1 : cpus[s->index % cpus.size()];
    threads_.emplace_back([sh = s.get(), cpu, &placed] {
      name_this_thread("gw-shard-" + std::to_string(sh->index));
      if (cpu >= 0) pin_this_thread(sh->index, cpu);
      placed.count_down();
      for (;;) {
        try {
          sh->ioc.run();
          return;
        } catch (const std::exception& e) {
          // A handler threw: log it and keep the shard serving.
          log::error("shard handler threw", {{"shard", sh->index}, {"what", e.what()}});
        }
      }
    });
  }
  placed.wait();
}

void shard_set::post_all(std::function<void(shard&)> fn) {
  for (auto& s : shards_) boost::asio::post(s->ioc, [fn, sh = s.get()] { fn(*sh); });
}

void shard_set::stop() {
  guards_.clear();
  for (auto& s : shards_) s->ioc.stop();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
}

}  // namespace gw::runtime

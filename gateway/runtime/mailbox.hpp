// An intrusive multi-producer single-consumer queue (Dmitry Vyukov's
// algorithm): push is one atomic exchange and one store, with no lock and no
// allocation; pop is for the single consumer only.
//
// Threads: push() from any thread; pop() and maybe_nonempty() only from the
// consumer (an actor's home shard).
#pragma once

#include <atomic>

namespace gw::runtime {

struct mailbox_node {
  std::atomic<mailbox_node*> next{nullptr};
};

class mailbox {
 public:
  mailbox() noexcept : head_(&sentinel_), tail_(&sentinel_) {}
  mailbox(const mailbox&) = delete;
  mailbox& operator=(const mailbox&) = delete;

  // Wait-free for producers. The node must stay alive until popped.
  void push(mailbox_node* n) noexcept {
    n->next.store(nullptr, std::memory_order_relaxed);
    mailbox_node* prev = head_.exchange(n, std::memory_order_seq_cst);
    prev->next.store(n, std::memory_order_release);  // links it for the consumer
  }

  // The oldest node, or nullptr when empty or when the next node's producer
  // is between its exchange and its link (retry later: maybe_nonempty() is
  // then true).
  mailbox_node* pop() noexcept {
    mailbox_node* tail = tail_;
    mailbox_node* next = tail->next.load(std::memory_order_acquire);
    if (tail == &sentinel_) {
      if (!next) return nullptr;
      tail_ = next;
      tail = next;
      next = next->next.load(std::memory_order_acquire);
    }
    if (next) {
      tail_ = next;
      return tail;
    }
    if (tail != head_.load(std::memory_order_acquire)) return nullptr;  // a push in progress
    push(&sentinel_);
    next = tail->next.load(std::memory_order_acquire);
    if (next) {
      tail_ = next;
      return tail;
    }
    return nullptr;
  }

  // False only when every push that has started was returned by pop().
  // (tail_ is the next node to return, or the sentinel when none is known.)
  bool maybe_nonempty() const noexcept {
    return tail_ != &sentinel_ || head_.load(std::memory_order_seq_cst) != &sentinel_;
  }

 private:
  // Not padded to separate cache lines: a gateway holds a mailbox per
  // conversation (a million of them), and memory matters more there than
  // producer/consumer false sharing on one conversation.
  std::atomic<mailbox_node*> head_;  // producers
  mailbox_node* tail_;               // consumer
  // Vyukov's dummy node: the queue is never empty of nodes, so push needs no
  // branch. It is re-pushed when the consumer reaches the last real node.
  mailbox_node sentinel_;
};

}  // namespace gw::runtime

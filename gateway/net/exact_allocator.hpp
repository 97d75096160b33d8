// An allocator for handlers of operations that stay pending for a long time.
//
// Asio allocates an operation (the handler and its state) with the
// handler's associated allocator, and maps the default, std::allocator, to
// its recycling allocator: each thread keeps the blocks its last operations
// freed, and hands one to the next operation that fits in it, whatever its
// size. An operation that then waits for hours (an idle agent session's
// read) can pin a block cut for a much larger one: the WebSocket handshake's
// response write, say, up to 2 KiB. This allocator is a distinct type, so
// Asio uses it as it is: plain operator new, at the size the operation needs.
// Handlers of short operations should keep the default: recycling is faster.
//
// Use: boost::asio::bind_allocator(exact_allocator<void>{}, handler). Beast's
// composed operations pass a handler's allocator on to the operations they
// start, so binding the outermost handler is enough.
#pragma once

#include <cstddef>
#include <memory>

namespace gw::net {

template <class T>
struct exact_allocator {
  using value_type = T;

  exact_allocator() noexcept = default;
  template <class U>
  exact_allocator(const exact_allocator<U>&) noexcept {}

  // std::allocator's own: operator new, over-alignment and sized delete
  // handled as the compiler supports them. Asio only needs a type of ours.
  T* allocate(std::size_t n) { return std::allocator<T>{}.allocate(n); }
  void deallocate(T* p, std::size_t n) noexcept { std::allocator<T>{}.deallocate(p, n); }

  template <class U>
  bool operator==(const exact_allocator<U>&) const noexcept {
    return true;
  }
};

}  // namespace gw::net
